"""A site for permit-fasttrack integration tests: a zone whose roster holds each role with the
right employer, work plans, gas tests, check-ins, and people acting on permits with their actor
stamped on each command (the CloudEvents authcontext, as the HTTP layer does from a token)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.actor import Actor, AuthType
from shared.events import CloudEvent
from tests.support import Bus, Watcher

TZ = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 4, 7, tzinfo=TZ)  # a Tuesday, not a holiday
ROLES = {
    "host_rep": "M-H",
    "construction_lead": "M-C",
    "supervision_engineer": "M-S",
    "management_safety": "M-M",
}
EMPLOYER = {
    "M-H": "H1",
    "M-C": "C1",
    "M-S": "S1",
    "M-M": "M1",
    "M-G": "C1",
    "M-G2": "C1",
    "M-X": "C1",
    "M-L": "H1",
    "M-K": "C1",
}
GUARDIAN = "M-G"
SHIFT_LEADER = "M-L"  # a host-unit operator: the ticket check


def at(hh: int, mm: int = 0, days: int = 0) -> datetime:
    return DAY + timedelta(days=days, hours=hh, minutes=mm)


def tag() -> str:
    return uuid.uuid4().hex[:6]


def member(member_id: str, role: str, employment: str = "staff") -> dict[str, Any]:
    return {
        "member_id": member_id,
        "name": member_id,
        "home_branch": "b",
        "employer_unit_id": EMPLOYER.get(member_id, "C1"),
        "employment": employment,
        "zone_role": role,
    }


def zone(
    zone_id: str,
    projects: list[str] | str,
    status: str = "active",
    systems: list[str] | None = None,
    members: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "zone_id": zone_id,
        "name": f"协作区{zone_id}",
        "mode": "project_cobuild",
        "status": status,
        "region": "北区",
        "host_unit_id": "H1",
        "project_ids": [projects] if isinstance(projects, str) else projects,
        "units": [
            {"unit_id": "H1", "name": "采油一厂", "role": "host"},
            {"unit_id": "C1", "name": "油建一公司", "role": "construction"},
            {"unit_id": "S1", "name": "监理一公司", "role": "supervision"},
            {"unit_id": "M1", "name": "基建工程管理中心", "role": "management"},
            {"unit_id": "B1", "name": "劳务分包队", "role": "subcontractor"},
        ],
        "systems": systems
        if systems is not None
        else ["contractor_safety", "subcontractor_safety", "daily_checkin"],
        "members": members
        if members is not None
        else [member(m, role) for role, m in ROLES.items()]
        + [
            member(GUARDIAN, "member", "dispatched"),
            member("M-G2", "member", "migrant_worker"),
            member(SHIFT_LEADER, "member"),
            member("M-X", "member"),
            member("M-K", "secretary"),
        ],
        "established_at": "2026-04-01T00:00:00+08:00",
    }


def work(
    work_id: str, project: str, area: str, risks: list[str], start: datetime, end: datetime, **extra: Any
) -> dict[str, Any]:
    return {
        "work_id": work_id,
        "project_id": project,
        "title": "动火作业",
        "area": area,
        "risk_types": risks,
        "contractor_unit_id": "C1",
        "planned_start": start.isoformat(),
        "planned_end": end.isoformat(),
        **extra,
    }


def gas(
    test_id: str, project: str, area: str, when: datetime, lel: float = 0.0, **extra: Any
) -> dict[str, Any]:
    return {
        "test_id": test_id,
        "project_id": project,
        "area": area,
        "tested_at": when.isoformat(),
        "o2_pct": 20.9,
        "lel_pct": lel,
        "h2s_mg_m3": 0.0,
        **extra,
    }


def checkin(zone_id: str, when: datetime) -> dict[str, Any]:
    return {
        "activity_id": f"A-{zone_id}-{when.isoformat()}",
        "zone_id": zone_id,
        "kind": "daily_checkin",
        "slot": "morning",
        "started_at": when.isoformat(),
        "ended_at": (when + timedelta(minutes=15)).isoformat(),
        "location": "现场",
        "topic": "早碰头",
        "organizer_member_id": "M-H",
        "attendee_member_ids": ["M-H"],
    }


def of(events: list[CloudEvent], permit_id: str, event_type: str) -> list[CloudEvent]:
    return [
        e for e in events if e.type == event_type and e.data.get("permit", {}).get("permit_id") == permit_id
    ]


def refusals(events: list[CloudEvent], permit_id: str | None = None) -> list[list[str]]:
    return [
        e.data["reasons"]
        for e in events
        if e.type == "permit.command-rejected" and (permit_id is None or e.data["permit_id"] == permit_id)
    ]


def blocks_after_approval(events: list[CloudEvent], permit_id: str) -> list[list[str]]:
    """Reasons of each block after the permit was approved."""
    mine = [e for e in events if e.data.get("permit", {}).get("permit_id") == permit_id]
    approved = next((i for i, e in enumerate(mine) if e.type == "permit.approved"), None)
    if approved is None:
        return []
    return [e.data["reasons"] for e in mine[approved:] if e.type == "permit.blocked"]


def person(member_id: str, *roles: str) -> Actor:
    return Actor(type=AuthType.USER, id=member_id, roles=frozenset(roles or ("zone_member",)))


class Site:
    def __init__(self, bus: Bus, out: Watcher, zone_id: str, project: str, area: str = "A") -> None:
        self.bus, self.out, self.zone_id, self.project, self.area = bus, out, zone_id, project, area

    async def tick(self, when: datetime) -> None:
        await self.bus.publish("clock.ticked", {"now": when.isoformat()}, key="clock", time=when)

    async def command(
        self,
        event_type: str,
        data: dict[str, Any],
        when: datetime,
        actor: str | None = None,
        as_member: str | None = None,
    ) -> CloudEvent:
        """A command as a person on site sends it: ``actor`` (default: the member it names) is
        stamped in the authcontext; ``actor=""`` sends none."""
        who = data.get("member_id") if actor is None else actor
        return await self.bus.publish(
            event_type, data, key=self.zone_id, time=when, actor=person(who) if who else None
        )

    async def sign(
        self,
        permit_id: str,
        role: str,
        when: datetime,
        member_id: str | None = None,
        decision: str = "approve",
        actor: str | None = None,
        **extra: Any,
    ) -> CloudEvent:
        data = {
            "permit_id": permit_id,
            "member_id": member_id or ROLES.get(role, role),
            "role": role,
            "decision": decision,
            "signed_at": when.isoformat(),
            **extra,
        }
        if role == "host_rep" and "site_presence" not in extra:
            data["site_presence"] = self.area  # the unit where the work is approves on site
        return await self.command("permit.sign", data, when, actor)

    async def sign_all(self, permit_id: str, when: datetime, roles: list[str]) -> None:
        for role in roles:
            await self.sign(permit_id, role, when)

    async def prepare(
        self, permit_id: str, when: datetime, guardian: str = GUARDIAN, area: str | None = None
    ) -> None:
        """Guardian named and on site, the briefing given, the ticket checked (GB 30871-2022)."""
        where = area or self.area
        p = {"permit_id": permit_id}
        await self.command(
            "permit.name-guardian",
            {**p, "member_id": "M-C", "guardian_member_id": guardian, "named_at": when.isoformat()},
            when,
        )
        await self.command(
            "permit.check-in",
            {**p, "member_id": guardian, "site_presence": where, "checked_in_at": when.isoformat()},
            when,
        )
        await self.command(
            "permit.brief",
            {**p, "member_id": "M-H", "receiver_member_id": guardian, "briefed_at": when.isoformat()},
            when,
        )
        await self.command(
            "permit.check-ticket",
            {**p, "member_id": SHIFT_LEADER, "site_presence": where, "checked_at": when.isoformat()},
            when,
        )

    async def wait(self, permit_id: str, event_type: str, n: int = 1) -> list[CloudEvent]:
        return await self.out.wait_for(
            lambda es: len(of(es, permit_id, event_type)) >= n, what=f"{event_type} of {permit_id}"
        )

    async def wait_for(self, predicate: Any, what: str) -> list[CloudEvent]:
        return await self.out.wait_for(predicate, what=what)

    async def wait_reading(self, permit_id: str, test_id: str) -> None:
        """Until a gas test has reached the permit (a fact travels: its topic, then the permit's)."""
        await self.out.wait_for(
            lambda es: any(
                e.type == "permit.updated"
                and e.data["change"] == "gas_reading"
                and e.data["permit"]["permit_id"] == permit_id
                and e.data["detail"]["test_id"] == test_id
                for e in es
            ),
            what=f"{test_id} on {permit_id}",
        )

    async def wait_refusals(self, permit_id: str, n: int) -> list[list[str]]:
        events = await self.out.wait_for(
            lambda es: len(refusals(es, permit_id)) >= n, what=f"{n} refusals of {permit_id}"
        )
        return refusals(events, permit_id)

    async def start(self, rt: Any, when: datetime, z: dict[str, Any] | None = None) -> None:
        """The clock set, the zone announced (and copied), the morning check-in held."""
        from tests.support import stored

        await self.tick(when)
        await self.bus.publish(
            "zone.established", {"zone": z or zone(self.zone_id, self.project)}, key=self.zone_id, time=when
        )
        await stored(rt, "zones", self.zone_id)
        await self.bus.publish("activity.recorded", checkin(self.zone_id, when), key=self.zone_id, time=when)
        await stored(rt, "checkins", f"{self.zone_id}|{when.date().isoformat()}")

    async def plan(
        self,
        work_id: str,
        risks: list[str],
        start: datetime,
        end: datetime,
        when: datetime,
        area: str | None = None,
        **extra: Any,
    ) -> CloudEvent:
        return await self.bus.publish(
            "work.planned",
            work(work_id, self.project, area or self.area, risks, start, end, **extra),
            key=self.project,
            time=when,
        )

    async def issue(
        self,
        permit_id: str,
        when: datetime,
        gas_at: datetime | None = None,
        area: str | None = None,
        roles: list[str] | None = None,
    ) -> CloudEvent:
        """Prepare, test the gas where needed, sign every role; the permit's ``permit.issued``."""
        where = area or self.area
        requested = await self.out.wait_for(
            lambda es: bool(of(es, permit_id, "permit.requested")), what=f"{permit_id} requested"
        )
        snapshot = of(requested, permit_id, "permit.requested")[0].data["permit"]
        if snapshot.get("work_class") != "general":
            await self.prepare(permit_id, when, area=where)
        if snapshot.get("work_class") in ("hot_work", "confined_space"):
            test_id = f"G-{permit_id}-{(gas_at or when).strftime('%d%H%M')}"
            await self.bus.publish(
                "safety.gas-test-recorded",
                gas(test_id, self.project, where, gas_at or when),
                key=self.project,
                time=gas_at or when,
            )
            await self.wait_reading(permit_id, test_id)
        high_risk = snapshot.get("work_class") in ("hot_work", "confined_space", "lifting", "blind_plate")
        for role in roles or (list(ROLES) if high_risk else list(ROLES)[:3]):
            await self.sign(permit_id, role, when, site_presence=where if role == "host_rep" else None)
        events = await self.wait(permit_id, "permit.issued")
        return of(events, permit_id, "permit.issued")[-1]
