"""Handlers of ``pbz.permit.work``, keyed by project: the only writers of permits (R1).

Two kinds: *dispatchers* (a work plan, a cancelled work, a fact) find the permits a message
concerns — on the project's partition, so in order with those permits' own changes — and send
one follow-up per permit (R4); *appliers* load one permit, call the domain and stage it.
"""

from __future__ import annotations

from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase

from shared.actor import actor_of, trusted_sources
from shared.events import CloudEvent, Topic
from shared.events.catalog import (
    ApplyFact,
    CancelPermit,
    CancelReason,
    CommandRefusal,
    DrawingReceived,
    FactKind,
    FactReceived,
    IsolationApplied,
    IsolationRemoved,
    PermitDue,
    PermitPurge,
    PermitStatus,
    PlanPermit,
    WorkCancelReceived,
    WorkPlanned,
    WorkPlanReceived,
)
from shared.pipeline import HandlerContext
from shared.unit_of_work import Read

from . import commands, store
from .desk import Desk, handlers, open_unissued
from .domain import GasReading, Permit, all_permit_ids, classes_of, drawing_permit_id, permit_id_for

ZONE_REASONS = {"no_active_zone", "contractor_safety_not_adopted", "subcontractor_safety_not_adopted"}


def clean_plan(plan: WorkPlanned) -> WorkPlanned:
    """The plan without a sender's extra fields (they are kept on the fact, not in the permit)."""
    return WorkPlanned.model_validate(plan.model_dump(include=set(WorkPlanned.model_fields)))


def permit_reads(data: Any) -> list[Read]:
    """A handler of a permit loads it and stages its open entry (whose stored version the
    write follows): both read for a batch's messages at once."""
    permit_id = permit_of(data)
    return [Read(store.PERMITS, permit_id), Read(store.OPEN, permit_id)]


# --------------------------------------------------------------------------- work plans


@handlers.on("permit-work.work-planned")
async def dispatch_work_plan(ctx: HandlerContext, data: WorkPlanReceived) -> None:
    desk = Desk(ctx)
    plan = clean_plan(data.plan)
    wanted = classes_of(plan, desk.rules)
    ids = [permit_id_for(plan.work_id, c) for c in wanted]
    for cls, pid in zip(wanted, ids, strict=True):
        ctx.emit(
            "permit-work.plan-permit",
            {
                "permit_id": pid,
                "work_class": cls,
                "plan": plan,
                "linked_permit_ids": ids,
                "source": data.source,
            },
            key=plan.project_id,
        )
    done = {
        s.value
        for s in (PermitStatus.CLOSED, PermitStatus.EXPIRED, PermitStatus.CANCELLED, PermitStatus.LAPSED)
    }
    for pid in all_permit_ids(plan.work_id):
        doc = None if pid in ids else await ctx.get(store.PERMITS, pid)
        if doc is not None and doc["status"] not in done:
            ctx.emit(
                "permit-work.cancel-permit",
                {"permit_id": pid, "reason": CancelReason.CLASS_DROPPED},
                key=plan.project_id,
            )


@handlers.on("permit-work.work-cancelled")
async def dispatch_work_cancel(ctx: HandlerContext, data: WorkCancelReceived) -> None:
    for pid in all_permit_ids(data.cancel.work_id):
        if await ctx.get(store.PERMITS, pid) is not None:
            ctx.emit(
                "permit-work.cancel-permit",
                {"permit_id": pid, "reason": CancelReason.WORK_CANCELLED},
                key=data.cancel.project_id,
            )


@handlers.on("permit-work.plan-permit", reads=permit_reads)
async def apply_plan(ctx: HandlerContext, data: PlanPermit) -> None:
    desk = Desk(ctx)
    plan = clean_plan(data.plan)
    permit = await desk.load(data.permit_id)
    if permit is None:
        permit = Permit.for_work(
            str(data.work_class), plan, data.linked_permit_ids, desk.at, desk.rules, desk.tz
        )
        people = await desk.people_for(permit, routing=True)
        permit.request(data.source, desk.at, people)
        await desk.import_gas_test(permit)
    else:
        people = await desk.people_for(permit, routing=True)
        if permit.replan(plan, data.linked_permit_ids, desk.at, desk.rules, desk.tz, people, data.source):
            await desk.import_gas_test(permit)
    await desk.stage(permit, people)


