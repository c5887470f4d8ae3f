"""The event contract of EVENTS.md, once: envelope, payload models, topics, registry."""

from .catalog import *  # noqa: F403
from .catalog import REGISTRY, Payload, Topic, parse_data, spec_for
from .envelope import (
    CONTENT_TYPE,
    CloudEvent,
    UnreadableEvent,
    decode_envelope,
    derived_event_id,
    identity,
    make_event,
    new_event_id,
)

__all__ = [
    "CONTENT_TYPE",
    "REGISTRY",
    "CloudEvent",
    "Payload",
    "Topic",
    "UnreadableEvent",
    "decode_envelope",
    "derived_event_id",
    "identity",
    "make_event",
    "new_event_id",
    "parse_data",
    "spec_for",
]
