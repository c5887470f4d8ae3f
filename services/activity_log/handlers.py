"""Activity-log handlers: zone copies with their active windows, activities with their
attendance and leave, problems, the cadence checks when the clock closes a period, and the
reminders before it closes.

The concurrency contract: activities, leaves and problems are written only from
``pbz.activity.commands`` keyed by the zone (a command keyed otherwise is re-keyed there
first); a zone's cadence evaluations and reminders only from ``pbz.activity.work`` keyed by
the zone: one ``activity.close-period`` per (zone, month, quarter or year) that the clock
closes, one ``activity.check-reminders`` per (zone, period) whose reminder day comes."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from shared import zone_copy
from shared.actor import actor_of, trusted_sources
from shared.events.catalog import (
    ActivityRecord,
    ActivityRequestLeave,
    Cadence,
    Member,
    ZonePeriodWork,
    ZoneSnapshot,
)
from shared.periods import month_of
from shared.pipeline import HandlerContext, Handlers
from shared.unit_of_work import Read

from . import attendance, domain, organisational_life, store

handlers = Handlers()
handlers.aggregate(store.PROBLEMS)


async def on_zone_changed(ctx: HandlerContext, previous: dict[str, Any] | None, zone: dict[str, Any]) -> None:
    """Keep when each zone was active: the cadence is judged on those days only."""
    windows = domain.windows_from_doc((previous or {}).get("windows", []))
    was_active = previous is not None and previous.get("status") == "active"
    if zone["status"] == "active" and not was_active:
        windows = domain.open_window(windows, ctx.event.time)
    elif zone["status"] != "active" and was_active:
        windows = domain.close_window(windows, ctx.event.time)
    ctx.put(zone_copy.ZONES, {**zone, "windows": domain.windows_to_doc(windows)})


zone_copy.register(handlers, on_change=on_zone_changed)


def _reject(ctx: HandlerContext, data: ActivityRecord, reasons: list[str]) -> None:
    ctx.put(
        store.REJECTIONS,
        {
            "_id": ctx.event.id,
            "activity_id": data.activity_id,
            "zone_id": data.zone_id,
            "reasons": reasons,
            "at": ctx.moment,
        },
    )
    ctx.emit(
        "activity.rejected",
        {"activity_id": data.activity_id, "zone_id": data.zone_id, "reasons": reasons},
        key=data.zone_id,
    )


def _record_reads(data: ActivityRecord) -> list[Read]:
    return [
        Read(store.ACTIVITIES, data.activity_id),
        Read(zone_copy.ZONES, data.zone_id),
        Read(store.LEAVES, data.activity_id, field="activity_id"),
    ]


@handlers.on("activity.record", key=lambda event, data: data.zone_id, reads=_record_reads)
async def on_record(ctx: HandlerContext, data: ActivityRecord) -> None:
    if await ctx.get(store.ACTIVITIES, data.activity_id) is not None:
        return  # the same activity twice: one record, one event
    zone = await ctx.get(zone_copy.ZONES, data.zone_id)
    mentioned = await store.problems(ctx.db, data.problems_resolved)
    reasons = domain.actor_refusals(actor_of(ctx.event, trusted_sources(ctx.settings)), zone)
    reasons += domain.refusal_reasons(
        zone=zone,
        kind=data.kind,
        slot=data.slot,
        started_at=data.started_at,
        ended_at=data.ended_at,
        organizer=data.organizer_member_id,
        attendees=data.attendee_member_ids,
        resolved=data.problems_resolved,
        known_problems={p for p, doc in mentioned.items() if doc["zone_id"] == data.zone_id},
        now=ctx.moment,
    )
    if reasons:
        _reject(ctx, data, reasons)
        return
    local = data.started_at.astimezone(ctx.tz)
    record = {
        "_id": data.activity_id,
        **data.model_dump(exclude={"activity_id"}),
        "local_date": local.date().isoformat(),
        "period": month_of(local),
    }
    ctx.emit("activity.recorded", data, key=data.zone_id)
    _stage_attendance(ctx, record, zone, await ctx.find(store.LEAVES, activity_id=data.activity_id))
    for p in data.problems_raised:
        if await ctx.get(store.PROBLEMS, p.problem_id) is not None:
            continue
        problem = {
            "_id": p.problem_id,
            "zone_id": data.zone_id,
            "title": p.title,
            "raised_at": data.started_at,
            "resolved_at": None,
            "raised_in": data.activity_id,
        }
        ctx.put(store.PROBLEMS, problem)
        ctx.emit(
            "problem.raised",
            {
                "problem_id": p.problem_id,
                "zone_id": data.zone_id,
                "title": p.title,
                "raised_at": data.started_at,
            },
            key=data.zone_id,
        )
    for problem_id in data.problems_resolved:
        problem = mentioned[problem_id]
        if problem.get("resolved_at") is not None:
            continue  # resolved before: nothing new
        ctx.put(store.PROBLEMS, {**problem, "resolved_at": data.started_at, "resolved_in": data.activity_id})
        ctx.emit(
            "problem.resolved",
            {
                "problem_id": problem_id,
                "zone_id": data.zone_id,
                "title": problem["title"],
                "raised_at": problem["raised_at"],
                "resolved_at": data.started_at,
            },
            key=data.zone_id,
        )


# --------------------------------------------------------------------------- attendance and leave


def _roster(zone: dict[str, Any] | None) -> list[Member]:
    return [Member.model_validate(m) for m in (zone or {}).get("members", [])]


def _leaves(docs: list[dict[str, Any]]) -> list[attendance.Leave]:
    return [
        attendance.Leave(d["leave_id"], d["activity_id"], d["member_id"], d["received_at"], d["reason"])
        for d in docs
    ]


def _stage_attendance(
    ctx: HandlerContext, record: dict[str, Any], zone: dict[str, Any] | None, leaves: list[dict[str, Any]]
) -> None:
    """Who was present, on leave or absent, each member's standing and vote, and — for a
    党员大会 — whether the quorum held and which decisions passed: kept with the activity,
    announced for the party's own organisational life."""
    data = ActivityRecord.model_validate({**record, "activity_id": record["_id"]})
    att = attendance.attendance(
        activity_id=data.activity_id,
        zone_id=data.zone_id,
        kind=data.kind,
        started_at=data.started_at,
        local_day=date.fromisoformat(record["local_date"]),
        attendee_ids=data.attendee_member_ids,
        roster=_roster(zone),
        leaves=_leaves(leaves),
        decisions=data.decisions,
    )
    figures = {
        "present": att.count(attendance.AttendanceStatus.PRESENT),
        "on_leave": att.count(attendance.AttendanceStatus.ON_LEAVE),
        "absent": att.count(attendance.AttendanceStatus.ABSENT),
        "voters_expected": att.voters_expected,
        "voters_present": att.voters_present,
        "quorum_needed": att.quorum_needed,
        "quorum_held": att.quorum_held,
    }
    rows = [
        {
            "member_id": r.member_id,
            "status": r.status.value,
            "standing": r.standing.value,
            "has_vote": r.has_vote,
        }
        for r in att.rows
    ]
    outcomes = [vars(d) for d in att.decisions]
    ctx.put(
        store.ACTIVITIES,
        {
            **record,
            **figures,
            "attendance": rows,
            "decision_outcomes": outcomes,
            "expected_member_ids": [r["member_id"] for r in rows],
        },
    )
    if data.kind in attendance.PARTY_LIFE_KINDS:
        ctx.emit(
            "activity.attendance-recorded",
            {
                "activity_id": data.activity_id,
                "zone_id": data.zone_id,
                "kind": data.kind,
                "started_at": data.started_at,
                **figures,
                "members": rows,
                "decisions": outcomes,
            },
            key=data.zone_id,
        )


