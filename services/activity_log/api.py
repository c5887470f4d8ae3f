"""Activity-log HTTP: activities, cadence compliance, problems, attendance; recording activities.

Every route needs a bearer token. A zone's records are read by the party office and the
zone's own members; a member's attendance by the party office, the member, and the
secretary of a zone holding them — each such read in the access log."""

from __future__ import annotations

import statistics
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from shared import zone_copy
from shared.auth import PrincipalDep, log_access, refuse, require
from shared.events.catalog import (
    PERIOD_ORG,
    PERIOD_YEAR,
    ActivityKind,
    ActivityRecord,
    ActivityRequestLeave,
    AttendanceStatus,
    Cadence,
    HttpReason,
    MemberStanding,
    OrgLifeRule,
)
from shared.periods import QUERY_PERIOD_MONTH, month_of
from shared.service import CommandAccepted, DbDep, IdempotencyKey, RuntimeDep, accept

from . import attendance as attendance_rules
from . import domain, organisational_life, store
from .handlers import org_life_results, org_result_doc

router = APIRouter(tags=["activity-log"])
readers = [Depends(require("party_office", "hse", "zone_member"))]
Period = Annotated[str, Query(pattern=QUERY_PERIOD_MONTH, description="YYYY-MM")]


class Rule(BaseModel):
    rule: str
    required: int
    actual: int
    met: bool


class ZoneCompliance(BaseModel):
    zone_id: str
    period: str
    closed: bool = Field(description="True once the month was closed and evaluated; else as it stands")
    rules: list[Rule]


class Compliance(BaseModel):
    period: str
    zones: list[ZoneCompliance]


class Activity(BaseModel):
    activity_id: str
    zone_id: str
    kind: str
    slot: str | None = None
    started_at: datetime
    ended_at: datetime
    location: str
    topic: str
    organizer_member_id: str
    attendee_member_ids: list[str]


class ActivityPage(BaseModel):
    items: list[Activity]
    total: int
    page: int
    page_size: int


class ProblemView(BaseModel):
    problem_id: str
    title: str
    raised_at: datetime
    resolved_at: datetime | None
    hours_to_resolve: float | None


class Problems(BaseModel):
    zone_id: str
    open: list[ProblemView]
    resolved: list[ProblemView]


class Attendance(BaseModel):
    member_id: str
    activities: int = Field(description="Activities the member attended")
    by_kind: dict[str, int]
    expected: int = Field(0, description="Activities the member was expected at (on the roster that day)")
    present: int = 0
    on_leave: int = Field(0, description="Excused by a leave (请假) recorded before the start")
    absent: int = 0
    rate: float | None = Field(None, description="present / expected; null when never expected")


class Stats(BaseModel):
    activities: int
    activities_by_kind: dict[str, int]
    rejected: int
    problems_raised: int
    problems_resolved: int
    median_hours_to_resolve: float | None


class Problem(BaseModel):
    detail: str


async def _zone_compliance(runtime: Any, zone: dict[str, Any], period: str) -> ZoneCompliance | None:
    db = runtime.db
    done = await db[store.EVALUATIONS].find_one({"_id": store.evaluation_id(zone["_id"], period)})
    if done is not None:
        return ZoneCompliance(
            zone_id=zone["_id"], period=period, closed=True, rules=[Rule(**r) for r in done["rules"]]
        )
    today = runtime.clock.now().date()
    windows = domain.windows_from_doc(zone.get("windows", []))
    req = runtime.settings.requirements(zone["_id"])
    results = domain.evaluate(
        period,
        windows,
        await store.activities_of(db, zone["_id"], period),
        runtime.clock.tz,
        req,
        until=today,
    )
    if not results:
        return None
    return ZoneCompliance(
        zone_id=zone["_id"], period=period, closed=False, rules=[Rule(**r.as_dict()) for r in results]
    )


@router.get("/zones/{zone_id}/compliance", response_model=ZoneCompliance, responses={404: {"model": Problem}})
async def zone_compliance(
    zone_id: str, runtime: RuntimeDep, principal: PrincipalDep, period: Period | None = None
) -> ZoneCompliance:
    """Each cadence rule of the zone: required, actual, met — evaluated for a closed month, as it stands for the running one."""
    zone = await zone_copy.readable(runtime.db, zone_id, principal)
    period = period or month_of(runtime.clock.now())
    found = await _zone_compliance(runtime, zone, period)
    return found or ZoneCompliance(zone_id=zone_id, period=period, closed=False, rules=[])


