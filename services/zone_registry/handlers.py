"""Zone-registry handlers: projects in, automatic coverage, commands, zone events out."""

from __future__ import annotations

import uuid
from typing import Any

from shared.events.catalog import (
    ProjectCompleted,
    ProjectRegistered,
    ZoneAddMember,
    ZoneAddUnit,
    ZoneAdoptSystems,
    ZoneClose,
    ZoneEstablish,
    ZoneMode,
    ZoneRemoveMember,
    ZoneStatus,
)
from shared.pipeline import HandlerContext, Handlers

from . import domain, store

handlers = Handlers()


def _announce(ctx: HandlerContext, event_type: str, zone: domain.Zone, **extra: Any) -> None:
    ctx.put(store.ZONES, zone)
    ctx.emit(event_type, {"zone": domain.snapshot(zone), **extra}, key=zone["_id"])


def _gap(ctx: HandlerContext, zone: domain.Zone, project_ids: list[str]) -> None:
    missing = domain.missing_roles(zone["mode"], zone["units"])
    if zone["status"] == ZoneStatus.PROPOSED and missing:
        for pid in project_ids:
            ctx.emit(
                "zone.coverage-gap",
                {"zone": domain.snapshot(zone), "project_id": pid, "missing_roles": missing},
                key=zone["_id"],
            )


def _refuse(ctx: HandlerContext, zone_id: str | None, reasons: list[str], zone: domain.Zone | None) -> None:
    ctx.emit(
        "zone.command-rejected",
        {
            "command_id": ctx.event.id,
            "command_type": ctx.event.type,
            "zone_id": zone_id,
            "reasons": reasons,
            "zone": domain.snapshot(zone) if zone is not None else None,
        },
        key=zone_id,
    )


# --------------------------------------------------------------------------- ent.projects


@handlers.on("project.registered")
async def on_project_registered(ctx: HandlerContext, data: ProjectRegistered) -> None:
    units = [u.model_dump() for u in data.units]
    covering = await store.zones_covering(ctx.db, data.project_id)
    project: dict[str, Any] = {
        "_id": data.project_id,
        "name": data.name,
        "category": data.category,
        "scale": data.scale,
        "key_project": data.key_project,
        "region": data.region,
        "planned_start": data.planned_start.isoformat(),
        "planned_end": data.planned_end.isoformat(),
        "units": units,
        "host_unit_id": domain.host_unit_id(units),
        "completed": False,
    }
    ctx.put(store.PROJECTS, project)
    if not data.key_project or any(z["status"] == ZoneStatus.ACTIVE for z in covering):
        return  # non-key projects are kept, not covered; a covered one needs nothing
    if covering:
        return  # already in a proposed zone that says what it misses
    if domain.gets_own_zone(project):
        zone = domain.cobuild_zone_for(project, ctx.moment)
        _announce(ctx, "zone.established", zone)
        _gap(ctx, zone, [data.project_id])
    elif domain.joins_alliance(project):
        alliances = await store.open_alliances(ctx.db, project["host_unit_id"], data.region)
        if alliances:
            zone = domain.join_alliance(alliances[0], project)
            _announce(ctx, "zone.updated", zone)
            _gap(ctx, zone, [data.project_id])
        else:
            n = await store.alliances_ever(ctx.db, project["host_unit_id"], data.region) + 1
            zone = domain.alliance_zone_for(project, n, ctx.moment)
            _announce(ctx, "zone.established", zone)
            _gap(ctx, zone, [data.project_id])


@handlers.on("project.completed")
async def on_project_completed(ctx: HandlerContext, data: ProjectCompleted) -> None:
    project = await ctx.get(store.PROJECTS, data.project_id)
    if project is not None:
        ctx.put(store.PROJECTS, {**project, "completed": True})
    for zone in await store.zones_covering(ctx.db, data.project_id):
        if zone["mode"] == ZoneMode.PROJECT_COBUILD:
            _announce(ctx, "zone.closed", {**zone, "status": ZoneStatus.CLOSED, "closed_at": ctx.moment})
            continue
        remaining = [p for p in zone["project_ids"] if p != data.project_id]
        if remaining:
            _announce(ctx, "zone.updated", {**zone, "project_ids": remaining})
        else:
            _announce(
                ctx,
                "zone.closed",
                {**zone, "project_ids": remaining, "status": ZoneStatus.CLOSED, "closed_at": ctx.moment},
            )