@handlers.on("permit-work.drawing")
async def apply_drawing(ctx: HandlerContext, data: DrawingReceived) -> None:
    desk = Desk(ctx)
    d = data.drawing
    permit = await desk.load(drawing_permit_id(d.drawing_id))
    if permit is None:
        permit = Permit.for_drawing(
            d.drawing_id, d.project_id, d.title, d.submitted_by_unit_id, desk.at, desk.rules
        )
        people = await desk.people_for(permit, routing=True)
        permit.request(data.source, desk.at, people)
    elif permit.status == PermitStatus.REJECTED:
        people = await desk.people_for(permit, routing=True)
        permit._reopen(data.source, desk.at, people)  # the drawing submitted again: its resubmission
    else:
        return  # the same drawing again while under review: nothing new
    await desk.stage(permit, people)


@handlers.on("permit-work.cancel-permit", reads=permit_reads)
async def apply_cancel(ctx: HandlerContext, data: CancelPermit) -> None:
    desk = Desk(ctx)
    permit = await desk.load(data.permit_id)
    if permit is not None and permit.cancel(str(data.reason), desk.at):
        await desk.stage(permit)


# --------------------------------------------------------------------------- facts


def concerned(fact: str, data: dict[str, Any], entry: dict[str, Any]) -> bool:
    """Does an open permit (its index entry) need to hear of this fact?"""
    if fact == FactKind.GAS_TEST:
        return bool(entry.get("needs_gas")) and entry.get("area") == data["area"]
    if fact == FactKind.CHECKIN:
        return entry.get("zone_id") == data["zone_id"] and "no_morning_checkin" in entry.get(
            "blocked_reasons", []
        )
    if fact == FactKind.INCIDENT:
        live = entry.get("status") in (PermitStatus.ISSUED, PermitStatus.INTERRUPTED)
        return live and (data["severity"] in ("major", "fatal") or entry.get("area") == data["area"])
    if fact == FactKind.ISOLATION:
        return data["isolation_id"] in entry.get("isolation_ids", [])
    if fact == FactKind.PROJECT_COMPLETED:
        return True
    if fact == FactKind.AREA_FREED:
        return "simops_conflict" in entry.get("blocked_reasons", [])
    if fact == FactKind.ZONE:
        return zone_concerns(data, entry)
    return False


def zone_concerns(data: dict[str, Any], entry: dict[str, Any]) -> bool:
    mine = entry.get("zone_id") == data["zone_id"]
    if data["status"] == "closed":
        return mine
    if data["status"] != "active":
        return False
    if entry.get("needs_zone"):
        return True
    if not mine:
        return False
    joined_roles = {j["role"] for j in data.get("joined", [])}
    return bool(ZONE_REASONS & set(entry.get("blocked_reasons", []))) or (
        open_unissued(entry) and bool(joined_roles & set(entry.get("waiting_on_roles", [])))
    )


@handlers.on("permit-work.fact", reads=lambda d: [Read(store.OPEN, d.project_id, field="project_id")])
async def dispatch_fact(ctx: HandlerContext, data: FactReceived) -> None:
    for entry in await store.open_in_project(ctx, data.project_id):
        if concerned(str(data.fact), data.data, entry):
            ctx.emit(
                "permit-work.apply",
                {"permit_id": entry["_id"], "fact": data.fact, "data": data.data},
                key=data.project_id,
            )


@handlers.on("permit-work.apply", reads=permit_reads)
async def apply_fact(ctx: HandlerContext, data: ApplyFact) -> None:
    desk = Desk(ctx)
    permit = await desk.load(data.permit_id)
    if permit is None:
        return
    fact, d = str(data.fact), data.data
    people = None
    if fact == FactKind.GAS_TEST:
        permit.gas_test(GasReading.model_validate(d), desk.at, desk.rules)
    elif fact == FactKind.INCIDENT:
        permit.incident(d, desk.at)
    elif fact == FactKind.ISOLATION:
        model = IsolationRemoved if "removed_at" in d else IsolationApplied
        permit.isolation(model.model_validate(d).model_dump(), desk.at)
    elif fact == FactKind.PROJECT_COMPLETED:
        permit.cancel(CancelReason.PROJECT_COMPLETED, desk.at)
    elif fact == FactKind.DRAWING_REVISED:
        people = await desk.people_for(permit, routing=True)
        permit.drawing_revised(int(d["revision"]), list(d.get("resolved_comment_ids", [])), desk.at, people)
    elif fact == FactKind.ZONE:
        people = await apply_zone(desk, permit, d)
    await desk.settle(permit, people)
    await desk.stage(permit, people)


