"""Where the Mongo-protocol server's time goes: the demo (scaled by flags) played in-process
through the four services, every Mongo command timed by a pymongo command listener and
grouped by service database, command, collection and filter shape.

    .venv/bin/python -m bench.mongo_profile --zones 10 --days 7

Needs the local infrastructure (make infra-up). Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import typer
from pymongo import monitoring

from services.activity_log.app import definition as activity_log
from services.assessment.app import definition as assessment
from services.permit_fasttrack.app import definition as permit_fasttrack
from services.simulator.plan import build_plan
from services.simulator.player import Player
from services.simulator.report import build_report
from services.simulator.world import build_world
from services.zone_registry.app import definition as zone_registry
from tests.support import KAFKA, serving


def _shape(value: Any) -> Any:
    """The keys of a filter, values dropped: which queries, not which documents."""
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(f"{k}:{_shape(v)}" for k, v in sorted(value.items()) if k != "_id")
            + (",_id" if "_id" in value else "")
            + "}"
        )
    if isinstance(value, list):
        return "[" + (_shape(value[0]) if value else "") + "]"
    return "·"


class Timings(monitoring.CommandListener):
    def __init__(self) -> None:
        self.inflight: dict[int, tuple[str, float]] = {}
        self.total: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])

    def started_cmd(self, event: monitoring.CommandStartedEvent) -> str:
        cmd = event.command
        name = event.command_name
        coll = cmd.get(name)
        what = ""
        if name == "find":
            what = _shape(cmd.get("filter", {}))
        elif name in ("update", "delete"):
            stmts = cmd.get("updates") or cmd.get("deletes") or []
            what = _shape(stmts[0].get("q", {})) if stmts else ""
        elif name == "findAndModify":
            what = _shape(cmd.get("query", {}))
        db = event.database_name.split("_t")[0]
        return f"{db:22} {name:13} {coll!s:22} {what}"

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.inflight[event.request_id] = (self.started_cmd(event), time.perf_counter())

    def _done(self, event: Any) -> None:
        key, t0 = self.inflight.pop(event.request_id, ("?", time.perf_counter()))
        row = self.total[key]
        row[0] += 1
        row[1] += time.perf_counter() - t0

    succeeded = _done
    failed = _done


def main(zones: int = 10, days: int = 7, seed: int = 11, top: int = 25) -> None:
    listener = Timings()
    monitoring.register(listener)

    # The played days end with April: the month is closed and checked.
    first_day = date(2026, 5, 1) - timedelta(days=days)

    async def run() -> None:
        world = build_world(
            seed=seed,
            zones=zones,
            host_units=max(2, zones * 14 // 23),
            units=zones * 3 + 2,
            start=first_day,
        )
        plan = build_plan(world, first_day, days, seed=seed)
        async with contextlib.AsyncExitStack() as stack:
            running = [
                await stack.enter_async_context(serving(d))
                for d in (zone_registry, activity_log, permit_fasttrack, assessment)
            ]
            groups = {
                rt.settings.group_id(rt.definition.title): [t.value for t in rt.definition.consumes]
                for rt, _ in running
            }
            clients = {rt.definition.title: client for rt, client in running}
            t0 = time.perf_counter()
            async with Player(plan, bootstrap=KAFKA, groups=groups, seed=seed) as player:
                stats = await player.play()
                await player.caught_up()
            wall = time.perf_counter() - t0
            report = await build_report(clients, plan, player.zone_ids, stats)
            print(
                f"{zones} zones, {days} days: {stats.published} events published in {wall:.1f} s, "
                f"report {'matches' if report.ok else 'MISMATCH'}"
            )
            for m in report.mismatches:
                print("  mismatch:", m)

    asyncio.run(run())
    rows = sorted(listener.total.items(), key=lambda kv: -kv[1][1])
    total = sum(r[1] for _, r in rows)
    print(f"Mongo time {total:.1f} s over {sum(r[0] for _, r in rows)} commands; top {top}:")
    print(f"{'seconds':>8} {'count':>6} {'ms each':>8}  database / command / collection / filter")
    for key, (n, s) in rows[:top]:
        print(f"{s:8.2f} {n:6d} {1000 * s / n:8.2f}  {key}")


if __name__ == "__main__":
    typer.run(main)
