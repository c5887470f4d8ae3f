"""Long fault variants (marker ``faults``; ``make test`` runs them): services as real
processes killed with SIGKILL under load and restarted by the test, two instances of each
service in one consumer group, one of them killed mid-way. Every command must have exactly
one effect and one emitted event id (copies of one event id are redelivered copies: allowed,
counted). The figures are printed: events, effects, lost, doubled, redelivered copies,
kills, seconds, and how long each restarted process took to consume again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from motor.motor_asyncio import AsyncIOMotorDatabase

from shared.events import Topic
from shared.settings import ServiceSettings
from tests.procs import (
    ROOT,
    ServiceProcess,
    Tally,
    activity_data,
    activity_records,
    command,
    database,
    first_output_after,
    report,
    send_all,
    zone_copies,
)
from tests.support import Bus, Watcher, eventually, new_suffix

pytestmark = pytest.mark.faults


async def kill_and_restart(proc: ServiceProcess, out: Watcher) -> float:
    """SIGKILL, then start again at once; seconds until the new process consumes."""
    await proc.kill()
    await asyncio.sleep(0.5)  # the dead process's last outputs land; only the new one's count
    seen = len(out.records)
    await proc.start()
    return await first_output_after(out.records, seen)


async def when(check: Callable[[], bool], timeout: float, what: str) -> None:
    await eventually(check, timeout=timeout, what=what)


async def stop_all(*procs: ServiceProcess) -> None:
    await asyncio.gather(*(p.stop() for p in procs))


# --------------------------------------------------------------------------- kill -9 under load

KILL_LOAD = 10_000


async def test_activity_log_killed_three_times_under_10000_commands_keeps_every_effect_once() -> None:
    suffix = new_suffix()
    zones = [f"K{i}{suffix}" for i in range(6)]
    db = database("activity_log", suffix)
    proc = ServiceProcess("services.activity_log", suffix, group_instance_id="faults")
    tally = Tally({"activity.recorded", "activity.rejected"})
    async with Bus() as bus:
        out = await bus.watch(Topic.ACTIVITY_EVENTS.value)
        try:
            await proc.start()
            await proc.wait_ready()
            await zone_copies(bus, db, zones)
            t0 = time.monotonic()
            items = activity_records(zones, KILL_LOAD)
            await send_all(bus, Topic.ACTIVITY_COMMANDS.value, items, tally)
            restarts = []
            for share in (0.15, 0.4, 0.65):
                await when(lambda s=share: tally.answered(out.records) >= s * KILL_LOAD, 900, f"{share:.0%}")
                restarts.append(await kill_and_restart(proc, out))
            await when(lambda: tally.answered(out.records) == KILL_LOAD, 900, "every command answered")
            await out.quiet(1.0)
            seconds = time.monotonic() - t0
            effects = await db["activities"].count_documents({})
        finally:
            await proc.stop()
            await db.client.drop_database(db.name)
    figures = tally.figures(out.records)
    report(
        "kill -9 activity-log",
        **figures,
        effects=effects,
        kills=proc.kills,
        seconds=seconds,
        consuming_again_after=" / ".join(f"{r:.1f}s" for r in restarts),
    )
    assert figures["lost"] == 0 and figures["doubled"] == 0
    assert effects == KILL_LOAD and proc.kills == 3


async def _count(db: AsyncIOMotorDatabase[Any], collection: str, n: int) -> bool:
    return await db[collection].count_documents({}) >= n


# --------------------------------------------------------------------------- two instances


async def two_instances(module: str, suffix: str, **settings: Any) -> tuple[ServiceProcess, ServiceProcess]:
    a = ServiceProcess(module, suffix, group_instance_id="a", **settings)
    b = ServiceProcess(module, suffix, group_instance_id="b", **settings)
    await asyncio.gather(a.start(), b.start())
    await asyncio.gather(a.wait_ready(), b.wait_ready())
    return a, b


async def kill_one_mid_way(victim: ServiceProcess, progress: Callable[[], Any], what: str) -> float:
    """SIGKILL one instance once ``progress`` holds, start it again; seconds until it is
    ready (partitions assigned: the other instance went on meanwhile)."""
    await when(progress, 600, what)
    await victim.kill()
    await asyncio.sleep(0.5)
    await victim.start()
    return await victim.wait_ready()


async def test_two_activity_logs_one_killed_mid_way_lose_and_double_nothing() -> None:
    n_commands = 1_500
    suffix = new_suffix()
    zones = [f"T{i}{suffix}" for i in range(6)]
    db = database("activity_log", suffix)
    tally = Tally({"activity.recorded", "activity.rejected"})
    async with Bus() as bus:
        out = await bus.watch(Topic.ACTIVITY_EVENTS.value)
        a, b = await two_instances("services.activity_log", suffix)
        try:
            await zone_copies(bus, db, zones)
            t0 = time.monotonic()
            items = []
            for n in range(n_commands):
                z = zones[n % len(zones)]
                command_id, value = command("activity.record", activity_data(z, n))
                # A third keyed by the activity, not the zone: re-keyed to the zone first.
                items.append((z if n % 3 else f"act-{n}", command_id, value))
            await send_all(bus, Topic.ACTIVITY_COMMANDS.value, items, tally)
            restart = await kill_one_mid_way(
                a, lambda: tally.answered(out.records) >= n_commands // 2, "half"
            )
            await when(lambda: tally.answered(out.records) == n_commands, 600, "every command answered")
            await out.quiet(1.0)
            seconds = time.monotonic() - t0
            effects = await db["activities"].count_documents({})
        finally:
            await stop_all(a, b)
            await db.client.drop_database(db.name)
    figures = tally.figures(out.records)
    report(
        "two activity-logs",
        **figures,
        effects=effects,
        kills=a.kills,
        seconds=seconds,
        restart_to_ready=restart,
    )
    assert figures["lost"] == 0 and figures["doubled"] == 0 and effects == n_commands


def establish(zone_id: str) -> dict[str, Any]:
    return {
        "zone_id": zone_id,
        "name": f"协作区 {zone_id}",
        "mode": "project_cobuild",
        "project_ids": [f"P-{zone_id}"],
        "region": "north",
        "units": [
            {"unit_id": "H1", "name": "host", "role": "host"},
            {"unit_id": "C1", "name": "builder", "role": "construction"},
            {"unit_id": "S1", "name": "supervisor", "role": "supervision"},
        ],
    }


def member(zone_id: str, n: int) -> dict[str, Any]:
    return {
        "zone_id": zone_id,
        "member_id": f"M-{n}",
        "name": f"党员{n}",
        "home_branch": "b",
        "employer_unit_id": "C1",
        "employment": "migrant_worker",
        "zone_role": "member",
    }


def small_project(project_id: str, host: str, region: str) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "name": f"维修 {project_id}",
        "category": "renovation",
        "scale": "small",
        "key_project": True,
        "region": region,
        "planned_start": "2026-04-01",
        "planned_end": "2026-06-30",
        "units": [
            {"unit_id": host, "name": "host", "role": "host"},
            {"unit_id": f"C-{project_id}", "name": "builder", "role": "construction"},
        ],
    }


async def test_two_zone_registries_one_killed_mid_way_lose_no_member_and_found_one_alliance() -> None:
    members_per_zone, n_projects = 50, 24
    suffix = new_suffix()
    zones = [f"ZC-R{i}{suffix}" for i in range(6)]
    host, region = f"H{suffix}", f"r{suffix}"
    db = database("zone_registry", suffix)
    tally = Tally({"zone.member-joined", "zone.command-rejected"})
    async with Bus() as bus:
        out = await bus.watch(Topic.ZONE_EVENTS.value)
        a, b = await two_instances("services.zone_registry", suffix)
        try:
            for z in zones:
                await bus.publish("zone.establish", establish(z), key=z)
            await when(lambda: _count(db, "zones", len(zones)), 60, "the zones")
            t0 = time.monotonic()
            items = []
            for n in range(members_per_zone):
                for i, z in enumerate(zones):
                    command_id, value = command("zone.add-member", member(z, n))
                    items.append((z if (n + i) % 2 else f"member-{n}", command_id, value))
            projects = [
                (
                    f"PR{n}{suffix}",
                    *command("project.registered", small_project(f"PR{n}{suffix}", host, region)),
                )
                for n in range(n_projects)
            ]
            await send_all(bus, Topic.ZONE_COMMANDS.value, items[: len(items) // 2], tally)
            await asyncio.gather(
                *[await bus.producer.send(Topic.PROJECTS.value, v, key=p.encode()) for p, _, v in projects]
            )
            await send_all(bus, Topic.ZONE_COMMANDS.value, items[len(items) // 2 :], tally)
            restart = await kill_one_mid_way(
                b, lambda: tally.answered(out.records) >= len(items) // 2, "half"
            )
            await when(lambda: tally.answered(out.records) == len(items), 600, "every member answered")
            alliance = await _alliance_with(db, n_projects, host, region)
            await out.quiet(1.0)
            seconds = time.monotonic() - t0
            rosters = {z["_id"]: z for z in await db["zones"].find({"_id": {"$in": zones}}).to_list(None)}
        finally:
            await stop_all(a, b)
            await db.client.drop_database(db.name)
    figures = tally.figures(out.records)
    on_roster = sum(len(z["members"]) for z in rosters.values())
    report(
        "two zone-registries",
        **figures,
        effects=on_roster,
        kills=b.kills,
        seconds=seconds,
        restart_to_ready=restart,
    )
    assert figures["lost"] == 0 and figures["doubled"] == 0
    for z in zones:
        ids = [m["member_id"] for m in rosters[z]["members"]]
        assert sorted(ids) == sorted(f"M-{n}" for n in range(members_per_zone)), z  # no lost update
        assert rosters[z]["version"] == 1 + members_per_zone  # one version per change
    assert sorted(alliance["project_ids"]) == sorted(p for p, _, _ in projects)


async def _alliance_with(db: AsyncIOMotorDatabase[Any], n: int, host: str, region: str) -> dict[str, Any]:
    """The one open alliance of the host and region, once it lists every project."""
    found: dict[str, Any] = {}

    async def complete() -> bool:
        zones = (
            await db["zones"].find({"mode": "regional_alliance", "status": {"$ne": "closed"}}).to_list(None)
        )
        mine = [z for z in zones if z.get("host_unit_id") == host]
        assert len(mine) <= 1, [z["_id"] for z in mine]  # never a second alliance beside the first
        if mine and len(mine[0]["project_ids"]) == n:
            found.update(mine[0])
            return True
        return False

    await eventually(complete, timeout=300, what="one alliance with every project")
    return found


def inspection(project: str, n: int) -> dict[str, Any]:
    return {
        "inspection_id": f"Q-{project}-{n}",
        "project_id": project,
        "procedure_code": f"W-{n}",
        "result": "fail" if n % 10 == 0 else "excellent",
        "inspected_at": (datetime(2026, 4, 2, 9, tzinfo=UTC) + timedelta(hours=n % 600)).isoformat(),
    }


async def test_two_assessments_one_killed_mid_way_close_the_month_once_with_every_fact() -> None:
    per_zone = 100
    suffix = new_suffix()
    zones = [f"ZA{i}{suffix}" for i in range(6)]
    db = database("assessment", suffix)
    tally = Tally(set())  # facts answer with nothing; the close is checked below
    async with Bus() as bus:
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
        a, b = await two_instances("services.assessment", suffix)
        try:
            await bus.publish("clock.ticked", {"now": "2026-04-01T00:00:00+08:00"}, key="clock")
            await zone_copies(bus, db, zones, timeout=60)
            t0 = time.monotonic()
            items = []
            for n in range(per_zone):
                for i, z in enumerate(zones):
                    command_id, value = command("quality.procedure-inspected", inspection(f"P-{z}", n))
                    items.append((f"P-{z}" if (n + i) % 2 else f"q-{n}", command_id, value))
            await send_all(bus, Topic.QUALITY.value, items, tally)
            restart = await kill_one_mid_way(
                a, lambda: _count(db, "facts", len(items) // 2), "half the facts"
            )
            await when(lambda: _count(db, "facts", len(items)), 600, "every fact")
            await bus.publish("clock.ticked", {"now": "2026-05-02T12:00:00+08:00"}, key="clock")
            events = await out.wait_for(
                lambda es: any(
                    e.type == "assessment.ranking-published" and suffix in str(e.data) for e in es
                ),
                timeout=120,
                what="the ranking",
            )
            await out.quiet(1.0)
            seconds = time.monotonic() - t0
            facts = await db["facts"].count_documents({})
        finally:
            await stop_all(a, b)
            await db.client.drop_database(db.name)
    events = out.events()
    computed = [e for e in events if e.type == "assessment.computed" and e.data["zone_id"] in zones]
    rankings = [e for e in events if e.type == "assessment.ranking-published" and suffix in str(e.data)]
    copies = len(computed) - len({e.id for e in computed}) + len(rankings) - len({e.id for e in rankings})
    distinct = {e.id: e for e in computed}
    per = {}
    for e in distinct.values():
        per.setdefault(e.data["zone_id"], []).append(e)
    report(
        "two assessments",
        events=len(items),
        effects=facts,
        lost=len(items) - facts,
        doubled=sum(len(v) - 1 for v in per.values()),
        redelivered_copies=copies,
        kills=a.kills,
        seconds=seconds,
        restart_to_ready=restart,
    )
    assert facts == len(items)
    assert sorted(per) == sorted(zones) and all(len(v) == 1 for v in per.values())  # once per zone
    for [e] in per.values():
        assert e.data["revision"] == 1
        assert e.data["indicators"]["quality"]["figures"]["inspected"] == per_zone  # every fact counted
    [ranking] = list({e.id: e for e in rankings}.values())
    assert sorted(r["zone_id"] for r in ranking.data["ranking"]) == sorted(zones)


# --------------------------------------------------------------------------- permit-fasttrack

# permit-fasttrack's two proofs. Against the handlers before the permits rewrite they failed (two
# instances rewrote one global agenda document: 73 and 81 of 120 escalations, and hot work never
# issued because its permits fell off the agenda). Since the rewrite (a typed Permit aggregate,
# written only from pbz.permit.work keyed by project, versioned; an open-permit entry per permit
# instead of the agenda) they pass. The plans follow GB 30871-2022 now: a lifting permit needs
# its load (10 t or more), hot work its guardian on site, briefing and ticket check before issue.


async def test_two_permit_fasttracks_escalate_each_of_120_unsigned_permits_once() -> None:
    from services.permit_fasttrack.domain import permit_id_for
    from tests.integration.permit_site import at, work
    from tests.integration.permit_site import zone as permit_zone

    suffix = new_suffix()
    zones = [(f"ZP{i}{suffix}", f"PP{i}{suffix}") for i in range(6)]
    db = database("permit_fasttrack", suffix)
    async with Bus() as bus:
        out = await bus.watch(Topic.PERMIT_EVENTS.value)
        a, b = await two_instances("services.permit_fasttrack", suffix)
        try:
            await bus.publish("clock.ticked", {"now": at(6).isoformat()}, key="clock")
            for z, p in zones:
                await bus.publish("zone.established", {"zone": permit_zone(z, p)}, key=z, time=at(6))
            await when(lambda: _count(db, "zones", len(zones)), 60, "the zone copies")
            t0 = time.monotonic()
            plans = [
                (p, work(f"W{i}-{p}", p, f"A{i}", ["lifting"], at(9), at(17), load_t=60))
                for i in range(20)
                for _, p in zones
            ]
            for p, plan in plans:
                await bus.publish("work.planned", plan, key=p, time=at(7))
            restart = await kill_one_mid_way(
                a, lambda: _count(db, "permits", len(plans) // 2), "half the permits"
            )
            await when(lambda: _count(db, "permits", len(plans)), 300, "every permit requested")
            await bus.publish("clock.ticked", {"now": at(12).isoformat()}, key="clock")
            await asyncio.sleep(2.0)
            await out.quiet(2.0)
            seconds = time.monotonic() - t0
        finally:
            await stop_all(a, b)
            await db.client.drop_database(db.name)
    breaches: dict[str, set[str]] = {}
    copies = 0
    for e in out.events("permit.sla-breached"):
        ids = breaches.setdefault(e.data["permit"]["permit_id"], set())
        copies += e.id in ids
        ids.add(e.id)
    mine = {permit_id_for(f"W{i}-{p}", "lifting") for i in range(20) for _, p in zones}
    escalated = mine & set(breaches)
    report(
        "two permit-fasttracks, 120 unsigned permits past their SLA",
        events=len(plans),
        effects=len(escalated),
        lost=len(mine - escalated),
        doubled=sum(1 for p in escalated if len(breaches[p]) > 1),
        redelivered_copies=copies,
        kills=a.kills,
        seconds=seconds,
        restart_to_ready=restart,
    )
    assert escalated == mine and all(len(breaches[p]) == 1 for p in mine)


async def test_two_permit_fasttracks_never_issue_overlapping_hot_work_in_one_area() -> None:
    """Hot work planned in five areas, four permits each with overlapping windows, every one
    signed; then the two facts they wait for arrive at once on two topics (the morning
    check-in, the gas tests), handled by two instances: one permit per area is issued, the
    others wait (simops_conflict). Each is prepared as GB 30871-2022 asks before issue (guardian
    named and on site, briefing, ticket check) and signed by its four roles, the host
    representative on site."""
    from tests.integration.permit_site import ROLES, Site, at, checkin, gas, work
    from tests.integration.permit_site import zone as permit_zone

    areas, per_area = [f"A{i}" for i in range(5)], 4
    suffix = new_suffix()
    z, p = f"ZH{suffix}", f"PH{suffix}"
    db = database("permit_fasttrack", suffix)
    async with Bus() as bus:
        out = await bus.watch(Topic.PERMIT_EVENTS.value)
        procs = await two_instances("services.permit_fasttrack", suffix)
        try:
            await bus.publish("clock.ticked", {"now": at(6).isoformat()}, key="clock")
            await bus.publish("zone.established", {"zone": permit_zone(z, p)}, key=z, time=at(6))
            await when(lambda: _count(db, "zones", 1), 60, "the zone copy")
            works = [(f"WH{area}-{i}{suffix}", area) for area in areas for i in range(per_area)]
            for w, area in works:
                await bus.publish(
                    "work.planned", work(w, p, area, ["hot_work"], at(9), at(17)), key=p, time=at(7)
                )
            await when(lambda: _count(db, "permits", len(works)), 120, "every permit requested")
            site = Site(bus, out, z, p)
            for w, area in works:
                await site.prepare(f"WP-{w}-HW", at(7, 20), area=area)
                for role in ROLES:
                    presence = area if role == "host_rep" else None
                    await site.sign(f"WP-{w}-HW", role, at(7, 30), site_presence=presence)
            await out.wait_for(
                lambda es: (
                    len({e.data["permit"]["permit_id"] for e in es if e.type == "permit.approved"})
                    == len(works)
                ),
                timeout=120,
                what="every permit approved (and blocked: no check-in, no gas test)",
            )
            await bus.publish("clock.ticked", {"now": at(8, 40).isoformat()}, key="clock")
            await asyncio.sleep(0.5)
            sends = [
                await bus.producer.send(
                    Topic.ACTIVITY_EVENTS.value,
                    command("activity.recorded", checkin(z, at(7, 40)), time=at(7, 40))[1],
                    key=z.encode(),
                )
            ]
            for i, area in enumerate(areas):
                # Each fact at its own time: a permit handled after its planned end lapses (issue 15).
                test = gas(f"G{i}{suffix}", p, area, at(8, 45))
                value = command("safety.gas-test-recorded", test, time=at(8, 45))[1]
                sends.append(await bus.producer.send(Topic.SAFETY.value, value, key=p.encode()))
            await asyncio.gather(*sends)
            # Settled: every permit issued or waiting for the one issued in its area (checked below).
            with contextlib.suppress(AssertionError):
                await out.wait_for(
                    lambda es: (
                        len({e.data["permit"]["permit_id"] for e in es if _settled(e, p)}) >= len(works)
                    ),
                    timeout=30,
                    what="every permit issued or waiting (simops_conflict)",
                )
            await out.quiet(2.0)
        finally:
            await stop_all(*procs)
            await db.client.drop_database(db.name)
    issued: dict[str, set[str]] = {}
    for e in out.events("permit.issued"):
        if e.data["permit"]["project_id"] == p:
            issued.setdefault(e.data["permit"]["area"], set()).add(e.data["permit"]["permit_id"])
    report(
        "two permit-fasttracks, hot work in five areas",
        permits=len(works),
        issued_per_area=" ".join(f"{a}:{len(issued.get(a, ()))}" for a in areas),
    )
    assert all(len(issued.get(area, ())) == 1 for area in areas), issued


def _settled(e: Any, project: str) -> bool:
    if e.data.get("permit", {}).get("project_id") != project:
        return False
    return e.type == "permit.issued" or (
        e.type == "permit.blocked" and e.data["reasons"] == ["simops_conflict"]
    )


# --------------------------------------------------------------------------- a broker of three

INFRA = ROOT / "deploy" / "local" / "infra.sh"


async def infra(*args: str, offset: int) -> None:
    env = {**os.environ, "PBZ_PORT_OFFSET": str(offset)}
    proc = await asyncio.create_subprocess_exec(
        "bash",
        str(INFRA),
        *args,
        "--brokers",
        "3",
        "--kafka-only",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    print(out.decode().rstrip())
    assert proc.returncode == 0, f"infra.sh {' '.join(args)} failed"


async def test_a_broker_of_three_killed_mid_load_and_restarted_loses_nothing() -> None:
    """Three brokers (replication 3, min.insync.replicas 2) on ports of their own beside the
    one-node Kafka; activity-log on them; one broker SIGKILLed mid-load, restarted later."""
    n_commands = 2_000
    offset = ServiceSettings().port_offset + 40
    cluster = ",".join(f"127.0.0.1:{9092 + offset + 2 * i}" for i in range(3))
    suffix = new_suffix()
    zones = [f"B{i}{suffix}" for i in range(6)]
    db = database("activity_log", suffix)
    tally = Tally({"activity.recorded", "activity.rejected"})
    await infra("up", offset=offset)
    try:
        proc = ServiceProcess("services.activity_log", suffix, kafka=cluster, topic_replication=3)
        async with Bus(cluster) as bus:
            out = await bus.watch(Topic.ACTIVITY_EVENTS.value)
            try:
                await proc.start()
                await proc.wait_ready()
                await zone_copies(bus, db, zones, timeout=60)
                t0 = time.monotonic()
                items = activity_records(zones, n_commands)
                sender = asyncio.create_task(send_all(bus, Topic.ACTIVITY_COMMANDS.value, items, tally))
                await when(lambda: tally.answered(out.records) >= n_commands // 4, 600, "a quarter")
                await infra("stop-broker", "2", "--kill", offset=offset)
                killed_at = tally.answered(out.records)
                await when(
                    lambda: tally.answered(out.records) >= killed_at + n_commands // 4, 600, "on two brokers"
                )
                await infra("start-broker", "2", offset=offset)
                await sender
                await when(lambda: tally.answered(out.records) == n_commands, 600, "every command answered")
                await out.quiet(1.0)
                seconds = time.monotonic() - t0
                effects = await db["activities"].count_documents({})
            finally:
                await proc.stop()
                await db.client.drop_database(db.name)
    finally:
        await infra("down", offset=offset)
        await infra("clean", offset=offset)
    figures = tally.figures(out.records)
    report(
        "a broker of three killed",
        **figures,
        effects=effects,
        broker_kills=1,
        seconds=seconds,
        answered_on_two_brokers=n_commands // 4,
    )
    assert figures["lost"] == 0 and figures["doubled"] == 0 and effects == n_commands