async def apply_zone(desk: Desk, permit: Permit, d: dict[str, Any]) -> Any:
    zone = await desk.ctx.get("zones", d["zone_id"])
    if zone is None:
        return None
    if zone["status"] == "closed" and permit.zone_id == zone["zone_id"] and not permit.needs_zone():
        permit.zone_closed(desk.at)
        return None
    if zone["status"] != "active" or permit.project_id not in zone.get("project_ids", []):
        return None
    people = await desk.people(zone, set(permit.required_roles))
    if permit.needs_zone():
        permit.route(people, desk.at)
    elif permit.zone_id == zone["zone_id"]:
        for j in d.get("joined", []):
            permit.member_joined(j["member_id"], j["role"], people, desk.at)
    return people


# --------------------------------------------------------------------------- commands, time


COMMANDS = (
    "permit.sign",
    "permit.close",
    "permit.resume",
    "permit.resubmit",
    "permit.interrupt",
    "permit.resume-work",
    "permit.extend",
    "permit.handover",
    "permit.declare-complete",
    "permit.accept-completion",
    "permit.name-guardian",
    "permit.check-in",
    "permit.check-out",
    "permit.brief",
    "permit.check-ticket",
    "drawing.comment-added",
)


def permit_of(data: Any) -> str:
    return str(data.permit_id) if hasattr(data, "permit_id") else drawing_permit_id(data.drawing_id)


async def permit_project(event: CloudEvent, data: Any, db: AsyncIOMotorDatabase[Any]) -> str:
    """A command's partition key on the work topic: its permit's project. A permit not known
    (yet) keys by its own id; its handler refuses it there (``unknown_permit``)."""
    permit_id = permit_of(data)
    return await store.project_of(db, permit_id) or permit_id


async def apply_command(ctx: HandlerContext, command: Any) -> None:
    """A permit command, forwarded as it is from ``pbz.permit.commands`` to its permit's project:
    its actor is the command's own authcontext, read here, once, where the domain decides."""
    desk = Desk(ctx)
    permit_id = permit_of(command)
    actor = actor_of(ctx.event, trusted_sources(ctx.settings))
    permit = await desk.load(permit_id)
    if permit is None:
        ctx.emit(
            "permit.command-rejected",
            {
                "command_id": ctx.event.id,
                "command_type": ctx.event.type,
                "permit_id": permit_id,
                "member_id": command.member_id,
                "reasons": [CommandRefusal.UNKNOWN_PERMIT],
                "actor": actor.id if actor else None,
            },
            key=permit_id,
        )
        return
    command_type = ctx.event.type
    routing = command_type == "permit.resubmit"
    # The register is read for whom a rule asks it of: signers and approvers (roles, certificates),
    # a guardian being named (certificate).
    named: tuple[str | None, ...] = ()
    if command_type in ("permit.sign", "permit.extend", "permit.name-guardian"):
        named = (getattr(command, "member_id", None), getattr(command, "guardian_member_id", None))
    people = await desk.people_for(permit, routing, named)
    await commands.run(desk, permit, ctx.event.id, command_type, command, actor, people)
    await desk.settle(permit, people)
    await desk.stage(permit, people)


def key_reads(data: Any) -> list[Read]:
    """What ``permit_project`` reads for an open permit (the slim open entry): nothing when
    this process remembers the permit's project."""
    permit_id = permit_of(data)
    return [] if store.known_project(permit_id) is not None else [Read(store.OPEN, permit_id)]


for _command in COMMANDS:
    handlers.on(
        _command,
        key_from_store=permit_project,
        topic=Topic.PERMIT_WORK,
        reads=permit_reads,
        key_reads=key_reads,
    )(apply_command)


@handlers.on("permit-work.due", reads=permit_reads)
async def apply_due(ctx: HandlerContext, data: PermitDue) -> None:
    desk = Desk(ctx)
    permit = await desk.load(data.permit_id)
    if permit is not None:
        permit.due(desk.at, desk.rules)
        await desk.stage(permit)


@handlers.on("permit-work.purge", reads=permit_reads)
async def apply_purge(ctx: HandlerContext, data: PermitPurge) -> None:
    desk = Desk(ctx)
    permit = await desk.load(data.permit_id)
    if permit is None or not permit.finished or permit.finished_at is None:
        return
    if permit.finished_at + desk.rules.retention <= desk.at:
        ctx.delete(store.PERMITS, permit.permit_id)
        ctx.delete(store.RETENTION, permit.permit_id)
