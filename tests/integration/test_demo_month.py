"""The short demo (a few zones, one week) end to end: the simulator plays it through the
four real services on the real broker and server, then the report read back from their
HTTP APIs must agree with the simulator's ground truth."""

from __future__ import annotations

import contextlib
from datetime import date

from services.activity_log.app import definition as activity_log
from services.assessment.app import definition as assessment
from services.permit_fasttrack.app import definition as permit_fasttrack
from services.simulator.plan import build_plan
from services.simulator.player import Player
from services.simulator.report import build_report, render
from services.simulator.world import build_world
from services.zone_registry.app import definition as zone_registry
from tests.support import KAFKA, serving

DEFINITIONS = (zone_registry, activity_log, permit_fasttrack, assessment)


async def test_a_short_month_replayed_through_the_whole_system_matches_the_ground_truth() -> None:
    world = build_world(seed=11, zones=6, host_units=4, units=20, start=date(2026, 4, 24))
    plan = build_plan(world, date(2026, 4, 24), 7, seed=11)
    async with contextlib.AsyncExitStack() as stack:
        running = [await stack.enter_async_context(serving(d)) for d in DEFINITIONS]
        groups = {
            rt.settings.group_id(rt.definition.title): [t.value for t in rt.definition.consumes]
            for rt, _ in running
        }
        clients = {rt.definition.title: client for rt, client in running}
        async with Player(plan, bootstrap=KAFKA, groups=groups, seed=11) as player:
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
