"""Dead letters and their way back, with ``pbz`` (a separate process) on the real broker:
a defect dead-letters a message; once the fix is in, ``pbz dlq redrive`` re-publishes it and
its effect is applied once; a second re-drive applies nothing; a letter whose original was
cut is refused; a message that fails again is reported back in the DLQ."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from shared.events import CloudEvent, Topic, make_event
from tests.integration import probe_service
from tests.integration.test_pipeline import answers, counter, inspection
from tests.support import Bus, pbz, running


def _since() -> str:
    return (datetime.now(UTC) - timedelta(seconds=1)).isoformat()


async def _letter_of(dlq: Any, cause: CloudEvent) -> CloudEvent:
    def mine(es: list[CloudEvent]) -> list[CloudEvent]:
        return [
            e
            for e in es
            if e.type == "dlq.recorded"
            and orjson.loads(base64.b64decode(e.data["original"]))["id"] == cause.id
        ]

    evs = await dlq.wait_for(lambda es: bool(mine(es)), what=f"the letter of {cause.id}")
    return mine(evs)[0]


async def test_dead_lettered_fixed_redriven_applied_once_and_never_twice() -> None:
    project = f"P-{uuid.uuid4().hex[:6]}"
    code = f"fix-{uuid.uuid4().hex[:4]}"
    since = _since()
    probe_service.broken_codes.add(code)
    try:
        async with Bus() as bus, running(probe_service.definition) as rt:
            dlq = await bus.watch(Topic.DLQ.value)
            out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
            cause = await bus.publish("quality.procedure-inspected", inspection(project, code), key=project)
            letter = await _letter_of(dlq, cause)
            assert letter.data["reason"].startswith("handler_error: RuntimeError")
            assert await counter(rt, project) == 0

            rc, listed, _ = await pbz("dlq", "list", "--service", "probe", "--since", since, "--pending")
            assert rc == 0
            [row] = [line for line in listed.splitlines() if f"key={project}" in line]
            number = row.split()[0]
            assert "pending" in row and "handler_error" in row

            probe_service.broken_codes.discard(code)  # the fix ships
            args = ("dlq", "redrive", "--service", "probe", "--since", since, "--reason", "handler_error")
            rc, first, err = await pbz(*args, "--wait", "5")
            assert rc == 0, first + err
            assert f"(letters {number}; probe)" in first
            assert "1 re-driven, 0 refused" in first
            await out.wait_for(lambda es: bool(answers(es, cause)), what="the re-driven message handled")
            assert await counter(rt, project) == 1

            # Again: the letter is recorded as re-driven, nothing goes out, nothing changes.
            rc, second, err = await pbz(*args, "--wait", "1")
            assert rc == 0, second + err
            assert "0 re-driven, 0 refused, 1 already re-driven before" in second
            # And the same bytes once more by hand: the pipeline's dedupe holds.
            await bus.resend(cause, key=project)
            marker = await bus.publish(
                "quality.procedure-inspected", inspection(project, "after"), key=project
            )
            await out.wait_for(lambda es: bool(answers(es, marker)))
            assert await counter(rt, project) == 2  # the re-driven one once, and the marker
            assert len(answers(out.events(), cause)) == 1

            rc, shown, _ = await pbz("dlq", "show", number)
            assert rc == 0 and "re-driven" in shown and cause.id in shown
    finally:
        probe_service.broken_codes.discard(code)


async def test_a_message_still_failing_is_reported_back_in_the_dlq() -> None:
    project = f"P-{uuid.uuid4().hex[:6]}"
    code = f"nofix-{uuid.uuid4().hex[:4]}"
    since = _since()
    probe_service.broken_codes.add(code)
    try:
        async with Bus() as bus, running(probe_service.definition):
            dlq = await bus.watch(Topic.DLQ.value)
            cause = await bus.publish("quality.procedure-inspected", inspection(project, code), key=project)
            letter = await _letter_of(dlq, cause)
            rc, text, err = await pbz(
                "dlq", "redrive", "--service", "probe", "--since", since, "--wait", "15", "--operator", "test"
            )
            assert rc == 1, text + err  # something came back: a script can tell
            assert "back in the DLQ:" in text and "handler_error" in text
            assert "1 re-driven, 0 refused" in text
            redrives = [e for e in await dlq.quiet(0.3) if e.type == "dlq.redriven"]
            [record] = [r for r in redrives if letter.id in r.data["letters"]]
            assert record.data["event_id"] == cause.id and record.data["operator"] == "test"
            assert record.data["key"] == project
    finally:
        probe_service.broken_codes.discard(code)


async def test_a_letter_whose_original_was_cut_is_refused() -> None:
    since = _since()
    original = orjson.dumps({"specversion": "1.0", "id": str(uuid.uuid4()), "pad": "x" * 500})
    kept = original[:64]
    letter = make_event(
        type="dlq.recorded",
        source="pbz/probe",
        time=datetime.now(UTC),
        data={
            "service": "probe-cut",
            "topic": Topic.QUALITY.value,
            "partition": 0,
            "offset": 1,
            "key": "K",
            "reason": "too_large: over the limit",
            "original": base64.b64encode(kept).decode(),
            # A bounded letter (DeadLetter): the original's full length and digest, and the flag.
            "original_bytes": len(original),
            "original_sha256": hashlib.sha256(original).hexdigest(),
            "original_truncated": True,
        },
    )
    async with Bus() as bus:
        quality = await bus.watch(Topic.QUALITY.value)
        await bus.send_raw(Topic.DLQ.value, letter.to_json(), "K")
        rc, text, err = await pbz("dlq", "redrive", "--service", "probe-cut", "--since", since, "--wait", "1")
        assert rc == 1, text + err
        assert f"cut at 64 of {len(original)} bytes" in text
        assert "0 re-driven, 1 refused" in text
        await quality.quiet(0.3)
        assert not [r for r in quality.records if r.value == kept]  # nothing re-published
        rc, listed, _ = await pbz("dlq", "list", "--service", "probe-cut", "--since", since)
        assert rc == 0 and " cut " in listed
