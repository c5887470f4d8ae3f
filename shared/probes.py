"""Gauges read from a service's own store, sampled with the consumer lag (``LagMonitor``).

A service lists the probes it wants in its definition (``ServiceDefinition.probes``); each is
called with the service's name and database and sets its gauges.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase

from .events.catalog import PermitStatus
from .metrics import PERMITS_WAITING

Probe = Callable[[str, AsyncIOMotorDatabase[Any]], Awaitable[None]]

WAITING = (
    PermitStatus.PENDING_SIGNATURES,
    PermitStatus.APPROVED,
    PermitStatus.BLOCKED,
    PermitStatus.SUSPENDED,
    PermitStatus.INTERRUPTED,
    PermitStatus.COMPLETING,
)


async def permits_waiting(service: str, db: AsyncIOMotorDatabase[Any], collection: str = "permits") -> None:
    """How many permits wait, per status: for permit-fasttrack (its ``permits`` collection)."""
    for status in WAITING:
        n = await db[collection].count_documents({"status": status.value})
        PERMITS_WAITING.labels(service, status.value).set(n)
