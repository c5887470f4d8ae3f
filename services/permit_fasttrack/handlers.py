"""Permit-fasttrack handlers: ``routing`` (every other topic, the clock) sends work to
``pbz.permit.work``; ``work`` (that topic, keyed by project) is the only writer of permits.
Both register on one ``Handlers`` registry."""

from __future__ import annotations

from . import routing, work
from .desk import handlers

__all__ = ["handlers", "routing", "work"]