@handlers.on("activity.request-leave", key=lambda event, data: data.zone_id)
async def on_request_leave(ctx: HandlerContext, data: ActivityRequestLeave) -> None:
    """请假: recorded when it reaches the system before the activity starts (its recorded
    start once the activity is recorded, else the announced one)."""
    existing = await ctx.get(store.LEAVES, store.leave_id(data.activity_id, data.member_id))
    if existing is not None and existing["leave_id"] == data.leave_id:
        return  # the same leave again: one record, one event
    zone_doc = await ctx.get(zone_copy.ZONES, data.zone_id)
    zone = ZoneSnapshot.model_validate(zone_doc) if zone_doc is not None else None
    recorded = await ctx.get(store.ACTIVITIES, data.activity_id)
    starts_at = recorded["started_at"] if recorded is not None else data.activity_starts_at
    received = attendance.received_at(data.requested_at, ctx.event.time)
    reasons = attendance.leave_actor_refusals(
        actor_of(ctx.event, trusted_sources(ctx.settings)), zone, data.member_id
    )
    reasons += attendance.leave_refusals(
        zone=zone,
        member_id=data.member_id,
        reason=data.reason,
        received=received,
        starts_at=starts_at,
        already=existing is not None,
    )
    base = {k: getattr(data, k) for k in ("leave_id", "activity_id", "zone_id", "member_id")}
    if reasons:
        ctx.emit("activity.leave-rejected", {**base, "reasons": reasons}, key=data.zone_id)
        return
    leave = {
        "_id": store.leave_id(data.activity_id, data.member_id),
        **base,
        "received_at": received,
        "reason": data.reason,
    }
    ctx.put(store.LEAVES, leave)
    ctx.emit("activity.leave-recorded", data, key=data.zone_id)
    if recorded is not None:  # recorded ahead of its start: its attendance changes
        _stage_attendance(
            ctx,
            recorded,
            zone_doc,
            [*await ctx.find(store.LEAVES, activity_id=data.activity_id), leave],
        )