@router.get("/compliance", response_model=Compliance, dependencies=[Depends(require("party_office"))])
async def compliance(runtime: RuntimeDep, period: Period | None = None) -> Compliance:
    """Every zone active in the month, with its rules."""
    period = period or month_of(runtime.clock.now())
    out = []
    for zone in await store.zones(runtime.db):
        found = await _zone_compliance(runtime, zone, period)
        if found is not None:
            out.append(found)
    return Compliance(period=period, zones=out)


@router.get("/zones/{zone_id}/activities", response_model=ActivityPage, responses={404: {"model": Problem}})
async def zone_activities(
    zone_id: str,
    db: DbDep,
    principal: PrincipalDep,
    kind: ActivityKind | None = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ActivityPage:
    """The zone's activities with who attended (an attendance read: in the access log)."""
    await zone_copy.readable(db, zone_id, principal)
    log_access(principal, "zone_activities_read", zone_id=zone_id)
    query: dict[str, Any] = {"zone_id": zone_id}
    if kind is not None:
        query["kind"] = kind.value
    if date_from is not None or date_to is not None:
        query["local_date"] = {
            **({"$gte": date_from.isoformat()} if date_from else {}),
            **({"$lte": date_to.isoformat()} if date_to else {}),
        }
    total = await db[store.ACTIVITIES].count_documents(query)
    docs = (
        await db[store.ACTIVITIES]
        .find(query)
        .sort("started_at", 1)
        .skip((page - 1) * page_size)
        .limit(page_size)
        .to_list(None)
    )
    items = [
        Activity(activity_id=d["_id"], **{k: v for k, v in d.items() if k in Activity.model_fields})
        for d in docs
    ]
    return ActivityPage(items=items, total=total, page=page, page_size=page_size)


def _problem(doc: dict[str, Any]) -> ProblemView:
    hours = None
    if doc.get("resolved_at") is not None:
        hours = round((doc["resolved_at"] - doc["raised_at"]).total_seconds() / 3600, 2)
    return ProblemView(
        problem_id=doc["_id"],
        title=doc["title"],
        raised_at=doc["raised_at"],
        resolved_at=doc.get("resolved_at"),
        hours_to_resolve=hours,
    )


@router.get("/zones/{zone_id}/problems", response_model=Problems, responses={404: {"model": Problem}})
async def zone_problems(zone_id: str, db: DbDep, principal: PrincipalDep) -> Problems:
    await zone_copy.readable(db, zone_id, principal)
    docs = await db[store.PROBLEMS].find({"zone_id": zone_id}).sort("raised_at", 1).to_list(None)
    views = [_problem(d) for d in docs]
    return Problems(
        zone_id=zone_id,
        open=[p for p in views if p.resolved_at is None],
        resolved=[p for p in views if p.resolved_at is not None],
    )


@router.get("/members/{member_id}/attendance", response_model=Attendance)
async def attendance(member_id: str, db: DbDep, principal: PrincipalDep) -> Attendance:
    """How often a member attended, by kind: the party office, the member, or the secretary
    of a zone holding them (in the access log)."""
    if not (
        principal.has("party_office")
        or principal.subject == member_id
        or await store.secretary_of_member(db, principal.subject, member_id)
    ):
        raise refuse(
            HttpReason.NOT_OWN_RECORD,
            "a member's attendance is theirs, their secretary's and the party office's",
        )
    log_access(principal, "attendance_read", member_id=member_id)
    docs = await store.attendance_of(db, member_id)
    attended = [d for d in docs if member_id in d.get("attendee_member_ids", [])]
    by_kind: dict[str, int] = {}
    for d in attended:
        by_kind[d["kind"]] = by_kind.get(d["kind"], 0) + 1
    counts = {s: 0 for s in AttendanceStatus}
    for d in docs:
        for row in d.get("attendance", []):
            if row["member_id"] == member_id:
                counts[AttendanceStatus(row["status"])] += 1
    record = attendance_rules.MemberAttendance(
        member_id,
        counts[AttendanceStatus.PRESENT],
        counts[AttendanceStatus.ON_LEAVE],
        counts[AttendanceStatus.ABSENT],
    )
    return Attendance(
        member_id=member_id,
        activities=len(attended),
        by_kind=by_kind,
        expected=record.expected,
        present=record.present,
        on_leave=record.on_leave,
        absent=record.absent,
        rate=record.rate,
    )


@router.get("/stats", response_model=Stats, dependencies=readers)
async def stats(db: DbDep) -> Stats:
    kinds = await db[store.ACTIVITIES].find({}, {"kind": 1}).to_list(None)
    by_kind: dict[str, int] = {}
    for d in kinds:
        by_kind[d["kind"]] = by_kind.get(d["kind"], 0) + 1
    problems = [_problem(p) for p in await db[store.PROBLEMS].find({}).to_list(None)]
    hours = [p.hours_to_resolve for p in problems if p.hours_to_resolve is not None]
    return Stats(
        activities=len(kinds),
        activities_by_kind=by_kind,
        rejected=await db[store.REJECTIONS].count_documents({}),
        problems_raised=len(problems),
        problems_resolved=len(hours),
        median_hours_to_resolve=round(statistics.median(hours), 2) if hours else None,
    )


@router.post(
    "/activities",
    response_model=CommandAccepted,
    status_code=202,
    dependencies=[Depends(require("party_office", "zone_member"))],
)
async def record(
    body: ActivityRecord, runtime: RuntimeDep, principal: PrincipalDep, idempotency: IdempotencyKey = None
) -> CommandAccepted:
    """Record an activity (``activity.record``) in a zone whose roster holds the caller; the
    answer is ``activity.recorded`` or ``activity.rejected``."""
    return await accept(runtime, "activity.record", body, body.zone_id, principal.actor(), idempotency)


# --------------------------------------------------------------------------- organisational life (issue 19)

OrgPeriod = Annotated[str, Query(pattern=PERIOD_ORG, description="YYYY-MM, YYYY-Qn or YYYY")]


@router.post(
    "/leaves",
    response_model=CommandAccepted,
    status_code=202,
    dependencies=[Depends(require("party_office", "zone_member"))],
)
async def request_leave(
    body: ActivityRequestLeave,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    idempotency: IdempotencyKey = None,
) -> CommandAccepted:
    """Ask leave (请假, ``activity.request-leave``) from an activity before it starts: for oneself,
    or as the zone's secretary for a member; the answer is ``activity.leave-recorded`` or
    ``activity.leave-rejected``."""
    return await accept(runtime, "activity.request-leave", body, body.zone_id, principal.actor(), idempotency)


class AttendanceRowView(BaseModel):
    member_id: str
    status: AttendanceStatus
    standing: MemberStanding = Field(description="Decides the vote: full and transferred members vote")
    has_vote: bool


class DecisionView(BaseModel):
    decision_id: str
    title: str
    votes_for: int
    votes_against: int
    abstentions: int
    votes_needed: int
    passed: bool


class ActivityAttendance(BaseModel):
    activity_id: str
    zone_id: str
    kind: str
    started_at: datetime
    present: int
    on_leave: int
    absent: int
    voters_expected: int
    voters_present: int
    quorum_needed: int | None = Field(description="More than half of the voters expected (党员大会 only)")
    quorum_held: bool | None = Field(description="Null for kinds that vote on nothing")
    members: list[AttendanceRowView]
    decisions: list[DecisionView]


@router.get(
    "/activities/{activity_id}/attendance",
    response_model=ActivityAttendance,
    responses={404: {"model": Problem}},
)
async def activity_attendance(
    activity_id: str, runtime: RuntimeDep, principal: PrincipalDep
) -> ActivityAttendance:
    """Who was present, on leave or absent, each member's standing and vote, the quorum and the
    decisions: for the party office and the zone's members (in the access log)."""
    doc = await store.activity(runtime.db, activity_id)
    if doc is None:
        if principal.has("party_office"):
            raise HTTPException(404, f"no activity {activity_id}")
        raise refuse(HttpReason.NOT_IN_ZONE, "only the party office and the zone's members read its records")
    await zone_copy.readable(runtime.db, doc["zone_id"], principal)
    log_access(principal, "activity_attendance_read", zone_id=doc["zone_id"], activity_id=activity_id)
    return ActivityAttendance(
        activity_id=activity_id,
        zone_id=doc["zone_id"],
        kind=doc["kind"],
        started_at=doc["started_at"],
        present=doc.get("present", 0),
        on_leave=doc.get("on_leave", 0),
        absent=doc.get("absent", 0),
        voters_expected=doc.get("voters_expected", 0),
        voters_present=doc.get("voters_present", 0),
        quorum_needed=doc.get("quorum_needed"),
        quorum_held=doc.get("quorum_held"),
        members=[AttendanceRowView(**r) for r in doc.get("attendance", [])],
        decisions=[DecisionView(**d) for d in doc.get("decision_outcomes", [])],
    )


class OrgRule(BaseModel):
    rule: OrgLifeRule
    cadence: Cadence
    required: int
    actual: int
    met: bool
    article: str = Field(description="The article of 《中国共产党支部工作条例（试行）》 the rule follows")


class ReminderView(BaseModel):
    reminder_id: str
    rule: str
    required: int
    actual: int
    period_closes_on: date
    days_left: int
    secretary_member_ids: list[str]
    at: datetime


class ZoneOrgLife(BaseModel):
    zone_id: str
    period: str
    closed: bool = Field(description="True once the period was closed and evaluated; else as it stands")
    rules: list[OrgRule]
    reminders: list[ReminderView] = Field(description="Reminders sent to the secretary for this period")


class OrgLife(BaseModel):
    period: str
    zones: list[ZoneOrgLife]


async def _zone_org_life(runtime: Any, zone: dict[str, Any], period: str) -> ZoneOrgLife | None:
    db = runtime.db
    sent = [ReminderView(**r) for r in await store.reminders_of(db, zone["_id"], period)]
    done = await store.org_evaluation(db, zone["_id"], period)
    if done is not None:
        return ZoneOrgLife(
            zone_id=zone["_id"],
            period=period,
            closed=True,
            rules=[OrgRule(**r) for r in done["rules"]],
            reminders=sent,
        )
    today = runtime.clock.now().date()
    if organisational_life.days_of(period)[0] > today:
        return None  # not begun
    results = await org_life_results(db, runtime.settings, zone, period, runtime.clock.tz, until=today)
    if not results:
        return None
    rules = [OrgRule(**org_result_doc(r)) for r in results]
    return ZoneOrgLife(zone_id=zone["_id"], period=period, closed=False, rules=rules, reminders=sent)


@router.get(
    "/zones/{zone_id}/organisational-life", response_model=ZoneOrgLife, responses={404: {"model": Problem}}
)
async def zone_org_life(
    zone_id: str, runtime: RuntimeDep, principal: PrincipalDep, period: OrgPeriod | None = None
) -> ZoneOrgLife:
    """三会一课 and organisational life of the zone for a month, a quarter or a year (the rules of
    that cadence): required, actual, met, the article — evaluated once closed, as it stands
    before; with the reminders its secretary was sent."""
    zone = await zone_copy.readable(runtime.db, zone_id, principal)
    period = period or month_of(runtime.clock.now())
    found = await _zone_org_life(runtime, zone, period)
    return found or ZoneOrgLife(zone_id=zone_id, period=period, closed=False, rules=[], reminders=[])


@router.get("/organisational-life", response_model=OrgLife, dependencies=[Depends(require("party_office"))])
async def org_life(runtime: RuntimeDep, period: OrgPeriod | None = None) -> OrgLife:
    """Every zone's rules of organisational life for a period."""
    period = period or month_of(runtime.clock.now())
    out = []
    for zone in await store.zones(runtime.db):
        found = await _zone_org_life(runtime, zone, period)
        if found is not None:
            out.append(found)
    return OrgLife(period=period, zones=out)


class RuleTally(BaseModel):
    rule: str
    kind: str = Field(description="six_systems or organisational_life")
    evaluated: int = Field(description="Zone-periods closed and evaluated for the rule")
    met: int
    share: float | None


class CadenceYear(BaseModel):
    year: str
    rules: list[RuleTally]
    evaluated: int
    met: int
    share: float | None


@router.get("/cadence", response_model=CadenceYear, dependencies=readers)
async def cadence(
    runtime: RuntimeDep, year: Annotated[str, Query(pattern=PERIOD_YEAR, description="YYYY")]
) -> CadenceYear:
    """The cadence kept over a year: for each rule of the six systems and of organisational
    life, the closed zone-periods evaluated and met (what the year-end report files)."""
    y = int(year)
    periods = [f"{y:04d}-{m:02d}" for m in range(1, 13)] + [f"{y:04d}-Q{q}" for q in range(1, 5)] + [year]
    tally: dict[tuple[str, str], list[int]] = {}
    for doc in await store.evaluations_in(runtime.db, periods):
        for r in doc["rules"]:
            kind = "organisational_life" if "cadence" in r else "six_systems"
            counts = tally.setdefault((kind, r["rule"]), [0, 0])
            counts[0] += 1
            counts[1] += bool(r["met"])
    rules = [
        RuleTally(rule=rule, kind=kind, evaluated=n, met=m, share=round(m / n, 4) if n else None)
        for (kind, rule), (n, m) in sorted(tally.items())
    ]
    evaluated, met = sum(r.evaluated for r in rules), sum(r.met for r in rules)
    return CadenceYear(
        year=year,
        rules=rules,
        evaluated=evaluated,
        met=met,
        share=round(met / evaluated, 4) if evaluated else None,
    )
