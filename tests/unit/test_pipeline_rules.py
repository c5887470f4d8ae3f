"""The pipeline's rules that need no broker: failures classified by cause, payloads bounded
and stripped of undeclared fields, bounded dead letters, versions of aggregates, event sizes."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotEnoughReplicasError,
    RecordTooLargeError,
)
from bson.errors import InvalidDocument
from pymongo.errors import (
    AutoReconnect,
    DocumentTooLarge,
    NetworkTimeout,
    OperationFailure,
    ServerSelectionTimeoutError,
    WriteError,
)

from shared.clock import Clock
from shared.events import UnreadableEvent, decode_envelope, make_event, parse_data
from shared.events.catalog import unsafe_value
from shared.pipeline import (
    EventTooLarge,
    HandlerContext,
    Handlers,
    PermanentError,
    Pipeline,
    TransientError,
    classify,
)
from shared.unit_of_work import Read
from tests.unit.examples import VALID

TIME = datetime.fromisoformat("2026-03-02T07:40:00+08:00")


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (AutoReconnect("connection closed"), "outage"),
        (NetworkTimeout("socketTimeoutMS: 20000"), "outage"),
        (ServerSelectionTimeoutError("no server"), "outage"),
        (TransientError("store down"), "outage"),
        (KafkaConnectionError(), "outage"),
        (KafkaTimeoutError(), "outage"),
        (NotEnoughReplicasError(), "outage"),
        (ConnectionRefusedError(), "outage"),
        (MessageSizeTooLargeError(), "permanent"),
        (RecordTooLargeError(), "permanent"),
        (InvalidDocument("Key names must not contain the NULL byte"), "permanent"),
        (DocumentTooLarge("too big"), "permanent"),
        (OverflowError("MongoDB can only handle up to 8-byte ints"), "permanent"),
        (WriteError("invalid key", code=2), "permanent"),
        (
            OperationFailure("not master", code=10107, details={"errorLabels": ["RetryableWriteError"]}),
            "outage",
        ),
        (EventTooLarge("big"), "permanent"),
        (PermanentError("no"), "permanent"),
        (UnreadableEvent("not_json", "x"), "permanent"),
        (KeyError("nModified"), "unknown"),
        (RuntimeError("who knows"), "unknown"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else v,
)
def test_failures_are_classified_by_cause(exc: BaseException, kind: str) -> None:
    assert classify(exc) == kind


def _event(event_type: str, data: dict[str, Any]) -> Any:
    return make_event(type=event_type, source="test", time=TIME, data=data)


def _gas(**changes: Any) -> dict[str, Any]:
    return {**VALID["safety.gas-test-recorded"], **changes}


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (_gas(lel_pct="NaN"), "lel_pct"),
        (_gas(o2_pct="Infinity"), "o2_pct"),
        (_gas(lel_pct=140), "lel_pct"),
        (_gas(h2s_mg_m3=-1), "h2s_mg_m3"),
        (_gas(area="A\x00B"), "NUL"),
        (_gas(note={"x\x00": 1}), "NUL"),
        (_gas(**{"a.b": 1}), "'.'"),
        (_gas(**{"$where": 1}), "'$'"),
        (_gas(tester="x" * 10_001), "10001 characters"),
        (_gas(extra=list(range(1_001))), "1001 items"),
    ],
)
def test_unsafe_or_out_of_range_payloads_are_unreadable_with_the_reason(
    data: dict[str, Any], words: str
) -> None:
    with pytest.raises(UnreadableEvent) as err:
        parse_data(_event("safety.gas-test-recorded", data))
    assert err.value.kind == "invalid_payload"
    assert words in err.value.reason, err.value.reason


def test_an_integer_beyond_64_bits_in_an_extra_field_is_refused() -> None:
    # JSON reads integers up to 2**64 - 1 as integers; BSON stores only signed 64-bit ones.
    raw = json.dumps(
        {
            "specversion": "1.0",
            "id": "1",
            "type": "clock.ticked",
            "source": "s",
            "time": TIME.isoformat(),
            "data": {"now": TIME.isoformat(), "big": 2**63 + 5},
        }
    ).encode()
    with pytest.raises(UnreadableEvent) as err:
        parse_data(decode_envelope(raw))
    assert err.value.reason == "data.big: an integer beyond 64 bits"


def test_undeclared_fields_are_dropped_and_can_never_set_an_id() -> None:
    data = {**VALID["activity.record"], "_id": "evil", "note": "kept nowhere"}
    data["problems_raised"] = [{"problem_id": "PR-1", "title": "t", "_id": "evil2"}]
    payload = parse_data(_event("activity.record", data))
    dumped = payload.model_dump()
    assert "_id" not in dumped and "note" not in dumped
    assert dumped["problems_raised"] == [{"problem_id": "PR-1", "title": "t"}]


def test_envelope_identities_are_printable_and_bounded() -> None:
    base = {"specversion": "1.0", "type": "clock.ticked", "source": "s", "time": TIME.isoformat(), "data": {}}
    for bad in ({"id": "a\x00b"}, {"id": "x" * 257}, {"id": "1", "source": "s\nx"}):
        with pytest.raises(UnreadableEvent) as err:
            decode_envelope(orjson.dumps({**base, "id": "1", **bad}))
        assert err.value.kind == "bad_envelope"


def test_storable_documents_only_forbid_what_the_store_refuses() -> None:
    assert unsafe_value({"members": list(range(5_000))}, bounded=False) is None  # no size bound
    assert "NUL" in (unsafe_value({"x": "a\x00"}, bounded=False) or "")
    assert "finite" in (unsafe_value({"x": float("nan")}, bounded=False) or "")
    assert "64 bits" in (unsafe_value({"x": 2**64}, bounded=False) or "")
    assert "surrogate" in (unsafe_value({"x": "\udaa8"}) or "")


# --------------------------------------------------------------------------- handler context


def _ctx(**kwargs: Any) -> HandlerContext:
    event = make_event(type="clock.ticked", source="s", id="e-1", time=TIME, data={})
    return HandlerContext(service="svc", event=event, clock=Clock("events"), db=None, **kwargs)  # type: ignore[arg-type]


def test_an_aggregate_put_gets_the_stored_version_plus_one_once_per_message() -> None:
    ctx = _ctx(aggregates={"zones"})
    ctx._read_versions[("zones", "Z1")] = 4
    ctx.put("zones", {"_id": "Z1", "name": "a", "version": 4})
    ctx.put("zones", {"_id": "Z1", "name": "b", "version": 4})
    ctx.put("zones", {"_id": "Z2", "version": 7})  # loaded by a query: its own version
    ctx.put("facts", {"_id": "F1"})  # not an aggregate: no version
    versions = [(w["doc"]["_id"], w["doc"].get("version")) for w in ctx.writes]
    assert versions == [("Z1", 5), ("Z1", 5), ("Z2", 8), ("F1", None)]
    ctx.put("zones", {"_id": "Z3"})  # neither read nor carrying one: resolved before storing
    assert ctx._unresolved_versions() == [("zones", "Z3")]
    ctx._resolve_version(("zones", "Z3"), 2)
    assert ctx.writes[-1]["doc"]["version"] == 3


def test_a_version_the_domain_raised_itself_stands() -> None:
    """A state machine that counts each recorded change (the Permit: three changes in one
    message) keeps its own version; the write still applies only over an older one."""
    ctx = _ctx(aggregates={"permits"})
    ctx._read_versions[("permits", "P1")] = 4
    ctx.put("permits", {"_id": "P1", "version": 7})
    ctx._read_versions[("permits", "P2")] = 4
    ctx.put("permits", {"_id": "P2", "version": 3})  # below what was read: stored + 1
    assert [w["doc"]["version"] for w in ctx.writes] == [7, 5]


async def test_a_key_only_the_store_knows_is_read_from_it() -> None:
    """``key_from_store``: the permit's project, looked up by the permit a command names."""
    handlers = Handlers()

    async def project_of(event: Any, data: Any, db: Any) -> str:
        return str(db[data.permit_id])

    handlers.on("permit.close", key_from_store=project_of, topic="pbz.permit.work")(_noop)
    route = handlers.routes["permit.close"]
    event = make_event(type="permit.close", source="s", id="c-1", time=TIME, data={})

    class _Data:
        permit_id = "WP-1-HW"

    assert await route.key_of(event, _Data(), {"WP-1-HW": "P-7"}) == "P-7"  # type: ignore[arg-type]
    assert handlers.home_of("permit.close") == "pbz.permit.work"