# --------------------------------------------------------------------------- the clock


def _grace(ctx: HandlerContext) -> timedelta:
    return timedelta(hours=ctx.settings.cadence_grace_hours if ctx.settings else 24)


def _reminder_days(ctx: HandlerContext) -> organisational_life.ReminderDays:
    return ctx.settings.reminder_days() if ctx.settings else organisational_life.ReminderDays()


@handlers.on_tick
async def on_tick(ctx: HandlerContext, previous: datetime, now: datetime) -> None:
    """When the clock passes a period's end + grace (a month: the six systems and the monthly
    rules; a quarter, a year: their rules of organisational life): one close per zone (R4),
    each evaluated on the zone's own partition. When it passes a period's reminder day: one
    reminder check per active zone."""
    closing = organisational_life.closed_periods(previous, now, ctx.tz, _grace(ctx))
    reminding = organisational_life.reminder_periods(
        previous.astimezone(ctx.tz).date(), now.astimezone(ctx.tz).date(), _reminder_days(ctx)
    )
    if not closing and not reminding:
        return
    zones = await store.zones(ctx.db)
    for _, period in closing:
        for zone in zones:
            ctx.emit("activity.close-period", {"zone_id": zone["_id"], "period": period}, key=zone["_id"])
    today = now.astimezone(ctx.tz).date()
    for period in reminding:
        for zone in zones:
            if zone.get("status") == "active":
                work = {"zone_id": zone["_id"], "period": period, "on": today}
                ctx.emit("activity.check-reminders", work, key=zone["_id"])


@handlers.on("activity.close-period", key=lambda event, data: data.zone_id)
async def on_close_period(ctx: HandlerContext, data: ZonePeriodWork) -> None:
    """A zone's closed period, on the days it was active, evaluated once: for a month the six
    systems and the monthly rules of organisational life; for a quarter or a year its rules."""
    zone = await ctx.get(zone_copy.ZONES, data.zone_id)
    if zone is None:
        return
    if organisational_life.cadence_of(data.period) is Cadence.MONTHLY:
        await _close_six_systems(ctx, zone, data.period)
    await _close_org_life(ctx, zone, data.period)


