"""Poison input over Kafka against the real services: each one gets one dead letter with a
readable reason, the next message on the same partition is processed, and /readyz is green.

Before issue 12 each of these stopped a service (retried for ever under its lock) or was
skipped without a letter (an unreadable header): permit-fasttrack on a NaN gas reading,
activity-log on an extra key holding a NUL, on a field name FerretDB refuses, on an integer
beyond 64 bits, and on an event too large to publish.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from services.activity_log.app import definition as activity_log
from services.permit_fasttrack.app import definition as permit_fasttrack
from shared.events import CONTENT_TYPE, Topic
from tests.procs import report
from tests.support import Bus, Watcher, person, serving, stored

MEMBERS = [
    {
        "member_id": f"M{i}",
        "name": f"m{i}",
        "home_branch": "b",
        "employer_unit_id": "H1",
        "employment": "staff",
        "zone_role": "member",
    }
    for i in (1, 2)
]


def zone(zone_id: str) -> dict[str, Any]:
    return {
        "zone_id": zone_id,
        "name": zone_id,
        "mode": "project_cobuild",
        "status": "active",
        "region": "north",
        "host_unit_id": "H1",
        "project_ids": [f"P-{zone_id}"],
        "units": [{"unit_id": "H1", "name": "host", "role": "host"}],
        "systems": ["daily_checkin"],
        "members": MEMBERS,
        "established_at": "2026-04-01T00:00:00+08:00",
    }


def activity(zone_id: str, **changes: Any) -> dict[str, Any]:
    start = datetime.now(UTC) - timedelta(hours=2)
    return {
        "activity_id": f"A-{uuid.uuid4().hex[:8]}",
        "zone_id": zone_id,
        "kind": "other",
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(minutes=30)).isoformat(),
        "location": "site",
        "topic": "safety talk",
        "organizer_member_id": "M1",
        "attendee_member_ids": ["M1", "M2"],
        **changes,
    }


def gas_test(project: str, **changes: Any) -> dict[str, Any]:
    return {
        "test_id": f"G-{uuid.uuid4().hex[:8]}",
        "project_id": project,
        "area": "A",
        "tested_at": datetime.now(UTC).isoformat(),
        "o2_pct": 20.9,
        "lel_pct": 0.0,
        "h2s_mg_m3": 0.0,
        **changes,
    }


def envelope(event_type: str, data: Any) -> bytes:
    # A command names its actor (issue 13): the organizer, on the zone's roster, as the HTTP
    # layer would stamp it — so a readable command is accepted and its effect is reached.
    actor = person("M1").extension() if event_type == "activity.record" else {}
    return orjson.dumps(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "type": event_type,
            "source": "poison-test",
            "time": datetime.now(UTC).isoformat(),
            **actor,
            "data": data,
        }
    )


def big_int_envelope(zone_id: str) -> bytes:
    # JSON reads 2**63..2**64-1 as an integer: BSON cannot store it (OverflowError at encode).
    data = orjson.dumps(activity(zone_id)).decode()[:-1] + ', "counter": 9223372036854775813}'
    raw = envelope("activity.record", {}).decode().replace('"data":{}', f'"data":{data}')
    return raw.encode()


Headers = list[tuple[str, bytes | None]]
CT: Headers = [("content-type", CONTENT_TYPE.encode())]

# name -> (the poison's value and headers, the reason's kind, a word the reason must contain)
ACTIVITY_POISON: dict[str, tuple[Callable[[str], tuple[bytes, Headers]], str, str]] = {
    "extra key with a NUL": (
        lambda z: (envelope("activity.record", {**activity(z), "note\x00": "x"}), CT),
        "invalid_payload",
        "NUL",
    ),
    "NUL in a string": (
        lambda z: (envelope("activity.record", activity(z, topic="safety\x00talk")), CT),
        "invalid_payload",
        "data.topic: contains a NUL",
    ),
    "field name with a dot": (
        lambda z: (envelope("activity.record", {**activity(z), "a.b": 1}), CT),
        "invalid_payload",
        "contains '.'",
    ),
    "field name with a leading $": (
        lambda z: (envelope("activity.record", {**activity(z), "$set": {"x": 1}}), CT),
        "invalid_payload",
        "starts with '$'",
    ),
    "integer beyond 64 bits": (lambda z: (big_int_envelope(z), CT), "invalid_payload", "64 bits"),
    "800 KB unreadable": (lambda z: (b"\xfe" * 800_000, CT), "not_json", "not JSON"),
    "non-UTF-8 header": (
        lambda z: (envelope("activity.record", activity(z)), [*CT, ("trace", b"\xff\xfe")]),
        "bad_header",
        "not UTF-8",
    ),
    "null header": (
        lambda z: (envelope("activity.record", activity(z)), [*CT, ("trace", None)]),
        "bad_header",
        "has no value",
    ),
    "emitted event too large": (
        # The command is fine; the activity.recorded it causes is over PBZ_MAX_EVENT_BYTES.
        lambda z: (envelope("activity.record", activity(z, topic="t" * 5_000)), CT),
        "event_too_large",
        "over the limit",
    ),
}


async def letters_for(dlq: Watcher, service: str, offset: int, partition: int) -> list[Any]:
    await dlq.quiet(0.3)
    return [
        e
        for e in dlq.events("dlq.recorded")
        if e.data["service"] == service and e.data["offset"] == offset and e.data["partition"] == partition
    ]


async def check_letter_then_next(
    bus: Bus,
    dlq: Watcher,
    out: Watcher,
    rt: Any,
    http: Any,
    poison: tuple[bytes, Headers],
    key: str,
    topic: str,
    good: tuple[str, dict[str, Any]],
    kind: str,
    word: str,
    effect: Callable[[], Any],
) -> None:
    value, headers = poison
    meta = await bus.producer.send_and_wait(topic, value, key=key.encode(), headers=headers)
    await bus.publish(good[0], good[1], key=key)
    await effect()  # the next message on the same partition was processed
    await dlq.wait_for(
        lambda es: any(e.data.get("offset") == meta.offset and e.data.get("service") == rt.name for e in es),
        what="the dead letter",
    )
    [letter] = await letters_for(dlq, rt.name, meta.offset, meta.partition)
    reason = letter.data["reason"]
    assert reason.startswith(f"{kind}:") and word in reason, reason
    assert letter.data["topic"] == topic and letter.data["key"] == key
    assert letter.data["original_bytes"] == len(value)
    assert letter.data["original_sha256"] == hashlib.sha256(value).hexdigest()
    kept = base64.b64decode(letter.data["original"])
    assert value.startswith(kept) and letter.data["original_truncated"] == (len(kept) < len(value))
    ready = await http.get("/readyz")
    assert ready.status_code == 200, ready.json()
    report(
        f"poison to {rt.name}",
        reason=reason[:70],
        letters=1,
        letter_bytes=len(orjson.dumps(letter.data)),
        next_processed="yes",
        ready="yes",
    )


@pytest.mark.parametrize("case", sorted(ACTIVITY_POISON))
async def test_poison_for_activity_log_is_dead_lettered_and_the_next_is_processed(case: str) -> None:
    make, kind, word = ACTIVITY_POISON[case]
    z = f"Z-{uuid.uuid4().hex[:6]}"
    async with Bus() as bus, serving(activity_log, max_event_bytes=4096) as (rt, http):
        dlq = await bus.watch(Topic.DLQ.value)
        out = await bus.watch(Topic.ACTIVITY_EVENTS.value)
        await bus.publish("zone.established", {"zone": zone(z)}, key=z)
        await stored(rt, "zones", z)
        good = activity(z)

        async def recorded() -> None:
            await stored(rt, "activities", good["activity_id"])

        await check_letter_then_next(
            bus,
            dlq,
            out,
            rt,
            http,
            make(z),
            z,
            Topic.ACTIVITY_COMMANDS.value,
            ("activity.record", good),
            kind,
            word,
            recorded,
        )
        docs = await rt.db["activities"].count_documents({})
        assert docs == 1  # the poison stored nothing


async def test_a_nan_gas_reading_is_dead_lettered_and_permit_fasttrack_goes_on() -> None:
    project = f"P-{uuid.uuid4().hex[:6]}"
    async with Bus() as bus, serving(permit_fasttrack) as (rt, http):
        dlq = await bus.watch(Topic.DLQ.value)
        out = await bus.watch(Topic.PERMIT_EVENTS.value)
        good = gas_test(project)

        async def stored_test() -> None:
            await stored(rt, "gas_tests", good["test_id"])

        await check_letter_then_next(
            bus,
            dlq,
            out,
            rt,
            http,
            (envelope("safety.gas-test-recorded", gas_test(project, lel_pct="NaN")), CT),
            project,
            Topic.SAFETY.value,
            ("safety.gas-test-recorded", good),
            "invalid_payload",
            "lel_pct",
            stored_test,
        )
        assert await rt.db["gas_tests"].count_documents({}) == 1
