"""The shared pipeline over the real Kafka broker and FerretDB, with a throwaway handler."""

from __future__ import annotations

import asyncio
import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from cloudevents.core.bindings import kafka as ce_kafka
from prometheus_client import generate_latest

from bench.steps import STEPS, figures
from shared.events import CloudEvent, Topic
from shared.pipeline import PROCESSED
from tests.integration import probe_service
from tests.support import Bus, committed_offset, eventually, new_suffix, running


def inspection(project: str, code: str = "P-001") -> dict[str, Any]:
    return {
        "inspection_id": str(uuid.uuid4()),
        "project_id": project,
        "procedure_code": code,
        "result": "excellent",
        "inspected_at": datetime.now(UTC).isoformat(),
    }


def answers(events: list[CloudEvent], cause: CloudEvent) -> list[CloudEvent]:
    return [e for e in events if e.type == "assessment.command-rejected" and e.causationid == cause.id]


async def counter(runtime: Any, project: str) -> int:
    doc = await runtime.db["counters"].find_one({"_id": project})
    return 0 if doc is None else int(doc["n"])


def step_counts(service: str) -> dict[str, float]:
    """How many times each pipeline step ran for a service, read as ``bench/steps.py`` reads
    a service's /metrics."""
    found = figures(generate_latest().decode(), service)  # this process's registry
    return {step: found[step]["count"] for step in STEPS if step in found}


async def test_event_in_effect_stored_event_out_with_correlation() -> None:
    project = f"P-{uuid.uuid4().hex[:6]}"
    async with Bus() as bus, running(probe_service.definition) as rt:
        steps_before = step_counts(rt.name)
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
        cause = await bus.publish(
            "quality.procedure-inspected", inspection(project), key=project, correlationid="corr-42"
        )
        evs = await out.wait_for(lambda es: bool(answers(es, cause)), what="the probe's answer")
        [answer] = answers(evs, cause)
        assert answer.correlationid == "corr-42"
        assert answer.causationid == cause.id
        assert answer.data["reasons"] == ["probe_seen_1"]
        assert await counter(rt, project) == 1
        record = await rt.db[PROCESSED].find_one({"_id": cause.idempotency_key})
        assert record is not None and record["done"] is True
        # Where the time went: each store and broker step of the message was timed.
        steps = step_counts(rt.name)
        for step in ("record", "apply", "publish", "done"):
            assert steps.get(step, 0) > steps_before.get(step, 0), step

        # The record as it is on the wire reads cleanly with the official CloudEvents SDK.
        [wire] = [r for r in out.records if orjson.loads(r.value)["id"] == answer.id]
        sdk = ce_kafka.from_kafka_event(
            ce_kafka.KafkaMessage(headers=dict(wire.headers), key=wire.key, value=wire.value)
        )
        assert dict(wire.headers)["content-type"] == b"application/cloudevents+json"
        assert wire.key == project.encode()
        assert sdk.get_id() == answer.id and sdk.get_type() == "assessment.command-rejected"
        assert sdk.get_attributes()["correlationid"] == "corr-42"

        # Without a correlation id the cause's own id is carried.
        cause2 = await bus.publish("quality.procedure-inspected", inspection(project), key=project)
        evs = await out.wait_for(lambda es: bool(answers(es, cause2)))
        assert answers(evs, cause2)[0].correlationid == cause2.id


async def test_same_event_twice_one_effect_one_emission() -> None:
    project = f"P-{uuid.uuid4().hex[:6]}"
    async with Bus() as bus, running(probe_service.definition) as rt:
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
        cause = await bus.publish("quality.procedure-inspected", inspection(project), key=project)
        await bus.resend(cause, key=project)
        await bus.resend(cause, key="another-key")  # a copy landing on another partition too
        marker = await bus.publish(
            "quality.procedure-inspected", inspection(project, "marker"), key="another-key"
        )
        await out.wait_for(lambda es: bool(answers(es, marker)))
        await out.quiet(0.5)
        assert len(answers(out.events(), cause)) == 1
        assert await counter(rt, project) == 2  # the event once, and the marker


async def test_each_kind_of_bad_message_goes_to_the_dlq_and_the_next_is_processed() -> None:
    project = f"P-{uuid.uuid4().hex[:6]}"
    key = project
    good_env = {
        "specversion": "1.0",
        "id": "x",
        "type": "quality.procedure-inspected",
        "source": "qa",
        "time": "2026-03-02T07:40:00+08:00",
        "data": inspection(project),
    }
    bad: dict[str, bytes] = {
        "not_json": b"\xff{not json",
        "bad_envelope": orjson.dumps({k: v for k, v in good_env.items() if k != "id"}),
        "unknown_type": orjson.dumps({**good_env, "id": str(uuid.uuid4()), "type": "quality.rumour-heard"}),
        "invalid_payload": orjson.dumps(
            {**good_env, "id": str(uuid.uuid4()), "data": {**inspection(project), "result": "superb"}}
        ),
        "wrong_topic": orjson.dumps(
            {**good_env, "id": str(uuid.uuid4()), "type": "safety.gas-test-recorded"}
        ),
    }
    async with Bus() as bus, running(probe_service.definition) as rt:
        dlq = await bus.watch(Topic.DLQ.value)
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
        sent = {}
        for kind, value in bad.items():
            meta = await bus.send_raw(Topic.QUALITY.value, value, key)
            sent[kind] = meta
        good = await bus.publish("quality.procedure-inspected", inspection(project), key=key)
        await out.wait_for(lambda es: bool(answers(es, good)), what="the good message after the bad ones")
        letters = [e for e in dlq.events("dlq.recorded") if e.data["service"] == rt.name]
        await dlq.wait_for(
            lambda es: len([e for e in es if e.data.get("service") == rt.name]) >= len(bad),
            what="dlq letters",
        )
        letters = [e for e in dlq.events("dlq.recorded") if e.data["service"] == rt.name]
        by_offset = {e.data["offset"]: e for e in letters}
        for kind, meta in sent.items():
            letter = by_offset[meta.offset]
            assert letter.data["topic"] == Topic.QUALITY.value
            assert letter.data["partition"] == meta.partition
            assert letter.data["key"] == key
            assert letter.data["reason"].startswith(kind + ":"), letter.data["reason"]
            assert len(letter.data["reason"]) > len(kind) + 5  # says why, not just what
            assert base64.b64decode(letter.data["original"]) == bad[kind]
        assert "result" in by_offset[sent["invalid_payload"].offset].data["reason"]
        assert len(letters) == len(bad)
        assert await counter(rt, project) == 1


