"""Handlers of every topic but ``pbz.permit.work``: they never write a permit (R1). A fact is
stored once as its own document where the permits need it later, and sent on to the permit work
topic keyed by its project; the clock sends one ``permit-work.due`` per permit that is due (R4,
R5). Commands are not handled here: the pipeline forwards each, as it is, to its permit's
project on the work topic (``work.py``), where the domain decides on its actor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared import zone_copy
from shared.events import Topic
from shared.events.catalog import (
    ActivityRecorded,
    AuthorizationRegistered,
    DrawingRevised,
    DrawingSubmitted,
    FactKind,
    GasTestRecorded,
    IncidentReported,
    IsolationApplied,
    IsolationRemoved,
    Payload,
    ProjectCompleted,
    WorkCancelled,
    WorkPlanned,
)
from shared.pipeline import HandlerContext

from . import store
from .desk import handlers
from .domain import drawing_permit_id


def fact(ctx: HandlerContext, kind: FactKind, project_id: str, data: dict[str, Any]) -> None:
    ctx.emit("permit-work.fact", {"fact": kind, "project_id": project_id, "data": data}, key=project_id)


def plain(data: Payload, *drop: str) -> dict[str, Any]:
    """The declared fields of a fact, JSON-ready (a sender's extra fields stay out of our store)."""
    fields = set(type(data).model_fields) - set(drop)
    dumped: dict[str, Any] = data.model_dump(mode="json", include=fields)
    return dumped


# --------------------------------------------------------------------------- ent.projects


@handlers.on("work.planned")
async def route_work_planned(ctx: HandlerContext, data: WorkPlanned) -> None:
    ctx.emit(
        "permit-work.work-planned", {"plan": plain(data), "source": ctx.event.source}, key=data.project_id
    )


@handlers.on("work.cancelled")
async def route_work_cancelled(ctx: HandlerContext, data: WorkCancelled) -> None:
    ctx.emit("permit-work.work-cancelled", {"cancel": plain(data)}, key=data.project_id)


@handlers.on("drawing.submitted")
async def route_drawing(ctx: HandlerContext, data: DrawingSubmitted) -> None:
    ctx.emit("permit-work.drawing", {"drawing": plain(data), "source": ctx.event.source}, key=data.project_id)


@handlers.on("drawing.revised")
async def route_drawing_revised(ctx: HandlerContext, data: DrawingRevised) -> None:
    ctx.emit(
        "permit-work.apply",
        {
            "permit_id": drawing_permit_id(data.drawing_id),
            "fact": FactKind.DRAWING_REVISED,
            "data": plain(data),
        },
        key=data.project_id,
    )


@handlers.on("project.completed")
async def route_project_completed(ctx: HandlerContext, data: ProjectCompleted) -> None:
    fact(ctx, FactKind.PROJECT_COMPLETED, data.project_id, {"completed_at": data.completed_at.isoformat()})


# --------------------------------------------------------------------------- ent.safety


@handlers.on("safety.gas-test-recorded")
async def route_gas_test(ctx: HandlerContext, data: GasTestRecorded) -> None:
    test = plain(data)
    ctx.put(
        store.GAS_TESTS, {"_id": data.test_id, **data.model_dump(include=set(GasTestRecorded.model_fields))}
    )
    fact(ctx, FactKind.GAS_TEST, data.project_id, test)


@handlers.on("safety.incident-reported")
async def route_incident(ctx: HandlerContext, data: IncidentReported) -> None:
    ctx.put(
        store.INCIDENTS,
        {"_id": data.incident_id, **data.model_dump(include=set(IncidentReported.model_fields))},
    )
    fact(ctx, FactKind.INCIDENT, data.project_id, plain(data))


def _project(event: Any, data: Any) -> str:
    return str(data.project_id)


def _member(event: Any, data: Any) -> str:
    return str(data.member_id)


# An isolation's document is written twice (applied, then removed) and a register entry is
# replaced by the member's next one: each is handled on the permit work topic, keyed by its
# project (or member), so one partition writes it (R1). The HSE system's message is forwarded
# there as it is.
@handlers.on("isolation.applied", key=_project, topic=Topic.PERMIT_WORK)
async def route_isolation_applied(ctx: HandlerContext, data: IsolationApplied) -> None:
    ctx.put(
        store.ISOLATIONS,
        {"_id": data.isolation_id, **data.model_dump(include=set(IsolationApplied.model_fields))},
    )
    fact(ctx, FactKind.ISOLATION, data.project_id, plain(data))


@handlers.on("isolation.removed", key=_project, topic=Topic.PERMIT_WORK)
async def route_isolation_removed(ctx: HandlerContext, data: IsolationRemoved) -> None:
    before = await ctx.get(store.ISOLATIONS, data.isolation_id) or {"_id": data.isolation_id}
    ctx.put(store.ISOLATIONS, {**before, **data.model_dump(include=set(IsolationRemoved.model_fields))})
    fact(ctx, FactKind.ISOLATION, data.project_id, plain(data))


@handlers.on("authorization.registered", key=_member, topic=Topic.PERMIT_WORK)
async def record_authorization(ctx: HandlerContext, data: AuthorizationRegistered) -> None:
    # JSON mode: certificate expiry dates are stored as ISO strings (BSON has no date type).
    ctx.put(store.REGISTER, {"_id": data.member_id, **plain(data)})


# --------------------------------------------------------------------------- zones, check-ins


@handlers.on("activity.recorded")
async def route_checkin(ctx: HandlerContext, data: ActivityRecorded) -> None:
    if data.kind != "daily_checkin" or data.slot != "morning":
        return
    day = data.started_at.astimezone(ctx.tz).date().isoformat()
    ctx.put(
        store.CHECKINS,
        {
            "_id": store.checkin_id(data.zone_id, day),
            "zone_id": data.zone_id,
            "date": day,
            "activity_id": data.activity_id,
        },
    )
    zone = await ctx.get(zone_copy.ZONES, data.zone_id)
    for project_id in (zone or {}).get("project_ids", []):
        fact(ctx, FactKind.CHECKIN, project_id, {"zone_id": data.zone_id, "date": day})


async def route_zone_change(
    ctx: HandlerContext, previous: dict[str, Any] | None, zone: dict[str, Any]
) -> None:
    """A zone changed: its projects' permits may route, unblock, ask a new member, or stop."""
    before = previous or {}
    old = {m["member_id"] for m in before.get("members", [])}
    joined = [
        {"member_id": m["member_id"], "role": m.get("zone_role")}
        for m in zone.get("members", [])
        if m["member_id"] not in old
    ]
    same = (
        all(before.get(k) == zone.get(k) for k in ("status", "systems", "project_ids", "units"))
        and not joined
    )
    if same:
        return
    data = {"zone_id": zone["zone_id"], "status": zone["status"], "joined": joined}
    for project_id in sorted(set(before.get("project_ids", [])) | set(zone.get("project_ids", []))):
        fact(ctx, FactKind.ZONE, project_id, data)


zone_copy.register(handlers, on_change=route_zone_change)


# --------------------------------------------------------------------------- the clock


@handlers.on_tick
async def on_tick(ctx: HandlerContext, previous: datetime, now: datetime) -> None:
    """One follow-up per permit that is due; once a day, one per finished permit past retention."""
    for entry in await store.due(ctx.db, now):
        ctx.emit(
            "permit-work.due", {"permit_id": entry["_id"], "now": now}, key=entry["project_id"], time=now
        )
    if previous.astimezone(ctx.tz).date() != now.astimezone(ctx.tz).date():
        for entry in await store.purge_due(ctx.db, now):
            ctx.emit("permit-work.purge", {"permit_id": entry["_id"]}, key=entry["project_id"], time=now)
