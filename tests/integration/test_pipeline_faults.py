"""The pipeline's failure classes over the real broker and server, with the probe service:
a failure that is the message's ends in the DLQ after bounded retries while the store
answers; an outage keeps the message waiting (never in the DLQ) and /readyz red; late
copies never overwrite newer aggregates; unfinished records are finished at start-up,
oldest first; clock ticks are finished from their record, refused when skewed, and a
failing tick stops the clock visibly instead of moving it on."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import bson
from bson import Binary
from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase

from shared.events import CloudEvent, Topic, make_event
from shared.events.envelope import identity
from shared.pipeline import CLOCK, PROCESSED
from tests.integration import probe_service
from tests.integration.test_pipeline import answers, counter, inspection
from tests.procs import report
from tests.support import MONGO, Bus, Watcher, eventually, new_suffix, running


async def letters(dlq: Watcher, service: str) -> list[CloudEvent]:
    return [e for e in dlq.events("dlq.recorded") if e.data["service"] == service]


async def the_letter(dlq: Watcher, service: str) -> CloudEvent:
    """The one dead letter of this service instance (waited for: the DLQ is another topic)."""
    await dlq.wait_for(lambda es: any(e.data.get("service") == service for e in es), what="the dead letter")
    await dlq.quiet(0.3)
    [letter] = await letters(dlq, service)
    return letter


async def test_a_connection_failure_repeating_while_the_store_answers_is_dead_lettered() -> None:
    """FerretDB closes the connection on a document it cannot store and answers everything
    else: that is the message's failure, retried a bounded number of times."""
    project = f"P-{uuid.uuid4().hex[:6]}"
    async with Bus() as bus, running(probe_service.definition, retry_attempts=3) as rt:
        dlq = await bus.watch(Topic.DLQ.value)
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
        await bus.publish("quality.procedure-inspected", inspection(project, "store-closes"), key=project)
        after = await bus.publish("quality.procedure-inspected", inspection(project), key=project)
        await out.wait_for(lambda es: bool(answers(es, after)), what="the next message")
        letter = await the_letter(dlq, rt.name)
        assert letter.data["reason"].startswith("retry_exhausted: 3 attempts, last: AutoReconnect"), (
            letter.data
        )
        assert await counter(rt, project) == 1
        assert (await rt.readiness())["pipeline"] == "ok"
        report("store closes the connection on one message", reason=letter.data["reason"][:80], letters=1)


async def test_a_document_the_store_cannot_hold_is_dead_lettered_before_anything_is_stored() -> None:
    project = f"P-{uuid.uuid4().hex[:6]}"
    async with Bus() as bus, running(probe_service.definition) as rt:
        dlq = await bus.watch(Topic.DLQ.value)
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
        nan = await bus.publish("quality.procedure-inspected", inspection(project, "nan"), key=project)
        after = await bus.publish("quality.procedure-inspected", inspection(project), key=project)
        await out.wait_for(lambda es: bool(answers(es, after)))
        letter = await the_letter(dlq, rt.name)
        assert letter.data["reason"].startswith("unstorable: readings.lel_pct: nan is not a finite number")
        assert await counter(rt, project) == 1  # neither the NaN nor the counter of its message
        assert await rt.db[PROCESSED].find_one({"_id": nan.idempotency_key}) is None
        assert not answers(out.events(), nan)