async def _noop(ctx: Any, data: Any) -> None:
    return None


def test_an_event_over_the_size_limit_is_refused_when_emitted() -> None:
    ctx = _ctx(max_event_bytes=2_000)
    ctx.emit("zone.command-rejected", {"command_id": "c", "command_type": "t", "reasons": ["r"]}, key="k")
    with pytest.raises(EventTooLarge) as err:
        ctx.emit(
            "zone.command-rejected",
            {"command_id": "c", "command_type": "t", "reasons": ["r" * 3_000]},
            key="k",
        )
    assert "over the limit of 2000" in str(err.value)


def test_emitted_ids_derive_from_the_cause_source_and_id() -> None:
    a = _ctx().emit(
        "zone.command-rejected", {"command_id": "c", "command_type": "t", "reasons": ["r"]}, key="k"
    )
    other = make_event(type="clock.ticked", source="another", id="e-1", time=TIME, data={})
    ctx_b = HandlerContext(service="svc", event=other, clock=Clock("events"), db=None)  # type: ignore[arg-type]
    b = ctx_b.emit(
        "zone.command-rejected", {"command_id": "c", "command_type": "t", "reasons": ["r"]}, key="k"
    )
    assert a.id != b.id  # same id from two sources: two causes (R6)


# --------------------------------------------------------------------------- dead letters


