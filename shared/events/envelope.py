"""The CloudEvents 1.0 envelope (structured JSON mode) and its encode/decode.

Every Kafka value in the system is one of these. Decoding is strict and explains
itself: each failure raises :class:`UnreadableEvent` with a reason a person can act on,
because such messages end up in ``pbz.dlq`` and somebody has to read them there.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

CONTENT_TYPE = "application/cloudevents+json"
SPECVERSION = "1.0"


class UnreadableEvent(Exception):
    """The bytes cannot be turned into a known, valid event. ``kind`` is a short code."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind = kind
        self.reason = reason


# Envelope attributes are identities and keys (the idempotency key is source + id):
# printable and bounded, so they can be stored and logged as they are.
_ATTRIBUTE = r"^[^\x00-\x1f\x7f]+$"


class CloudEvent(BaseModel):
    """CloudEvents 1.0 envelope. ``data`` stays a plain dict here; the catalogue types it."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: str = Field(default=SPECVERSION, pattern=r"^1\.0$")
    id: str = Field(min_length=1, max_length=256, pattern=_ATTRIBUTE)
    type: str = Field(min_length=1, max_length=128, pattern=_ATTRIBUTE)
    source: str = Field(min_length=1, max_length=512, pattern=_ATTRIBUTE)
    time: AwareDatetime
    subject: str | None = Field(default=None, max_length=512, pattern=_ATTRIBUTE)
    datacontenttype: str | None = "application/json"
    correlationid: str | None = Field(default=None, max_length=256, pattern=_ATTRIBUTE)
    causationid: str | None = Field(default=None, max_length=256, pattern=_ATTRIBUTE)
    data: dict[str, Any] = Field(default_factory=dict)

    @property
    def idempotency_key(self) -> str:
        """The CloudEvents identity, (source, id), as one string: the idempotency key."""
        return identity(self.source, self.id)

    def to_json(self) -> bytes:
        doc = self.model_dump(mode="json", exclude_none=True)
        try:
            return orjson.dumps(doc)
        except TypeError:
            # orjson stops at 64-bit integers (a sender's extra field may hold a bigger one)
            # and at lone surrogates; the standard library writes both (as \u escapes).
            return json.dumps(doc).encode()


def format_validation_error(err: ValidationError, prefix: str = "") -> str:
    """One line per problem, with the JSON path of the field: readable in a DLQ record."""
    parts = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        where = f"{prefix}{loc}" if loc else prefix.rstrip(".") or "(root)"
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts)


def decode_envelope(raw: bytes | None) -> CloudEvent:
    if raw is None or raw == b"":
        raise UnreadableEvent("empty", "the message has no value")
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise UnreadableEvent("not_json", f"the value is not JSON ({e})") from None
    if not isinstance(obj, dict):
        raise UnreadableEvent("bad_envelope", f"the value is a JSON {type(obj).__name__}, not an object")
    try:
        return CloudEvent.model_validate(obj)
    except ValidationError as e:
        raise UnreadableEvent("bad_envelope", format_validation_error(e)) from None


def identity(source: str, event_id: str) -> str:
    """``source`` and ``id`` joined unambiguously (JSON), e.g. ``["pbz/clock","t-1"]``."""
    return orjson.dumps([source, event_id]).decode()


def new_event_id() -> str:
    return str(uuid.uuid4())


_DERIVED_NS = uuid.UUID("6a1b7f0e-2f53-4c3e-9a0e-5b3c7f6d2e10")


def derived_event_id(service: str, cause_id: str, index: int) -> str:
    """The id of the ``index``-th event a service emits because of ``cause_id``.

    Deterministic, so a re-run after a crash publishes the *same* ids and every consumer's
    idempotency check drops the copies.
    """
    return str(uuid.uuid5(_DERIVED_NS, f"{service}/{cause_id}/{index}"))


def make_event(
    *,
    type: str,
    source: str,
    data: dict[str, Any],
    time: datetime,
    id: str | None = None,
    subject: str | None = None,
    correlationid: str | None = None,
    causationid: str | None = None,
    extensions: dict[str, str] | None = None,
) -> CloudEvent:
    """``extensions``: more envelope attributes: the actor's authcontext (shared.actor), the
    trace context (``traceparent``, shared.tracing)."""
    return CloudEvent(
        id=id or new_event_id(),
        type=type,
        source=source,
        time=time,
        subject=subject,
        correlationid=correlationid,
        causationid=causationid,
        data=data,
        **(extensions or {}),
    )
