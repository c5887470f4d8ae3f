"""Activity-log HTTP: activities, cadence compliance, problems, attendance; recording activities.

Every route needs a bearer token. A zone's records are read by the party office and the
zone's own members; a member's attendance by the party office, the member, and the
secretary of a zone holding them — each such read in the access log."""

from __future__ import annotations

import statistics
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from shared import zone_copy
from shared.auth import PrincipalDep, log_access, refuse, require
from shared.events.catalog import ActivityKind, ActivityRecord, HttpReason
from shared.periods import QUERY_PERIOD_MONTH, month_of
from shared.service import CommandAccepted, DbDep, IdempotencyKey, RuntimeDep, accept

from . import domain, store

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
    activities: int
    by_kind: dict[str, int]


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
    docs = await db[store.ACTIVITIES].find({"attendee_member_ids": member_id}, {"kind": 1}).to_list(None)
    by_kind: dict[str, int] = {}
    for d in docs:
        by_kind[d["kind"]] = by_kind.get(d["kind"], 0) + 1
    return Attendance(member_id=member_id, activities=len(docs), by_kind=by_kind)


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
