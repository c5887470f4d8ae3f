"""The short demo (a few zones, one week) end to end: the simulator plays it through the
four real services on the real broker and server, then the report read back from their
HTTP APIs must agree with the simulator's ground truth."""

from __future__ import annotations

import contextlib
from datetime import date

from cloudevents.core.bindings import kafka as ce_kafka

from services.activity_log.app import definition as activity_log
from services.assessment.app import definition as assessment
from services.permit_fasttrack.app import definition as permit_fasttrack
from services.simulator.plan import build_plan
from services.simulator.player import Player
from services.simulator.report import build_report, render
from services.simulator.world import build_world
from services.zone_registry.app import definition as zone_registry
from shared.events import Topic, spec_for
from tests.support import KAFKA, Watcher, eventually, identity, serving

DEFINITIONS = (zone_registry, activity_log, permit_fasttrack, assessment)
EMITTED = [Topic.ZONE_EVENTS, Topic.ACTIVITY_EVENTS, Topic.PERMIT_EVENTS, Topic.ASSESSMENT_EVENTS]


async def read_with_the_cloudevents_sdk(watcher: Watcher) -> dict[str, int]:
    """Every record the services emitted while ``watcher`` watched, read with the official
    SDK: type -> count. Fails on the first record the SDK cannot read."""
    consumer = watcher.consumer
    ends = await consumer.end_offsets(list(consumer.assignment()))

    async def at_the_end() -> bool:
        return all([await consumer.position(tp) >= end for tp, end in ends.items()])

    await eventually(at_the_end, what="the watcher at the topics' end")
    seen: dict[str, int] = {}
    for r in watcher.records:
        event = ce_kafka.from_kafka_event(
            ce_kafka.KafkaMessage(headers=dict(r.headers), key=r.key, value=r.value)
        )
        assert spec_for(event.get_type()).topic.value == r.topic, event.get_type()
        seen[event.get_type()] = seen.get(event.get_type(), 0) + 1
    return seen


async def test_a_short_month_replayed_through_the_whole_system_matches_the_ground_truth() -> None:
    world = build_world(seed=11, zones=6, host_units=4, units=20, start=date(2026, 4, 24))
    plan = build_plan(world, date(2026, 4, 24), 7, seed=11)
    async with contextlib.AsyncExitStack() as stack:
        emitted = Watcher([t.value for t in EMITTED])
        await emitted.start()
        stack.push_async_callback(emitted.stop)
        running = [await stack.enter_async_context(serving(d)) for d in DEFINITIONS]
        groups = {
            rt.settings.group_id(rt.definition.title): [t.value for t in rt.definition.consumes]
            for rt, _ in running
        }
        clients = {rt.definition.title: client for rt, client in running}
        async with Player(plan, bootstrap=KAFKA, groups=groups, seed=11, identity=identity()) as player:
            stats = await player.play()
            await player.caught_up()
        report = await build_report(clients, plan, player.zone_ids, stats)
        print(render(report))
        assert report.ok, "\n".join(report.mismatches)
        # The report is read from the services, and they did the work the plan implies.
        assert report.data["coverage"]["covered"] == len(plan.truth.key_projects)
        assert (
            report.data["permits"]["by_status"].get("issued", 0)
            + report.data["permits"]["by_status"].get("closed", 0)
            > 0
        )
        assert stats.dlq == 0
        assert sum(c["zones"] for c in report.data["compliance"].values()) == 5 * len(world.zones)
        # Everything the services emitted reads cleanly with the official CloudEvents SDK.
        seen = await read_with_the_cloudevents_sdk(emitted)
        print("emitted, each read with the CloudEvents SDK:", seen)
        assert seen.get("zone.established", 0) >= len(world.zones) and seen.get("permit.issued", 0) > 0
        assert seen.get("activity.compliance-evaluated") == 5 * len(world.zones)
        assert seen.get("assessment.ranking-published", 0) >= 1
