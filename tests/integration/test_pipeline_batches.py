"""Batches (issue 17): what one fetch returns for a partition is handled as one unit of work,
and each message's outcome is exactly what it would be alone — effects, events, their order,
dead letters — whatever fails in the middle of the batch."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import ConsumerRecord

from shared.events import CloudEvent, Topic, make_event
from tests.integration import probe_service
from tests.support import Bus, running

# What the probe does with each code: counts it (P-*, query), fails once for an outage and
# then counts it (flaky-*), a defect after staging (boom), an unstorable write (nan), a
# query through the context (find).
CODES = ["P-1", "P-2", "boom", "P-3", "query", "find", "flaky", "nan", "P-4"]
COUNTED = ["P-1", "P-2", "P-3", "query", "find", "flaky", "P-4"]


def _event(project: str, code: str) -> CloudEvent:
    return make_event(
        id=str(uuid.uuid4()),
        type="quality.procedure-inspected",
        source="test/batches",
        time=datetime.now(UTC),
        data={
            "inspection_id": str(uuid.uuid4()),
            "project_id": project,
            "procedure_code": code,
            "result": "excellent",
            "inspected_at": datetime.now(UTC).isoformat(),
        },
    )


def _record(event: CloudEvent, key: str, offset: int) -> ConsumerRecord[bytes, bytes]:
    value = event.to_json()
    return ConsumerRecord(
        topic=Topic.QUALITY.value,
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=key.encode(),
        value=value,
        checksum=None,
        serialized_key_size=len(key),
        serialized_value_size=len(value),
        headers=[("content-type", b"application/cloudevents+json")],
    )


def _outcome(events: list[CloudEvent], causes: list[CloudEvent]) -> list[list[str]]:
    """The answers to ``causes``, in the order the causes came."""
    by_cause = {e.causationid: e.data["reasons"] for e in events if e.type == "assessment.command-rejected"}
    return [by_cause.get(c.id, ["none"]) for c in causes]


async def _letters(bus_watch: Any, project: str) -> list[str]:
    return sorted(
        e.data["reason"].split(":", 1)[0]
        for e in bus_watch.events("dlq.recorded")
        if (e.data.get("key") or "") == project
    )


async def test_a_batch_gives_each_message_the_outcome_it_would_have_alone() -> None:
    batched, alone = f"B-{uuid.uuid4().hex[:6]}", f"A-{uuid.uuid4().hex[:6]}"
    async with Bus() as bus, running(probe_service.definition, retry_initial_s=0.05) as rt:
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value, Topic.DLQ.value)
        outcomes = {}
        for project, one_by_one in ((batched, False), (alone, True)):
            probe_service.transient_failures["flaky"] = 1
            causes = [_event(project, code) for code in CODES]
            # The same event delivered twice in one fetch (a producer's retry): one effect.
            records = [_record(e, project, 100 + i) for i, e in enumerate([*causes, causes[1]])]
            if one_by_one:
                for record in records:
                    await rt.pipeline.handle_record(record, None)
            else:
                await rt.pipeline.handle_batch(records, None)
            outcomes[project] = causes
        await out.wait_for(
            lambda es: all(
                "none" not in r for p in (batched, alone) for r in _outcome(es, _answered(outcomes[p]))
            ),
            what="every answer",
        )
        await out.quiet(0.5)
        events = out.events()
        for project in (batched, alone):
            counter = await rt.db["counters"].find_one({"_id": project})
            assert counter is not None and counter["codes"] == COUNTED
            assert counter["n"] == len(COUNTED)
            assert _outcome(events, _answered(outcomes[project])) == [
                ["probe_seen_1"],
                ["probe_seen_2"],
                ["probe_seen_3"],
                # The query asked the store after the batch so far was stored.
                ["probe_seen_4", "probe_stored_3"],
                # The context's query saw what the message before it staged.
                ["probe_seen_5", "probe_found_4"],
                ["probe_seen_6"],
                ["probe_seen_7"],
            ]
            assert await _letters(out, project) == ["handler_error", "unstorable"]
            # Each counted message's record is there (its own, or its batch's), and done; a
            # dead-lettered one left none (its effect was never stored).
            for cause in outcomes[project]:
                record = await rt.pipeline._stored(cause.idempotency_key)
                if cause.data["procedure_code"] in ("boom", "nan"):
                    assert record is None
                else:
                    assert record is not None and record["done"] is True
                    assert "writes" not in record and "events" not in record and "body" not in record
        # Each answer went out once.
        answers = [e for e in events if e.type == "assessment.command-rejected"]
        assert len(answers) == len({e.id for e in answers}) == 2 * len(COUNTED)


def _answered(causes: list[CloudEvent]) -> list[CloudEvent]:
    return [c for c in causes if c.data["procedure_code"] not in ("boom", "nan")]


async def test_a_batch_stored_then_redelivered_is_a_no_op() -> None:
    """A crash after a batch was stored, before its offsets were committed: the same records
    again (one fetch) change nothing and emit nothing new."""
    project = f"R-{uuid.uuid4().hex[:6]}"
    async with Bus() as bus, running(probe_service.definition) as rt:
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
        causes = [_event(project, f"P-{i}") for i in range(20)]
        records = [_record(e, project, 500 + i) for i, e in enumerate(causes)]
        await rt.pipeline.handle_batch(records, None)
        await out.wait_for(lambda es: len([e for e in es if e.subject == project]) == 20, what="20 answers")
        await asyncio.gather(rt.pipeline.handle_batch(records, None))
        await out.quiet(0.5)
        assert len([e for e in out.events() if e.subject == project]) == 20
        counter = await rt.db["counters"].find_one({"_id": project})
        assert counter is not None and counter["n"] == 20
        assert [orjson.loads(r.value)["id"] for r in records] == [c.id for c in causes]