class _Record:
    def __init__(self, value: bytes, key: bytes | None = b"Z-1") -> None:
        self.topic, self.partition, self.offset, self.key, self.value = (
            "pbz.activity.commands",
            2,
            7,
            key,
            value,
        )
        self.headers: list[tuple[str, bytes]] = []


def _pipeline(handlers: Handlers | None = None, publish: Any = None, **settings: Any) -> Pipeline:
    """A pipeline with no store: for what it decides before any I/O."""
    limits = {
        "retry_initial_s": 0.01,
        "retry_max_s": 0.01,
        "retry_attempts": 3,
        "max_event_bytes": 1_000_000,
        "dlq_original_max_bytes": 1_000,
        "clock_max_skew_hours": 24.0,
        "batch_max_records": 100,
    }
    return Pipeline(
        service="svc",
        handlers=handlers or Handlers(),
        db=None,  # type: ignore[arg-type]
        clock=Clock("events"),
        publish=publish,
        settings=SimpleNamespace(**(limits | settings)),
    )


def test_a_dead_letter_keeps_a_bounded_original_with_its_length_and_digest() -> None:
    sent: list[tuple[str, bytes, bytes | None]] = []

    async def publish(topic: str, value: bytes, key: bytes | None) -> Any:
        sent.append((topic, value, key))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    pipeline = _pipeline(publish=publish)
    original = b"\xff" * 800_000
    asyncio.run(pipeline.dead_letter(_Record(original), "not_json", "x" * 10_000))  # type: ignore[arg-type]
    [(topic, value, key)] = sent
    letter = orjson.loads(value)["data"]
    assert topic == "pbz.dlq" and key == b"Z-1"
    assert len(value) < 10_000  # fits on any broker
    assert base64.b64decode(letter["original"]) == original[:1_000]
    assert letter["original_bytes"] == 800_000 and letter["original_truncated"] is True
    assert letter["original_sha256"] == hashlib.sha256(original).hexdigest()
    assert letter["reason"].startswith("not_json: xxx") and len(letter["reason"]) <= 2_000
    assert datetime.fromisoformat(orjson.loads(value)["time"]) <= datetime.now(UTC)


