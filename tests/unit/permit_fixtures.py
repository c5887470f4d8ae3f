"""Permits in every state, built through their own transitions (no Kafka, no Mongo)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.permit_fasttrack.domain import (
    Act,
    Facts,
    GasReading,
    People,
    Permit,
    Rules,
    classes_of,
    permit_id_for,
)
from shared.actor import Actor, AuthType
from shared.events.catalog import WorkPlanned

TZ = ZoneInfo("Asia/Shanghai")
R = Rules()
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
    "M-L": "H1",
    "M-X": "C1",
    "M-K": "H1",
    "M-W": "C1",
}


def at(hh: int, mm: int = 0, days: int = 0) -> datetime:
    """Times on Tuesday 2026-04-07 (a workday, not a holiday)."""
    return datetime(2026, 4, 7, tzinfo=TZ) + timedelta(days=days, hours=hh, minutes=mm)


def member(member_id: str, role: str) -> dict[str, Any]:
    return {"member_id": member_id, "zone_role": role, "employer_unit_id": EMPLOYER.get(member_id, "C1")}


def zone(
    zone_id: str = "Z",
    status: str = "active",
    systems: list[str] | None = None,
    extra: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "zone_id": zone_id,
        "host_unit_id": "H1",
        "status": status,
        "project_ids": ["P"],
        "systems": systems if systems is not None else ["contractor_safety", "subcontractor_safety"],
        "units": [
            {"unit_id": "H1", "role": "host"},
            {"unit_id": "C1", "role": "construction"},
            {"unit_id": "S1", "role": "supervision"},
            {"unit_id": "M1", "role": "management"},
            {"unit_id": "B1", "role": "subcontractor"},
        ],
        "members": [member(m, r) for r, m in ROLES.items()]
        + [
            member("M-G", "member"),
            member("M-G2", "member"),
            member("M-L", "member"),
            member("M-X", "member"),
            member("M-K", "secretary"),
        ]
        + (extra or []),
    }


REGISTER = {
    "M-E": {"roles": ["enterprise_leader"], "certificates": []},
    "M-SD": {"roles": ["safety_department"], "certificates": []},
    "M-PM": {"unit_id": "H1", "roles": ["plant_manager"], "certificates": []},
    "M-PD": {
        "unit_id": "H1",
        "roles": ["professional_department"],
        "certificates": [{"certificate_id": "c", "kind": "special_operation", "expires_on": "2027-12-31"}],
    },
    "M-OLD": {
        "unit_id": "H1",
        "roles": ["professional_department"],
        "certificates": [{"certificate_id": "c", "kind": "special_operation", "expires_on": "2026-03-31"}],
    },
    "M-PS": {"unit_id": "H1", "roles": ["power_supply_unit"], "certificates": []},
}


def people(z: dict[str, Any] | None = None) -> People:
    return People(zone=zone() if z is None else z, register=dict(REGISTER), tz=TZ)


def plan(
    risks: list[str],
    start: datetime | None = None,
    end: datetime | None = None,
    work_id: str = "W1",
    area: str = "A",
    **extra: Any,
) -> WorkPlanned:
    return WorkPlanned(
        work_id=work_id,
        project_id="P",
        title="作业",
        area=area,
        risk_types=risks,
        contractor_unit_id="C1",
        planned_start=start or at(9),
        planned_end=end or at(17),
        **extra,
    )


def act(
    member_id: str,
    command: str = "permit.sign",
    when: datetime | None = None,
    actor: str | None = "",
    roles: tuple[str, ...] = ("zone_member",),
) -> Act:
    """``actor=""`` (default): the member themself; ``None``: no actor; else that person."""
    who = member_id if actor == "" else actor
    a = None if who is None else Actor(type=AuthType.USER, id=who, roles=frozenset(roles))
    return Act(command_id="cmd", command_type=command, member_id=member_id, actor=a, at=when or at(7, 30))


def reading(when: datetime, test_id: str = "G", area: str = "A", **values: Any) -> GasReading:
    return GasReading(
        test_id=test_id,
        area=area,
        tested_at=when,
        **{"o2_pct": 20.9, "lel_pct": 0.0, "h2s_mg_m3": 0.0, **values},
    )


def requested(risks: list[str] | None = None, z: dict[str, Any] | None = None, **plan_extra: Any) -> Permit:
    p = plan(["hot_work"] if risks is None else risks, **plan_extra)
    first = classes_of(p, R)[0]
    ids = [permit_id_for(p.work_id, c) for c in classes_of(p, R)]
    permit = Permit.for_work(str(first), p, ids, at(7), R, TZ)
    permit.request("pm-system", at(7), people(z))
    return permit


def signed(permit: Permit, when: datetime | None = None) -> Permit:
    """Every required role approves (on site where the role must be)."""
    register_signer = {
        "enterprise_leader": "M-E",
        "safety_department": "M-SD",
        "plant_manager": "M-PM",
        "professional_department": "M-PD",
        "power_supply_unit": "M-PS",
    }
    for role in permit.required_roles:
        if role in permit.signed_roles():
            continue
        who = ROLES.get(role) or register_signer[role]
        assert permit.sign(
            act(who, when=when), role, "approve", None, when or at(7, 30), permit.area, people()
        ), role
    return permit


def prepared(permit: Permit, when: datetime | None = None, guardian: str = "M-G") -> Permit:
    """Guardian named and on site, briefing, ticket check (special work only)."""
    w = when or at(7, 20)
    if permit.work_class == "general":
        return permit
    assert permit.name_guardian(act("M-C", "permit.name-guardian", w), guardian, people())
    assert permit.check_in(act(guardian, "permit.check-in", w), permit.area)
    assert permit.brief(act("M-H", "permit.brief", w), guardian, None, people())
    assert permit.check_ticket(act("M-L", "permit.check-ticket", w), permit.area, people())
    return permit


def facts(z: dict[str, Any] | None = None, checkin: bool = True, **kw: Any) -> Facts:
    return Facts(people=people(z), morning_checkin=checkin, tz=TZ, **kw)


def issued(
    risks: list[str] | None = None,
    gas_at: datetime | None = None,
    when: datetime | None = None,
    **plan_extra: Any,
) -> Permit:
    """Issued at 08:50 (or ``when``) with a passing test 5 minutes before (work 09:00–17:00)."""
    check = when or at(8, 50)
    p = prepared(signed(requested(risks, **plan_extra)))
    if p.needs_gas():
        p.gas_test(reading(gas_at or check - timedelta(minutes=5)), check, R)
    p.evaluate(facts(), check, R)
    assert p.status == "issued", (p.blocked_reasons, p.blocked_details)
    p.drain()
    return p


def types(permit: Permit) -> list[str]:
    return [c.type for c in permit.drain()]


def last_refusal(permit: Permit) -> list[str]:
    return [c for c in permit.drain() if c.type == "permit.command-rejected"][-1].data["reasons"]