async def _close_six_systems(ctx: HandlerContext, zone: dict[str, Any], period: str) -> None:
    zone_id = zone["_id"]
    eid = store.evaluation_id(zone_id, period)
    if await ctx.get(store.EVALUATIONS, eid) is not None:
        return
    windows = domain.windows_from_doc(zone.get("windows", []))
    req = ctx.settings.requirements(zone_id) if ctx.settings else domain.Requirements()
    results = domain.evaluate(
        period, windows, await store.activities_of(ctx.db, zone_id, period), ctx.tz, req
    )
    if not results:
        return  # not active in the month
    ctx.put(
        store.EVALUATIONS,
        {
            "_id": eid,
            "zone_id": zone_id,
            "period": period,
            "rules": [r.as_dict() for r in results],
            "at": ctx.now,
        },
    )
    for r in results:
        ctx.emit(
            "activity.compliance-evaluated",
            {"zone_id": zone_id, "period": period, **r.as_dict()},
            key=zone_id,
        )


def org_life_requirements(settings: Any, zone: dict[str, Any]) -> organisational_life.OrgLifeRequirements:
    day = ((zone.get("settings") or {}).get("theme_party_day")) if zone else None
    if settings is None:
        return organisational_life.OrgLifeRequirements(theme_party_day=day)
    req: organisational_life.OrgLifeRequirements = settings.org_life(zone.get("_id"), day)
    return req


async def org_life_results(
    db: Any, settings: Any, zone: dict[str, Any], period: str, tz: Any, until: date | None = None
) -> list[organisational_life.OrgLifeResult]:
    """The rules of a period for a zone, on the days it was active (``until``: so far)."""
    first, last = organisational_life.days_of(period)
    held = [
        organisational_life.HeldActivity(a["kind"], date.fromisoformat(a["local_date"]), a.get("quorum_held"))
        for a in await store.activities_between(db, zone["_id"], first.isoformat(), last.isoformat())
    ]
    windows = domain.windows_from_doc(zone.get("windows", []))
    return organisational_life.evaluate_period(
        period, windows, held, tz, org_life_requirements(settings, zone), until=until
    )


def org_result_doc(r: organisational_life.OrgLifeResult) -> dict[str, Any]:
    return {
        "rule": r.rule.value,
        "cadence": r.cadence.value,
        "required": r.required,
        "actual": r.actual,
        "met": r.met,
        "article": r.article,
    }


async def _close_org_life(ctx: HandlerContext, zone: dict[str, Any], period: str) -> None:
    zone_id = zone["_id"]
    eid = store.evaluation_id(zone_id, period)
    if await ctx.get(store.ORG_EVALUATIONS, eid) is not None:
        return
    results = await org_life_results(ctx.db, ctx.settings, zone, period, ctx.tz)
    if not results:
        return  # not active long enough, or no rule of that cadence
    rules = [org_result_doc(r) for r in results]
    ctx.put(
        store.ORG_EVALUATIONS,
        {"_id": eid, "zone_id": zone_id, "period": period, "rules": rules, "at": ctx.now},
    )
    for r in rules:
        ctx.emit(
            "activity.organisational-life-evaluated", {"zone_id": zone_id, "period": period, **r}, key=zone_id
        )


@handlers.on("activity.check-reminders", key=lambda event, data: data.zone_id)
async def on_check_reminders(ctx: HandlerContext, data: ZonePeriodWork) -> None:
    """Every rule of the period still unmet on its reminder day: one reminder to the zone's
    secretary (each once)."""
    zone = await ctx.get(zone_copy.ZONES, data.zone_id)
    if zone is None or zone.get("status") != "active":
        return
    # The day the tick found it due (the clock may have moved on meanwhile).
    today = data.on or ctx.now.astimezone(ctx.tz).date()
    results = await org_life_results(ctx.db, ctx.settings, zone, data.period, ctx.tz, until=today)
    due = organisational_life.reminders_due(data.zone_id, results, _roster(zone), today, _reminder_days(ctx))
    for r in due:
        if await ctx.get(store.REMINDERS, r.reminder_id) is not None:
            continue
        payload = {k: v for k, v in vars(r).items()}
        ctx.put(
            store.REMINDERS,
            {
                "_id": r.reminder_id,
                **payload,
                "period_closes_on": r.period_closes_on.isoformat(),
                "at": ctx.moment,
            },
        )
        ctx.emit("activity.reminder-due", payload, key=data.zone_id)