# --------------------------------------------------------------------------- pbz.zone.commands


@handlers.on("zone.establish")
async def on_establish(ctx: HandlerContext, data: ZoneEstablish) -> None:
    zone_id = data.zone_id or f"Z-{uuid.uuid5(uuid.NAMESPACE_URL, ctx.event.id).hex[:10]}"
    existing = await ctx.get(store.ZONES, zone_id)
    refusal = domain.check_establish(data.model_dump(), existing, await store.name_taken(ctx.db, data.name))
    if refusal:
        _refuse(ctx, zone_id, refusal.reasons, existing)
        return
    zone = domain.new_zone(
        zone_id=zone_id,
        name=data.name,
        mode=data.mode,
        region=data.region,
        project_ids=data.project_ids,
        units=[u.model_dump() for u in data.units],
        systems=data.systems,
        at=ctx.moment,
    )
    _announce(ctx, "zone.established", zone)
    _gap(ctx, zone, data.project_ids)


@handlers.on("zone.add-unit")
async def on_add_unit(ctx: HandlerContext, data: ZoneAddUnit) -> None:
    zone = await ctx.get(store.ZONES, data.zone_id)
    unit = {"unit_id": data.unit_id, "name": data.name, "role": data.role}
    refusal = domain.check_add_unit(zone, unit)
    if refusal or zone is None:
        _refuse(ctx, data.zone_id, refusal.reasons, zone)
        return
    updated = domain.with_status({**zone, "units": domain.merge_units(zone["units"], [unit])})
    _announce(ctx, "zone.updated", updated)


@handlers.on("zone.add-member")
async def on_add_member(ctx: HandlerContext, data: ZoneAddMember) -> None:
    zone = await ctx.get(store.ZONES, data.zone_id)
    member = {
        "member_id": data.member_id,
        "name": data.name,
        "home_branch": data.home_branch,
        "employer_unit_id": data.employer_unit_id,
        "employment": data.employment,
        "zone_role": data.zone_role,
        "phone": data.phone,
    }
    refusal = domain.check_add_member(zone, member)
    if refusal or zone is None:
        _refuse(ctx, data.zone_id, refusal.reasons, zone)
        return
    _announce(ctx, "zone.member-joined", {**zone, "members": [*zone["members"], member]})


@handlers.on("zone.remove-member")
async def on_remove_member(ctx: HandlerContext, data: ZoneRemoveMember) -> None:
    zone = await ctx.get(store.ZONES, data.zone_id)
    refusal = domain.check_remove_member(zone, data.member_id)
    if refusal or zone is None:
        _refuse(ctx, data.zone_id, refusal.reasons, zone)
        return
    _announce(
        ctx,
        "zone.member-left",
        {**zone, "members": [m for m in zone["members"] if m["member_id"] != data.member_id]},
    )


@handlers.on("zone.adopt-systems")
async def on_adopt_systems(ctx: HandlerContext, data: ZoneAdoptSystems) -> None:
    zone = await ctx.get(store.ZONES, data.zone_id)
    refusal = domain.check_adopt_systems(zone, data.systems)
    if refusal or zone is None:
        _refuse(ctx, data.zone_id, refusal.reasons, zone)
        return
    systems = list(dict.fromkeys([*zone["systems"], *data.systems]))
    _announce(ctx, "zone.updated", {**zone, "systems": systems})


@handlers.on("zone.close")
async def on_close(ctx: HandlerContext, data: ZoneClose) -> None:
    zone = await ctx.get(store.ZONES, data.zone_id)
    refusal = domain.check_close(zone)
    if refusal or zone is None:
        _refuse(ctx, data.zone_id, refusal.reasons, zone)
        return
    _announce(ctx, "zone.closed", {**zone, "status": ZoneStatus.CLOSED, "closed_at": ctx.moment})
