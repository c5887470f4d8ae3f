"""The old route, played (issue 19): a twin of the month's work plans signed the way the zones
replaced — construction unit safety officer → general contractor's safety officer → its engineer
→ its manager → supervision → owner, each at a desk, each only after the one before, in office
hours — through the same services, in zones configured ``signing: sequential``. Pure.

How the twin is made, stated once:
- Each planned zone has a twin zone (``seq-<zone key>``), established by the party office with
  ``signing: sequential`` over twin projects (``<project id>-SEQ``) registered as *non-key*
  projects, so the twin never counts in the coverage of key projects. Its roster is its own
  people (new member ids after the world's, all staff): a secretary and host representative of
  the host unit, a work lead and two guardians of the construction unit, and the six office
  holders, each employed by the unit their office belongs to.
- Each work of the month has a twin work (``SQ-<work id>``) on the twin project, planned at the
  same moment with the same risks, classes, heights, loads and isolation, in its own area (the
  twin measures the signing route, not site conflicts). Its planned window stays open
  ``TWIN_WINDOW_DAYS`` from the planned start: on the old route the crew starts when the paper
  comes back, so the permit is not let lapse on the day it was asked for. Its hot work grade may
  therefore be one up (the window touches nights and rest days); grades of the twin are not
  compared.
- On site the twin crew does what the zone's crew does: a morning check-in each working day, the
  guardian, briefing and ticket check when first asked, a gas test once the owner has signed
  (the work starts when the paper is back), completion half an hour after the issue.
- A person at a desk reacts after a delay drawn from the simulator's seeded randomness
  (``DESK_DELAY_MINUTES`` of office time), counted in office hours (08:30–17:30, Monday to
  Friday, public holidays off): the permit-fasttrack's defaults, which the simulator knows as
  anybody on site knows the offices' hours.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any

from .works import HOLIDAYS, Work
from .world import GIVEN, SURNAMES, Person, PlannedZone, Project, World

OFFICES: tuple[str, ...] = (
    "construction_safety_officer",
    "contractor_safety_officer",
    "contractor_engineer",
    "contractor_manager",
    "supervision",
    "owner",
)
OFFICE_UNIT = {
    "construction_safety_officer": "construction",
    "contractor_safety_officer": "construction",
    "contractor_engineer": "construction",
    "contractor_manager": "construction",
    "supervision": "supervision",
    "owner": "management",
}
OFFICE_OPENS, OFFICE_CLOSES = time(8, 30), time(17, 30)
REST_WEEKDAYS = frozenset({5, 6})
DESK_DELAY_MINUTES = (20, 240)
TWIN_WINDOW_DAYS = 14
TWIN_PROJECT_SUFFIX = "-SEQ"
TWIN_WORK_PREFIX = "SQ-"
# How long after the month the clock may run for the twin's permits still at a desk.
TWIN_TAIL_DAYS = 12


def twin_key(zone_key: str) -> str:
    return f"seq-{zone_key}"


def twin_zone_id(zone_key: str) -> str:
    return f"ZSEQ-{zone_key}"


def is_twin_permit(permit_id: str) -> bool:
    return permit_id.startswith(f"WP-{TWIN_WORK_PREFIX}")


# --------------------------------------------------------------------------- office hours


def office_day(d: date) -> bool:
    return d.weekday() not in REST_WEEKDAYS and d not in HOLIDAYS


def next_opening(at: datetime) -> datetime:
    """``at`` itself when the offices are open, else when they next open."""
    local = at
    if office_day(local.date()) and OFFICE_OPENS <= local.timetz().replace(tzinfo=None) < OFFICE_CLOSES:
        return at
    day = (
        local.date()
        if local.timetz().replace(tzinfo=None) < OFFICE_OPENS
        else local.date() + timedelta(days=1)
    )
    while not office_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, OFFICE_OPENS, at.tzinfo)


def desk_time(asked: datetime, minutes: int) -> datetime:
    """When a person at a desk, asked at ``asked``, signs after ``minutes`` of office time
    (the work waits overnight and over rest days and holidays, and is signed before closing)."""
    t = next_opening(asked)
    left = timedelta(minutes=minutes)
    while True:
        closes = datetime.combine(t.date(), OFFICE_CLOSES, t.tzinfo)
        if t + left < closes:
            return t + left
        left -= closes - t
        t = next_opening(closes)


# --------------------------------------------------------------------------- the twin world


def build_twins(world: World, first_member: int) -> list[PlannedZone]:
    """One twin zone per planned zone, with its own people (member ids from ``first_member``)."""
    rng = random.Random(world.seed * 6151 + 17)
    seq = iter(range(first_member, first_member + 100_000))
    twins = []
    for z in world.zones:

        def person(unit_id: str, role: str, unit_name: str) -> Person:
            n = next(seq)
            name = rng.choice(SURNAMES) + rng.choice(GIVEN)
            return Person(f"MB{n:04d}", name, f"{unit_name}党支部", unit_id, "staff", role, f"139{n:08d}")

        by_kind = {"construction": z.construction, "supervision": z.supervision, "management": z.management}
        people = [
            person(z.host.unit_id, "secretary", z.host.name),
            person(z.host.unit_id, "host_rep", z.host.name),
            person(z.construction.unit_id, "construction_lead", z.construction.name),
            person(z.construction.unit_id, "member", z.construction.name),  # the guardians
            person(z.construction.unit_id, "member", z.construction.name),
            *(person(by_kind[OFFICE_UNIT[o]].unit_id, o, by_kind[OFFICE_UNIT[o]].name) for o in OFFICES),
        ]
        projects = [twin_project(p) for p in z.projects]
        twins.append(
            PlannedZone(
                twin_key(z.key),
                z.mode,
                z.host,
                z.region,
                projects,
                z.construction,
                z.supervision,
                z.management,
                z.subcontractors,
                people=people,
            )
        )
    return twins


def twin_project(p: Project) -> Project:
    return replace(
        p,
        project_id=p.project_id + TWIN_PROJECT_SUFFIX,
        name=f"{p.name}（顺序会签对照）",
        key_project=False,
        units=list(p.units),
    )


def twin_work(w: Work, twin: PlannedZone) -> Work:
    """The same work on the twin project, planned at the same moment, in its own area."""
    area = f"{w.area}{TWIN_PROJECT_SUFFIX}"
    location = None
    if w.location:
        location = {k: v for k, v in w.location.items() if k not in ("x_m", "y_m", "pipeline_id")}
        location["area"] = area
    return Work(
        work_id=TWIN_WORK_PREFIX + w.work_id,
        zone_key=twin.key,
        project_id=w.project_id + TWIN_PROJECT_SUFFIX,
        area=area,
        risk_types=list(w.risk_types),
        contractor_unit_id=w.contractor_unit_id,
        planned_at=w.planned_at,
        planned_start=w.planned_start,
        planned_end=w.planned_start + timedelta(days=TWIN_WINDOW_DAYS),
        close_at=w.planned_at,  # completed half an hour after the issue (``Player._complete``)
        height_m=w.height_m,
        load_t=w.load_t,
        location=location,
        isolation_kind=w.isolation_kind,
        guardian_in_plan=twin.guardians[0].member_id if w.guardian_in_plan else None,
        scenario=True,
    )


def establish_data(twin: PlannedZone, zone_key: str) -> dict[str, Any]:
    units = [twin.host, twin.construction, twin.supervision, twin.management, *twin.subcontractors]
    return {
        "zone_id": twin_zone_id(zone_key),
        "name": f"{twin.projects[0].name.removesuffix('（顺序会签对照）')} 顺序会签对照区",
        "mode": twin.mode,
        "project_ids": [p.project_id for p in twin.projects],
        "region": twin.region,
        "units": [u.as_event() for u in units],
        "signing": "sequential",
    }


def next_office(signed: set[str]) -> str | None:
    return next((o for o in OFFICES if o not in signed), None)