def test_a_message_to_forward_declares_only_its_key_s_reads() -> None:
    """Read for a batch at once: a command that will be forwarded unhandled reads only its
    key here; on its home topic, its key and what its handler reads."""
    handlers = Handlers()

    async def project(event: Any, data: Any, db: Any) -> str:
        return "P1"

    @handlers.on(
        "permit.sign",
        key_from_store=project,
        topic="pbz.permit.work",
        reads=lambda d: [Read("permits", d)],
        key_reads=lambda d: [Read("open_permits", d)],
    )
    async def sign(ctx: Any, data: Any) -> None: ...

    pipeline = _pipeline(handlers)
    event = make_event(id="c1", type="permit.sign", source="t", time=datetime.now(UTC), data={})
    arriving, home = _Record(b""), _Record(b"")
    arriving.topic, home.topic = "pbz.permit.commands", "pbz.permit.work"
    assert pipeline._declared(arriving, (event, "WP-1")) == [Read("open_permits", "WP-1")]  # type: ignore[arg-type]
    assert pipeline._declared(home, (event, "WP-1")) == [  # type: ignore[arg-type]
        Read("open_permits", "WP-1"),
        Read("permits", "WP-1"),
    ]
    assert pipeline._declared(home, None) == []  # type: ignore[arg-type]


def test_a_dedupe_window_shorter_than_a_day_is_refused() -> None:
    """Processed records are the memory of R6: purged after a day at the earliest (a
    redelivery after the retention would be handled again)."""
    from pydantic import ValidationError

    from shared.settings import ServiceSettings

    assert ServiceSettings().processed_retention_hours == 336
    for hours in (0, 1, 23.9):
        with pytest.raises(ValidationError):
            ServiceSettings(processed_retention_hours=hours)
    with pytest.raises(ValidationError):
        ServiceSettings(processed_purge_every_s=0)


@pytest.mark.parametrize(
    ("partitions", "overlapping"),
    [
        ("topic", {("a", 0): {("a", 1)}, ("a", 1): {("a", 0)}}),
        ("serial", {}),
        (
            "all",
            {
                tp: {o for o in [("a", 0), ("a", 1), ("b", 0)] if o != tp}
                for tp in [("a", 0), ("a", 1), ("b", 0)]
            },
        ),
    ],
)
def test_which_partitions_of_a_fetch_run_side_by_side(
    partitions: str, overlapping: dict[tuple[str, int], set[tuple[str, int]]]
) -> None:
    """By default a topic's partitions overlap and the topics run in the order they came (a
    command before the work-topic follow-ups fetched with it)."""

    pipeline = _pipeline(partitions=partitions)
    running: set[tuple[str, int]] = set()
    seen: dict[tuple[str, int], set[tuple[str, int]]] = {}

    async def task(tp: Any, records: Any, consumer: Any) -> None:
        me = (tp.topic, tp.partition)
        running.add(me)
        await asyncio.sleep(0.02)
        seen[me] = set(running) - {me}
        await asyncio.sleep(0.02)
        running.discard(me)

    pipeline._partition_task = task  # type: ignore[method-assign]
    records = [_Record(b"") for _ in range(3)]
    for r, (topic, partition) in zip(records, [("a", 0), ("a", 1), ("b", 0)], strict=True):
        r.topic, r.partition = topic, partition
    asyncio.run(pipeline.handle_batch(records, None))  # type: ignore[arg-type]
    assert {tp: others for tp, others in seen.items() if others} == overlapping