class Proxy:
    """A TCP proxy to the Mongo-protocol server that a test can cut (an outage)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.cut = False
        self.links: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.links += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def outage(self) -> None:
        self.cut = True
        for w in self.links:
            w.close()
        self.links.clear()

    def back(self) -> None:
        self.cut = False

    async def stop(self) -> None:
        self.outage()
        if self.server is not None:
            self.server.close()


async def test_an_outage_keeps_the_message_waiting_never_in_the_dlq() -> None:
    project = f"P-{uuid.uuid4().hex[:6]}"
    host, port = MONGO.removeprefix("mongodb://").split("/")[0].split(":")
    proxy = Proxy(host, int(port))
    await proxy.start()
    try:
        url = f"mongodb://127.0.0.1:{proxy.port}"
        async with Bus() as bus, running(probe_service.definition, mongo_url=url, retry_attempts=2) as rt:
            dlq = await bus.watch(Topic.DLQ.value)
            out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
            proxy.outage()
            cause = await bus.publish("quality.procedure-inspected", inspection(project), key=project)
            await eventually(lambda: rt.pipeline.waiting_on is not None, what="the pipeline to wait")
            await asyncio.sleep(8.0)  # far more than retry_attempts × backoff: still waiting
            checks = await rt.readiness()
            assert checks["mongo"].startswith("unreachable") and checks["pipeline"].startswith("waiting")
            assert await letters(dlq, rt.name) == []
            proxy.back()
            await out.wait_for(
                lambda es: bool(answers(es, cause)), what="the message after the outage", timeout=60
            )
            assert await counter(rt, project) == 1
            assert await letters(dlq, rt.name) == []
            await eventually(lambda: rt.pipeline.waiting_on is None, what="ready again")
            report("Mongo outage", seconds_waited=8.0, letters=0, effects=1, readyz=checks["pipeline"][:50])
    finally:
        await proxy.stop()


async def test_a_late_copy_never_overwrites_a_newer_aggregate() -> None:
    """The pipeline applies an aggregate only over an older version (a zombie's late apply)."""
    async with running(probe_service.definition) as rt:
        pipeline = rt.pipeline
        pipeline.handlers.aggregate("things")
        try:

            def put(v: int, name: str) -> dict[str, Any]:
                return {"op": "put", "c": "things", "doc": {"_id": "T1", "version": v, "name": name}}

            await pipeline._apply([put(2, "second")])
            await pipeline._apply([put(1, "first, late")])  # skipped
            await pipeline._apply([put(2, "second again")])  # the same version: skipped
            assert (await rt.db["things"].find_one({"_id": "T1"}))["name"] == "second"
            await pipeline._apply([put(3, "third")])
            assert (await rt.db["things"].find_one({"_id": "T1"}))["name"] == "third"
        finally:
            pipeline.handlers.aggregates.discard("things")


async def stopped_probe_store(suffix: str) -> AsyncIOMotorDatabase[Any]:
    """The probe's database, left behind by an instance that has stopped (a crash's leftovers
    are then written into it by hand)."""
    async with running(probe_service.definition, suffix=suffix, drop=False) as rt:
        name = rt.db.name
    return AsyncIOMotorClient(MONGO, tz_aware=True)[name]


def probe_answer(event_id: str, command_id: str, reason: str, now: datetime) -> CloudEvent:
    return make_event(
        id=event_id,
        type="assessment.command-rejected",
        source="pbz/probe",
        time=now,
        data={"command_id": command_id, "command_type": "t", "reasons": [reason]},
    )


async def test_unfinished_records_are_finished_at_start_up_oldest_first() -> None:
    suffix = new_suffix()
    project = f"P-{uuid.uuid4().hex[:6]}"
    async with Bus() as bus:
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
        db = await stopped_probe_store(suffix)
        # Two records a crash left unfinished (their writes and events stored, not applied).
        now = datetime.now(UTC)
        for n, at in ((2, now), (1, now - timedelta(seconds=5))):
            event = probe_answer(f"e{n}-{project}", f"c{n}", f"unfinished_{n}", now)
            await db[PROCESSED].insert_one(
                {
                    "_id": f'["test","{n}-{project}"]',
                    "type": "t",
                    "at": at,
                    "done": False,
                    "writes": [{"op": "put", "c": "counters", "doc": {"_id": project, "n": n, "codes": []}}],
                    "events": [
                        {
                            "topic": Topic.ASSESSMENT_EVENTS.value,
                            "key": project,
                            "value": event.model_dump(mode="json"),
                        }
                    ],
                }
            )
        async with running(probe_service.definition, suffix=suffix) as rt2:
            evs = await out.wait_for(
                lambda es: len([e for e in es if e.data.get("command_type") == "t"]) == 2, what="both events"
            )
            assert [e.data["reasons"][0] for e in evs if e.data.get("command_type") == "t"] == [
                "unfinished_1",
                "unfinished_2",
            ]
            assert await counter(rt2, project) == 2  # the newer record's writes were applied last
            assert await rt2.db[PROCESSED].count_documents({"done": False}) == 0


async def test_a_batch_left_unfinished_is_finished_at_start_up_and_a_new_document_already_there_replaced() -> (
    None
):
    """A batch's record (its writes and events as one stored value) that a crash left unfinished
    after its first write was applied: at start-up it is finished from what it holds — the
    document its handler found absent is there now, so its insert is written as a replacement."""
    suffix = new_suffix()
    project = f"P-{uuid.uuid4().hex[:6]}"
    async with Bus() as bus:
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
        db = await stopped_probe_store(suffix)
        await db["counters"].insert_one({"_id": project, "n": 1, "codes": ["before"]})
        event = probe_answer(f"eb-{project}", "cb", "batch_finished", datetime.now(UTC))
        content = {
            "writes": [
                {"op": "put", "c": "counters", "doc": {"_id": project, "n": 7, "codes": []}, "new": True}
            ],
            "events": [
                {
                    "topic": Topic.ASSESSMENT_EVENTS.value,
                    "key": project,
                    "value": event.model_dump(mode="json"),
                }
            ],
        }
        await db[PROCESSED].insert_one(
            {
                "_id": f"batch/{project}",
                "type": "batch",
                "at": datetime.now(UTC),
                "keys": [],
                "body": Binary(bson.encode(content, codec_options=db.codec_options)),
                "n_writes": 1,
                "done": False,
            }
        )
        async with running(probe_service.definition, suffix=suffix) as rt2:
            await out.wait_for(lambda es: any(e.data.get("command_id") == "cb" for e in es), what="its event")
            assert await counter(rt2, project) == 7
            stored = await rt2.db[PROCESSED].find_one({"_id": f"batch/{project}"})
            assert stored is not None and stored["done"] is True and "body" not in stored


async def test_a_record_naming_a_batch_being_stored_waits_for_it_and_one_left_by_a_crash_is_removed() -> None:
    """A message's record names its batch's, inserted just after it in one request. A copy of
    the event on another partition that meets the name before the batch waits for the batch
    (here stored as done a second later: the copy is a duplicate, nothing happens twice); a
    name older than the insert's window names a batch that never came (a crash, a refused
    insert whose clean-up failed) and is removed: the message is handled."""
    project = f"P-{uuid.uuid4().hex[:6]}"
    async with Bus() as bus, running(probe_service.definition) as rt:
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
        in_flight, orphan = f"in-flight-{project}", f"orphan-{project}"
        now = datetime.now(UTC)
        await rt.db[PROCESSED].insert_many(
            [
                {"_id": identity("test", in_flight), "type": "t", "at": now, "batch": f"batch/{in_flight}"},
                {
                    "_id": identity("test", orphan),
                    "type": "t",
                    "at": now - timedelta(seconds=11),
                    "batch": "batch/gone",
                },
            ]
        )
        copy = await bus.publish(
            "quality.procedure-inspected", inspection(project), key=project, id=in_flight
        )
        await eventually(lambda: rt.pipeline.waiting_on is not None, what="the copy waiting")
        assert "is being stored" in rt.pipeline.waiting_on
        await rt.db[PROCESSED].insert_one(
            {"_id": f"batch/{in_flight}", "type": "batch", "at": now, "keys": [], "n_writes": 0, "done": True}
        )
        handled = await bus.publish(
            "quality.procedure-inspected", inspection(project), key=project, id=orphan
        )
        await out.wait_for(lambda es: bool(answers(es, handled)), what="the answer to the orphan's message")
        await out.quiet(0.5)
        assert answers(out.events(), copy) == []  # the batch it waited for stood: a duplicate
        assert await counter(rt, project) == 1
        stored = await rt.db[PROCESSED].find_one({"_id": identity("test", orphan)})
        assert stored is not None and "batch" not in stored and stored["done"] is True


# --------------------------------------------------------------------------- the clock


async def tick(bus: Bus, when: datetime, source: str = "test-clock") -> CloudEvent:
    return await bus.publish("clock.ticked", {"now": when.isoformat()}, key="clock", source=source)


def tick_answers(events: list[CloudEvent]) -> list[str]:
    return [e.data["reasons"][0] for e in events if e.data.get("command_type") == "tick"]


T0 = datetime(2026, 5, 1, 8, tzinfo=UTC)


async def test_a_redelivered_tick_is_finished_from_its_record_never_dropped() -> None:
    """A crash between applying a tick's writes and publishing its events: the restarted
    service finishes the record (at start-up, and again on redelivery: a no-op), so what the
    tick caused is published once — never dropped as "not later" than the clock it wrote."""
    suffix = new_suffix()
    async with Bus() as bus:
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
        async with running(probe_service.definition, suffix=suffix, drop=False) as rt:
            await tick(bus, T0)
            await eventually(lambda: rt.pipeline.last_tick == T0, what="the first tick")
            crashed = asyncio.Event()

            async def crash(record: dict[str, Any]) -> None:
                crashed.set()
                await asyncio.Event().wait()  # the process stops here, for good

            rt.pipeline.before_publish = crash
            second = await tick(bus, T0 + timedelta(hours=1))
            await asyncio.wait_for(crashed.wait(), 20)
            record = await rt.db[PROCESSED].find_one({"_id": second.idempotency_key})
            assert record is not None and record["done"] is False
            assert (await rt.db[CLOCK].find_one({"_id": CLOCK}))["now"] == T0 + timedelta(hours=1)
        assert tick_answers(out.events()) == []
        async with running(probe_service.definition, suffix=suffix) as rt2:
            await out.wait_for(lambda es: len(tick_answers(es)) >= 1, what="the tick's event")
            await eventually(
                lambda: _committed(rt2, Topic.CLOCK.value), what="the redelivered tick committed", timeout=30
            )
            await out.quiet(0.5)
            local = (T0 + timedelta(hours=1)).astimezone(rt2.clock.tz)
            assert tick_answers(out.events()) == [f"tick_to_{local.isoformat()}"]
            assert (await rt2.db[PROCESSED].find_one({"_id": second.idempotency_key}))["done"] is True


async def test_a_tick_that_only_moves_the_clock_stores_no_record_and_a_copy_of_it_changes_nothing() -> None:
    """The first tick a service sees only sets its clock: no processed record is stored or
    marked done for it. A copy of it, after a restart, is "not later" than the stored clock:
    nothing runs, nothing is stored. A tick that causes something keeps its record."""
    suffix = new_suffix()
    async with Bus() as bus:
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
        async with running(probe_service.definition, suffix=suffix, drop=False) as rt:
            first = await tick(bus, T0)
            await eventually(lambda: rt.pipeline.last_tick == T0, what="the first tick")
            await eventually(lambda: _committed(rt, Topic.CLOCK.value), what="the first tick committed")
            assert (await rt.db[CLOCK].find_one({"_id": CLOCK}))["now"] == T0
            assert await rt.db[PROCESSED].count_documents({}) == 0
        ticks_before = len(probe_service.ticks)
        async with running(probe_service.definition, suffix=suffix) as rt2:
            assert rt2.pipeline.last_tick == T0  # read from the stored clock at start
            await bus.resend(first, key="clock")
            later = await tick(bus, T0 + timedelta(hours=1))
            await out.wait_for(lambda es: len(tick_answers(es)) >= 1, what="the later tick's event")
            await eventually(lambda: _committed(rt2, Topic.CLOCK.value), what="both ticks committed")
            assert len(probe_service.ticks) == ticks_before + 1  # the later tick's hook alone
            assert await rt2.db[PROCESSED].find_one({"_id": first.idempotency_key}) is None
            record = await rt2.db[PROCESSED].find_one({"_id": later.idempotency_key})
            assert record is not None and record["done"] is True


async def test_a_crash_between_the_closing_tick_s_writes_and_its_events_publishes_the_month_once() -> None:
    """activity-log: the tick that closes April is stored and its writes applied (the clock
    moved), then the process stops before publishing the month's close: the restarted
    service finishes the record first thing, and April's cadence is published once."""
    from services.activity_log.app import definition as activity_log
    from tests.integration.test_activity_log_flow import activity, compliance, snapshot

    suffix, zone_id = new_suffix(), f"Z-{uuid.uuid4().hex[:6]}"
    april = [datetime(2026, 4, d).date() for d in range(1, 31)]
    async with Bus() as bus:
        out = await bus.watch(Topic.ACTIVITY_EVENTS.value)
        async with running(activity_log, suffix=suffix, drop=False) as rt:
            await bus.publish("clock.ticked", {"now": "2026-03-31T23:00:00+08:00"}, key="clock")
            await bus.publish(
                "zone.established",
                {"zone": snapshot(zone_id)},
                key=zone_id,
                time=datetime(2026, 4, 1, tzinfo=UTC),
            )
            await eventually(lambda: rt.db["zones"].find_one({"_id": zone_id}), what="the zone copy")
            acts = [activity(zone_id, "daily_checkin", d, 7, "morning") for d in april if d.weekday() < 5]
            for a in acts:
                await bus.publish("activity.record", a, key=zone_id)
            await out.wait_for(lambda es: len([e for e in es if e.type == "activity.recorded"]) == len(acts))
            crashed = asyncio.Event()

            async def crash(record: dict[str, Any]) -> None:
                if record.get("type") == "clock.ticked":
                    crashed.set()
                    await asyncio.Event().wait()  # the process stops here, for good

            rt.pipeline.before_publish = crash
            await bus.publish("clock.ticked", {"now": "2026-05-02T01:00:00+08:00"}, key="clock")
            await asyncio.wait_for(crashed.wait(), 20)
        assert compliance(out.events(), zone_id) == {}
        async with running(activity_log, suffix=suffix) as rt2:
            await out.wait_for(lambda es: len(compliance(es, zone_id)) == 5, what="April's cadence")
            await out.quiet(1.0)
            published = [
                e for e in out.events("activity.compliance-evaluated") if e.data["zone_id"] == zone_id
            ]
            assert len({e.id for e in published}) == 5  # each rule once (copies of an id allowed)
            assert await rt2.db["evaluations"].count_documents({}) == 1


async def _committed(rt: Any, topic: str) -> bool:
    consumer = rt.subscriber.consumer
    if consumer is None:
        return False
    for tp in consumer.assignment():
        if tp.topic == topic and await consumer.committed(tp) != await consumer.position(tp):
            return False
    return True


async def test_a_tick_too_far_ahead_is_refused_and_the_clock_stays() -> None:
    async with Bus() as bus, running(probe_service.definition, clock_max_skew_hours=48) as rt:
        dlq = await bus.watch(Topic.DLQ.value)
        await tick(bus, T0)
        await eventually(lambda: rt.pipeline.last_tick == T0)
        await tick(bus, T0 + timedelta(days=400))
        letter = await the_letter(dlq, rt.name)
        assert letter.data["reason"].startswith("clock_skew: 400 days"), letter.data["reason"]
        assert rt.pipeline.last_tick == T0
        assert (await rt.readiness())["clock"].startswith("tick to 2027")
        await tick(bus, T0 + timedelta(hours=2))
        await eventually(lambda: rt.pipeline.last_tick == T0 + timedelta(hours=2))
        assert (await rt.readiness())["clock"] == "ok"


async def test_a_failing_tick_does_not_move_the_clock_and_the_next_covers_its_time() -> None:
    probe_service.ticks.clear()
    try:
        async with Bus() as bus, running(probe_service.definition) as rt:
            dlq = await bus.watch(Topic.DLQ.value)
            await tick(bus, T0)
            await eventually(lambda: rt.pipeline.last_tick == T0)
            probe_service.tick_failure.append(RuntimeError("a defect in the tick hook"))
            await tick(bus, T0 + timedelta(hours=1))
            await dlq.wait_for(
                lambda es: any(e.data.get("service") == rt.name for e in es), what="the letter"
            )
            [letter] = await letters(dlq, rt.name)
            assert letter.data["reason"].startswith("handler_error: RuntimeError")
            assert rt.pipeline.last_tick == T0  # not moved on silently
            checks = await rt.readiness()
            assert "dead-lettered" in checks["clock"], checks
            probe_service.tick_failure.clear()
            await tick(bus, T0 + timedelta(hours=2))
            await eventually(lambda: rt.pipeline.last_tick == T0 + timedelta(hours=2))
            # The next tick acts on the whole span the failed one did not.
            assert probe_service.ticks == [(T0, T0 + timedelta(hours=2))]
            assert (await rt.readiness())["clock"] == "ok"
    finally:
        probe_service.tick_failure.clear()
        probe_service.ticks.clear()


async def test_wall_clock_ticks_from_every_instance_are_one_tick_per_group() -> None:
    """Wall clock: each instance publishes the time on the interval's grid with an id made of
    it; the group acts on each tick once, whichever instance publishes or handles it (R5)."""
    suffix = new_suffix()
    async with (
        Bus() as bus,
        running(probe_service.definition, suffix=suffix, clock="wall", scheduler_interval_s=1, drop=False),
        running(probe_service.definition, suffix=suffix, clock="wall", scheduler_interval_s=1, shared=True),
    ):
        clock = await bus.watch(Topic.CLOCK.value)
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
        await asyncio.sleep(5)
        wall = [e for e in clock.events("clock.ticked") if e.source == "pbz/wall-clock"]
        ids = [e.id for e in wall]
        assert len(set(ids)) >= 3 and len(ids) > len(set(ids))  # copies from both instances
        acted: dict[str, set[str]] = {}
        for e in out.events("assessment.command-rejected"):
            if e.data["command_type"] == "tick":
                acted.setdefault(e.data["command_id"], set()).add(e.id)
        assert len(acted) >= 2 and set(acted) <= set(ids) | {e.id for e in clock.events()}
        assert all(len(v) == 1 for v in acted.values())  # once per tick, copies or not
        report(
            "wall ticks, two instances", published=len(ids), distinct=len(set(ids)), acted_on_once=len(acted)
        )
