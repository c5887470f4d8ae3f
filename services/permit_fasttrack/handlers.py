"""Permit-fasttrack handlers: permits requested from the enterprise's own events, signed on
site, checked, blocked and issued by themselves as the facts arrive; clock-driven expiry and
SLA escalation; suspension by incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared import zone_copy
from shared.events.catalog import (
    ActivityRecorded,
    DrawingSubmitted,
    GasTestRecorded,
    IncidentReported,
    PermitClose,
    PermitKind,
    PermitResume,
    PermitSign,
    PermitStatus,
    ProjectCompleted,
    WorkPlanned,
)
from shared.pipeline import HandlerContext, Handlers

from . import domain, store

handlers = Handlers()
SYSTEM = "permit-fasttrack"


class Desk:
    """The permit office for one handled event: loads permits, applies transitions,
    stages each permit once per change and announces it with its history entry."""

    def __init__(self, ctx: HandlerContext) -> None:
        self.ctx = ctx
        self.rules: domain.Rules = ctx.settings.rules() if ctx.settings is not None else domain.Rules()
        self.touched: dict[str, domain.Permit] = {}
        self._agenda: dict[str, dict[str, Any]] | None = None
        self.new_gas_tests: dict[tuple[str, str], dict[str, Any]] = {}

    async def load(self, permit_id: str) -> domain.Permit | None:
        await self.agenda()
        if permit_id in self.touched:
            return self.touched[permit_id]
        doc = await self.ctx.get(store.PERMITS, permit_id)
        return (
            None
            if doc is None
            else {**doc, "history": list(doc["history"]), "signatures": list(doc["signatures"])}
        )

    async def agenda(self) -> dict[str, dict[str, Any]]:
        """The open permits, one small entry each, kept in a single document: every
        "which permits wait on this fact?" question is answered from it instead of a
        scan of all permits (the Mongo-protocol server here scans on most queries)."""
        if self._agenda is None:
            doc = await self.ctx.get(store.AGENDA, store.AGENDA_ID)
            self._agenda = {e["permit_id"]: e for e in (doc or {}).get("permits", [])}
        return self._agenda

    async def find(self, query: dict[str, Any]) -> list[domain.Permit]:
        """Open permits matching a query of equalities, ``$in`` and ``$lte``."""
        found = []
        for entry in list((await self.agenda()).values()):
            if store.matches(entry, query):
                permit = await self.load(entry["permit_id"])
                if permit is not None:
                    found.append(permit)
        return found

    def announce(
        self,
        event_type: str,
        permit: domain.Permit,
        actor: str,
        extra: dict[str, Any] | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        key = permit.get("zone_id") or permit["project_id"]
        event = self.ctx.emit(event_type, {"permit": domain.snapshot(permit), **(extra or {})}, key=key)
        permit["history"].append(
            domain.history_entry(event.id, event_type, actor, self.ctx.moment, detail or extra)
        )
        self.touched[permit["_id"]] = permit
        self.ctx.put(store.PERMITS, permit)
        self._track(permit)

    def _track(self, permit: domain.Permit) -> None:
        agenda = self._agenda
        assert agenda is not None, "load or find a permit before changing it"
        if permit["status"] in domain.FINISHED:
            agenda.pop(permit["_id"], None)
        else:
            agenda[permit["_id"]] = store.agenda_entry(permit)
        self.ctx.put(store.AGENDA, {"_id": store.AGENDA_ID, "permits": list(agenda.values())})

    # ------------------------------------------------------------------ facts

    async def zone_of(self, permit: domain.Permit) -> dict[str, Any] | None:
        if permit.get("zone_id"):
            return await self.ctx.get(zone_copy.ZONES, permit["zone_id"])
        return await zone_copy.active_zone_for_project(self.ctx, permit["project_id"])

    async def facts(self, permit: domain.Permit) -> domain.Facts:
        zone = await self.zone_of(permit)
        facts = domain.Facts(zone=zone)
        if zone is not None:
            facts.contractor_is_subcontractor = any(
                u["unit_id"] == permit.get("contractor_unit_id") and u["role"] == "subcontractor"
                for u in zone["units"]
            )
        if permit["kind"] == PermitKind.WORK_PERMIT:
            if zone is not None:
                day = permit["planned_start"].astimezone(self.ctx.tz).date().isoformat()
                facts.morning_checkin = (
                    await self.ctx.get(store.CHECKINS, store.checkin_id(zone["zone_id"], day)) is not None
                )
            area_key = (permit["project_id"], permit["area"])
            stored = await store.latest_gas_test(self.ctx.db, *area_key, self.ctx.moment)
            fresh = self.new_gas_tests.get(area_key)
            if (
                fresh is not None
                and fresh["tested_at"] <= self.ctx.moment
                and (stored is None or fresh["tested_at"] >= stored["tested_at"])
            ):
                stored = fresh
            facts.latest_gas_test = stored
            facts.live_permits_in_area = await self.live_in_area(permit["project_id"], permit["area"])
        return facts

    async def live_in_area(self, project_id: str, area: str) -> list[domain.Permit]:
        live = {
            p["_id"]: p
            for p in await self.find({"project_id": project_id, "area": area, "status": PermitStatus.ISSUED})
        }
        for p in self.touched.values():
            if p["project_id"] == project_id and p.get("area") == area:
                live[p["_id"]] = p
        return [p for p in live.values() if p["status"] == PermitStatus.ISSUED]

    # ------------------------------------------------------------------ transitions

    def request_signatures(self, permit: domain.Permit, zone: dict[str, Any]) -> None:
        permit.update(
            zone_id=zone["zone_id"],
            signatures_requested=True,
            status=PermitStatus.PENDING_SIGNATURES,
            blocked_reasons=[],
        )
        for role in permit["required_roles"]:
            self.announce(
                "permit.signature-requested",
                permit,
                SYSTEM,
                {"role": role, "member_ids": zone_copy.members_with_role(zone, role)},
            )

    def block(self, permit: domain.Permit, reasons: list[str], details: list[dict[str, Any]]) -> None:
        if permit["status"] == PermitStatus.BLOCKED and permit["blocked_reasons"] == reasons:
            return  # nothing new to say
        permit.update(status=PermitStatus.BLOCKED, blocked_reasons=reasons)
        self.announce("permit.blocked", permit, SYSTEM, {"reasons": reasons, "details": details})

    async def check(self, permit: domain.Permit, resuming: bool = False) -> None:
        """Issue if every precondition holds, else (stay) blocked with every reason."""
        reasons, details = domain.unmet_preconditions(
            permit, await self.facts(permit), self.ctx.moment, self.rules
        )
        if reasons:
            self.block(permit, reasons, details)
            return
        permit["blocked_reasons"] = []
        if resuming:
            permit["status"] = PermitStatus.ISSUED
            self.announce("permit.resumed", permit, SYSTEM)
            return
        valid_from, valid_until = domain.window(permit, self.ctx.moment, self.rules)
        permit.update(status=PermitStatus.ISSUED, valid_from=valid_from, valid_until=valid_until)
        permit.setdefault("issued_at", None)
        if permit["issued_at"] is None:
            permit["issued_at"] = self.ctx.moment
        self.announce("permit.issued", permit, SYSTEM, {"valid_from": valid_from, "valid_until": valid_until})

    async def recheck_blocked(self, query: dict[str, Any], reasons: set[str]) -> None:
        for permit in await self.find({**query, "status": PermitStatus.BLOCKED}):
            if reasons & set(permit["blocked_reasons"]):
                await self.check(permit)

    async def area_freed(self, permit: domain.Permit) -> None:
        """A permit left the area: those waiting on it (SIMOPS) may go now."""
        if permit.get("area") is not None:
            await self.recheck_blocked(
                {"project_id": permit["project_id"], "area": permit["area"]}, {"simops_conflict"}
            )

    def refuse(
        self, command_type: str, permit_id: str, member_id: str | None, reasons: list[str], key: str | None
    ) -> None:
        self.ctx.emit(
            "permit.command-rejected",
            {
                "command_id": self.ctx.event.id,
                "command_type": command_type,
                "permit_id": permit_id,
                "member_id": member_id,
                "reasons": reasons,
            },
            key=key,
        )


# --------------------------------------------------------------------------- triggers


async def _request(ctx: HandlerContext, permit: domain.Permit) -> None:
    desk = Desk(ctx)
    if await desk.load(permit["_id"]) is not None:
        return  # the same work or drawing again: one permit
    desk.announce("permit.requested", permit, ctx.event.source)
    zone = await zone_copy.active_zone_for_project(ctx, permit["project_id"])
    if zone is None:
        desk.block(permit, ["no_active_zone"], [])
    else:
        desk.request_signatures(permit, zone)


def _new_permit(
    ctx: HandlerContext, kind: str, source_id: str, project_id: str, rules: domain.Rules, **fields: Any
) -> domain.Permit:
    requested_at = ctx.moment
    risk_types = fields.pop("risk_types", [])
    return {
        "_id": domain.permit_id(kind, source_id),
        "kind": kind,
        "zone_id": None,
        "project_id": project_id,
        "source_id": source_id,
        "risk_types": risk_types,
        "status": PermitStatus.PENDING_SIGNATURES,
        "requested_at": requested_at,
        "sla_deadline": domain.sla_deadline(kind, requested_at, rules),
        "required_roles": domain.required_roles(kind, risk_types),
        "signatures": [],
        "signatures_requested": False,
        "blocked_reasons": [],
        "valid_from": None,
        "valid_until": None,
        "issued_at": None,
        "sla_breached": False,
        "history": [],
        **fields,
    }


@handlers.on("work.planned")
async def on_work_planned(ctx: HandlerContext, data: WorkPlanned) -> None:
    rules = Desk(ctx).rules
    permit = _new_permit(
        ctx,
        PermitKind.WORK_PERMIT,
        data.work_id,
        data.project_id,
        rules,
        area=data.area,
        risk_types=list(data.risk_types),
        contractor_unit_id=data.contractor_unit_id,
        title=data.title,
        planned_start=data.planned_start,
        planned_end=data.planned_end,
    )
    await _request(ctx, permit)


@handlers.on("drawing.submitted")
async def on_drawing_submitted(ctx: HandlerContext, data: DrawingSubmitted) -> None:
    rules = Desk(ctx).rules
    permit = _new_permit(
        ctx,
        PermitKind.DRAWING_REVIEW,
        data.drawing_id,
        data.project_id,
        rules,
        area=None,
        contractor_unit_id=data.submitted_by_unit_id,
        title=data.title,
    )
    await _request(ctx, permit)


# --------------------------------------------------------------------------- facts that unblock


async def on_zone_changed(ctx: HandlerContext, previous: dict[str, Any] | None, zone: dict[str, Any]) -> None:
    """A zone became active or adopted systems: its waiting permits go on by themselves."""
    if zone["status"] != "active":
        return
    desk = Desk(ctx)
    for permit in await desk.find(
        {"project_id": {"$in": zone["project_ids"]}, "status": PermitStatus.BLOCKED}
    ):
        if not permit.get("signatures_requested"):
            desk.request_signatures(permit, zone)
        elif {"no_active_zone", "contractor_safety_not_adopted", "subcontractor_safety_not_adopted"} & set(
            permit["blocked_reasons"]
        ):
            await desk.check(permit)


zone_copy.register(handlers, on_change=on_zone_changed)


@handlers.on("activity.recorded")
async def on_activity_recorded(ctx: HandlerContext, data: ActivityRecorded) -> None:
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
    desk = Desk(ctx)
    for permit in await desk.find({"zone_id": data.zone_id, "status": PermitStatus.BLOCKED}):
        if (
            "no_morning_checkin" in permit["blocked_reasons"]
            and permit["planned_start"].astimezone(ctx.tz).date().isoformat() == day
        ):
            await desk.check(permit)


@handlers.on("safety.gas-test-recorded")
async def on_gas_test(ctx: HandlerContext, data: GasTestRecorded) -> None:
    test = {"_id": data.test_id, **data.model_dump(exclude={"tester"}), "tester": data.tester}
    ctx.put(store.GAS_TESTS, test)
    desk = Desk(ctx)
    desk.new_gas_tests[(data.project_id, data.area)] = test
    await desk.recheck_blocked(
        {"project_id": data.project_id, "area": data.area}, {"gas_test_missing", "gas_test_failed"}
    )


@handlers.on("safety.incident-reported")
async def on_incident(ctx: HandlerContext, data: IncidentReported) -> None:
    incident = {"_id": data.incident_id, **data.model_dump()}
    ctx.put(store.INCIDENTS, incident)
    desk = Desk(ctx)
    for permit in await desk.find({"project_id": data.project_id, "status": PermitStatus.ISSUED}):
        if domain.suspends(permit, incident):
            permit["status"] = PermitStatus.SUSPENDED
            desk.announce(
                "permit.suspended",
                permit,
                SYSTEM,
                detail={"incident_id": data.incident_id, "severity": data.severity},
            )


@handlers.on("project.completed")
async def on_project_completed(ctx: HandlerContext, data: ProjectCompleted) -> None:
    desk = Desk(ctx)
    for permit in await desk.find({"project_id": data.project_id}):
        if permit["status"] not in domain.FINISHED:
            permit["status"] = PermitStatus.CANCELLED
            desk.announce("permit.cancelled", permit, SYSTEM, detail={"reason": "project_completed"})


# --------------------------------------------------------------------------- people on site


@handlers.on("permit.sign")
async def on_sign(ctx: HandlerContext, data: PermitSign) -> None:
    desk = Desk(ctx)
    permit = await desk.load(data.permit_id)
    zone = await desk.zone_of(permit) if permit is not None else None
    reasons = domain.sign_refusals(permit, zone, data.member_id, data.role)
    key = (permit or {}).get("zone_id") or (permit or {}).get("project_id")
    if reasons or permit is None:
        desk.refuse("permit.sign", data.permit_id, data.member_id, reasons, key)
        return
    permit["signatures"].append(
        {
            "role": data.role,
            "member_id": data.member_id,
            "decision": data.decision,
            "comment": data.comment,
            "signed_at": data.signed_at,
        }
    )
    desk.announce(
        "permit.signed", permit, data.member_id, detail={"role": data.role, "decision": data.decision}
    )
    if data.decision == "reject":
        permit["status"] = PermitStatus.REJECTED
        desk.announce(
            "permit.rejected", permit, data.member_id, detail={"role": data.role, "comment": data.comment}
        )
        return
    if set(permit["required_roles"]) <= domain.approved_roles(permit):
        permit["status"] = PermitStatus.APPROVED
        desk.announce("permit.approved", permit, SYSTEM)
        await desk.check(permit)


@handlers.on("permit.close")
async def on_close(ctx: HandlerContext, data: PermitClose) -> None:
    desk = Desk(ctx)
    permit = await desk.load(data.permit_id)
    if permit is None or permit["status"] in domain.FINISHED:
        reasons = ["unknown_permit"] if permit is None else ["permit_finished"]
        desk.refuse("permit.close", data.permit_id, data.member_id, reasons, (permit or {}).get("zone_id"))
        return
    permit["status"] = PermitStatus.CLOSED
    desk.announce("permit.closed", permit, data.member_id, detail={"closed_at": data.closed_at})
    await desk.area_freed(permit)


@handlers.on("permit.resume")
async def on_resume(ctx: HandlerContext, data: PermitResume) -> None:
    desk = Desk(ctx)
    permit = await desk.load(data.permit_id)
    if permit is None or permit["status"] != PermitStatus.SUSPENDED:
        reasons = (
            ["unknown_permit"]
            if permit is None
            else ["permit_finished" if permit["status"] in domain.FINISHED else "not_suspended"]
        )
        desk.refuse("permit.resume", data.permit_id, data.member_id, reasons, (permit or {}).get("zone_id"))
        return
    await desk.check(permit, resuming=True)


# --------------------------------------------------------------------------- the clock


@handlers.on_tick
async def on_tick(ctx: HandlerContext, previous: datetime, now: datetime) -> None:
    desk = Desk(ctx)
    for permit in await desk.find(
        {"status": {"$in": [PermitStatus.ISSUED, PermitStatus.SUSPENDED]}, "valid_until": {"$lte": now}}
    ):
        permit["status"] = PermitStatus.EXPIRED
        desk.announce("permit.expired", permit, SYSTEM)
        await desk.area_freed(permit)
    # Facts travel on different topics and may be read out of order: a gas test stamped a
    # few minutes after the check that missed it becomes valid as time moves on.
    await desk.recheck_blocked({}, {"gas_test_missing"})
    open_statuses = [PermitStatus.PENDING_SIGNATURES, PermitStatus.APPROVED, PermitStatus.BLOCKED]
    for permit in await desk.find(
        {
            "status": {"$in": open_statuses},
            "sla_deadline": {"$lte": now},
            "sla_breached": False,
            "issued_at": None,
        }
    ):
        permit["sla_breached"] = True
        desk.announce(
            "permit.sla-breached",
            permit,
            SYSTEM,
            {
                "deadline": permit["sla_deadline"],
                "waiting_on_roles": domain.waiting_on(permit),
                "blocked_reasons": permit["blocked_reasons"],
            },
        )