async def test_handler_defect_goes_to_the_dlq_without_partial_effect() -> None:
    project = f"P-{uuid.uuid4().hex[:6]}"
    async with Bus() as bus, running(probe_service.definition) as rt:
        dlq = await bus.watch(Topic.DLQ.value)
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
        await bus.publish("quality.procedure-inspected", inspection(project, "boom"), key=project)
        after = await bus.publish("quality.procedure-inspected", inspection(project), key=project)
        await out.wait_for(lambda es: bool(answers(es, after)))
        [letter] = [e for e in await dlq.quiet(0.3) if e.data.get("service") == rt.name]
        assert letter.data["reason"].startswith("handler_error: RuntimeError")
        assert await counter(rt, project) == 1  # the defect's staged write was never applied


async def test_transient_failure_waits_and_never_commits_past_the_failed_message() -> None:
    """A later success must not commit past an earlier message whose effect is not stored."""
    project = f"P-{uuid.uuid4().hex[:6]}"
    suffix = new_suffix()
    probe_service.transient_failures["flaky"] = 10**6  # fails until we say otherwise
    try:
        async with Bus() as bus, running(probe_service.definition, suffix=suffix) as rt:
            out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
            first = await bus.send_raw(
                Topic.QUALITY.value,
                _envelope(inspection(project, "flaky")),
                project,
            )
            second_event = await bus.publish(
                "quality.procedure-inspected", inspection(project, "after"), key=project
            )
            group = rt.settings.group_id(rt.definition.title)
            await eventually(lambda: rt.pipeline.waiting_on is not None, what="the pipeline to wait")
            await asyncio.sleep(1.0)  # plenty of time for the second message, were it not held back
            checks = await rt.readiness()
            assert checks["pipeline"].startswith("waiting: TransientError")
            assert "injected" not in checks["pipeline"]  # the kind of failure, never its text
            assert await counter(rt, project) == 0
            assert not answers(out.events(), second_event)
            committed = await committed_offset(group, Topic.QUALITY.value, first.partition)
            assert committed is not None and committed <= first.offset

            probe_service.transient_failures["flaky"] = 0  # the store is back
            await out.wait_for(
                lambda es: bool(answers(es, second_event)), what="both messages after recovery"
            )
            assert await counter(rt, project) == 2
            doc = await rt.db["counters"].find_one({"_id": project})
            assert doc["codes"] == ["flaky", "after"]  # in order: nothing skipped
            assert (await rt.readiness())["pipeline"] == "ok"
            await eventually(
                lambda: _committed_past(group, first.partition, first.offset + 1),
                what="offset committed past both",
            )
    finally:
        probe_service.transient_failures.clear()


async def _committed_past(group: str, partition: int, offset: int) -> bool:
    c = await committed_offset(group, Topic.QUALITY.value, partition)
    return c is not None and c > offset


async def test_stopped_after_storing_before_commit_restart_does_not_double_the_effect() -> None:
    from shared.metrics import EVENTS_DUPLICATE

    project = f"P-{uuid.uuid4().hex[:6]}"
    suffix = new_suffix()
    duplicates = EVENTS_DUPLICATE.labels("probe", "quality.procedure-inspected")
    async with Bus() as bus:
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
        async with running(probe_service.definition, suffix=suffix, drop=False) as rt:
            crashed = asyncio.Event()

            async def crash(record: Any) -> None:
                crashed.set()
                raise RuntimeError("process killed between store and commit")

            rt.pipeline.before_commit = crash
            raw = _envelope(inspection(project))
            cause_id = orjson.loads(raw)["id"]
            meta = await bus.send_raw(Topic.QUALITY.value, raw, project)
            await asyncio.wait_for(crashed.wait(), 20)
            assert await counter(rt, project) == 1
            group = rt.settings.group_id(rt.definition.title)
            assert (await committed_offset(group, Topic.QUALITY.value, meta.partition) or 0) <= meta.offset
        seen_before = duplicates._value.get()
        # The offset was never committed: the restarted consumer gets the message again.
        async with running(probe_service.definition, suffix=suffix) as rt2:
            await eventually(
                lambda: _committed_past(group, meta.partition, meta.offset),
                what="the redelivered message committed",
                timeout=30,
            )
            assert duplicates._value.get() == seen_before + 1  # redelivered, seen, dropped
            await out.quiet(0.5)
            assert await counter(rt2, project) == 1
            assert len([e for e in out.events() if e.causationid == cause_id]) == 1


def _envelope(data: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "type": "quality.procedure-inspected",
            "source": "qa",
            "time": datetime.now(UTC).isoformat(),
            "data": data,
        }
    )
