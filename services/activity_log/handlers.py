"""Activity-log handlers: zone copies with their active windows, activities, problems,
and the cadence check when the clock closes a month.

The concurrency contract: activities and problems are written only from
``pbz.activity.commands`` keyed by the zone (a command keyed otherwise is re-keyed there
first); a zone's cadence evaluation only from ``pbz.activity.work`` keyed by the zone, one
``activity.close-period`` per (zone, month) that the clock closes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared import zone_copy
from shared.actor import actor_of, trusted_sources
from shared.events.catalog import ActivityRecord, ZonePeriodWork
from shared.periods import month_of, periods_closed_between
from shared.pipeline import HandlerContext, Handlers

from . import domain, store

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


@handlers.on("activity.record", key=lambda event, data: data.zone_id)
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
    ctx.put(
        store.ACTIVITIES,
        {
            "_id": data.activity_id,
            **data.model_dump(exclude={"activity_id"}),
            "local_date": local.date().isoformat(),
            "period": month_of(local),
        },
    )
    ctx.emit("activity.recorded", data, key=data.zone_id)
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


@handlers.on_tick
async def on_tick(ctx: HandlerContext, previous: Any, now: Any) -> None:
    """When the clock passes a month's end + grace: one close per zone (R4), each evaluated
    on the zone's own partition."""
    grace = timedelta(hours=ctx.settings.cadence_grace_hours if ctx.settings else 24)
    for period in periods_closed_between(previous, now, ctx.tz, grace):
        for zone in await store.zones(ctx.db):
            ctx.emit("activity.close-period", {"zone_id": zone["_id"], "period": period}, key=zone["_id"])


@handlers.on("activity.close-period", key=lambda event, data: data.zone_id)
async def on_close_period(ctx: HandlerContext, data: ZonePeriodWork) -> None:
    """The cadence of a zone's month, on the days it was active: evaluated once."""
    zone_id, period = data.zone_id, data.period
    eid = store.evaluation_id(zone_id, period)
    zone = await ctx.get(zone_copy.ZONES, zone_id)
    if zone is None or await ctx.get(store.EVALUATIONS, eid) is not None:
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
