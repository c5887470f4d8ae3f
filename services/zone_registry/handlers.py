"""Zone-registry handlers: projects in, automatic coverage, commands, zone events out.

Every command names its actor (``shared.actor``); who may send which is the domain's
``check_actor``, decided where the command is handled (on the zone's partition of the work
topic: a command re-keyed there keeps its envelope, actor included, byte for byte). Each
command, accepted or refused, is kept in the zone's history with its actor (one document per
command, ids only: no personal data).

The concurrency contract: a project is written only from ``ent.projects`` (keyed by the
project); a zone only from ``pbz.zone.work`` keyed by the zone. Zone commands are re-keyed
there as they are; a registered or completed project asks each zone it concerns with one
follow-up (``zone.cover-project``, ``zone.release-project``), and the decision that depends
on the zone (is its id free, is the alliance still open) is taken there, on its partition."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from shared.actor import Actor, actor_of, trusted_sources
from shared.events import CloudEvent, Topic
from shared.events.catalog import (
    AttendanceRecorded,
    ProjectCompleted,
    ProjectRegistered,
    ZoneAddMember,
    ZoneAddUnit,
    ZoneAdoptSystems,
    ZoneCheckTransfers,
    ZoneClose,
    ZoneConfigure,
    ZoneCoverProject,
    ZoneEraseMember,
    ZoneEstablish,
    ZoneRecordTransfer,
    ZoneReleaseProject,
    ZoneRemoveMember,
)
from shared.pipeline import HandlerContext, Handlers

from . import domain, floating, store

handlers = Handlers()
handlers.aggregate(store.ZONES, store.PROJECTS)
# How far a coverage follows a sequence of taken ids before it stops (a closed zone keeps
# its id for good, so a project re-covered many times walks a little further each time).
MAX_ZONE_N = 1000


def _zone_key(event: CloudEvent, data: Any) -> str:
    return str(data.zone_id)


def _establish_key(event: CloudEvent, data: ZoneEstablish) -> str:
    """A new zone's partition: its name's, so two establishes with one name are handled in
    turn and the second is refused (a name is unique among open zones). A zone id chosen by
    the sender keys by that id instead: then the id is what must not be taken twice."""
    return data.zone_id or f"zone-name:{data.name}"


def _command(event_type: str, key: Callable[[CloudEvent, Any], str] = _zone_key) -> Any:
    """A zone command: handled on the zone's partition of the work topic."""
    return handlers.on(event_type, key=key, topic=Topic.ZONE_WORK)


def _announce(ctx: HandlerContext, event_type: str, zone: domain.Zone, **more: Any) -> None:
    """Store the zone and say so with its full snapshot: other services keep copies."""
    ctx.put(store.ZONES, zone)
    ctx.emit(event_type, {"zone": domain.snapshot(zone), **more}, key=zone["_id"])


def _announce_gap(ctx: HandlerContext, zone: domain.Zone, project_ids: list[str]) -> None:
    missing = domain.gap_of(zone)
    if missing:
        for pid in project_ids:
            ctx.emit(
                "zone.coverage-gap",
                {"zone": domain.snapshot(zone), "project_id": pid, "missing_roles": missing},
                key=zone["_id"],
            )


def _actor(ctx: HandlerContext) -> Actor | None:
    return actor_of(ctx.event, trusted_sources(ctx.settings))


def _history(
    ctx: HandlerContext,
    zone_id: str,
    actor: Actor | None,
    reasons: list[str],
    member_id: str | None = None,
) -> None:
    """The command in the zone's history: who, what, when, accepted or why not."""
    ctx.put(
        store.HISTORY,
        {
            "_id": ctx.event.id,
            "zone_id": zone_id,
            "command_type": ctx.event.type,
            "actor": actor.model_dump(mode="json") if actor is not None else None,
            "accepted": not reasons,
            "reasons": reasons,
            "member_id": member_id,
            "at": ctx.moment,
        },
    )


def _refuse(ctx: HandlerContext, zone_id: str, reasons: list[str], zone: domain.Zone | None) -> None:
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


async def _free_zone_n(ctx: HandlerContext, make_id: Callable[[int], str]) -> int:
    """The first number of the sequence whose id is not yet taken, as far as this partition
    sees (the zone's own partition decides, see ``on_cover_project``); a closed zone keeps
    its id, so it is taken for good."""
    n = 1
    while n < MAX_ZONE_N and await ctx.db[store.ZONES].find_one({"_id": make_id(n)}, {"_id": 1}) is not None:
        n += 1
    return n


def _zone_id_of(step: str, project: domain.Project, n: int) -> str:
    if step == domain.CoverageStep.OWN_ZONE:
        return domain.cobuild_zone_id(project["_id"], n)
    return domain.alliance_zone_id(project["host_unit_id"], project["region"], n)


def _cover(
    ctx: HandlerContext, data: ProjectRegistered, project: domain.Project, step: str, n: int, zone_id: str
) -> None:
    ctx.emit(
        "zone.cover-project",
        {
            "zone_id": zone_id,
            "step": step,
            "n": n,
            "project": data.model_dump(mode="json"),
            "host_unit_id": project["host_unit_id"],
        },
        key=zone_id,
    )


# --------------------------------------------------------------------------- ent.projects


@handlers.on("project.registered")
async def on_project_registered(ctx: HandlerContext, data: ProjectRegistered) -> None:
    units = [u.model_dump() for u in data.units]
    previous = await ctx.get(store.PROJECTS, data.project_id)
    project: domain.Project = {
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
        "completed": bool(previous and previous.get("completed")),
    }
    ctx.put(store.PROJECTS, project)
    if project["completed"]:
        return  # a late re-registration of a finished project opens no zone
    covering = await store.zones_covering(ctx.db, data.project_id)
    alliances = (
        await store.open_alliances(ctx.db, project["host_unit_id"], data.region)
        if domain.joins_alliance(project)
        else []
    )
    plan = domain.plan_coverage(project, covering, alliances)
    if plan.step == domain.CoverageStep.JOIN_ALLIANCE and plan.alliance is not None:
        _cover(ctx, data, project, plan.step, 1, plan.alliance["_id"])
    elif plan.step in (domain.CoverageStep.OWN_ZONE, domain.CoverageStep.FOUND_ALLIANCE):
        n = await _free_zone_n(ctx, lambda i: _zone_id_of(plan.step, project, i))
        _cover(ctx, data, project, plan.step, n, _zone_id_of(plan.step, project, n))
    # else: not key, already in a zone, or a kind of project no rule covers


@handlers.on("project.completed")
async def on_project_completed(ctx: HandlerContext, data: ProjectCompleted) -> None:
    project = await ctx.get(store.PROJECTS, data.project_id)
    if project is not None:
        ctx.put(store.PROJECTS, {**project, "completed": True, "completed_at": data.completed_at})
    for zone in await store.zones_covering(ctx.db, data.project_id):
        ctx.emit(
            "zone.release-project", {"zone_id": zone["_id"], "project_id": data.project_id}, key=zone["_id"]
        )


# --------------------------------------------------------------------------- pbz.zone.work


@handlers.on("zone.cover-project", key=_zone_key)
async def on_cover_project(ctx: HandlerContext, data: ZoneCoverProject) -> None:
    """Cover a project with the zone this follow-up is keyed by, or go on to the next id."""
    project = _project_of(data)
    if (await ctx.db[store.PROJECTS].find_one({"_id": project["_id"]}) or {}).get("completed"):
        return  # completed meanwhile: no zone for it
    zone = await ctx.get(store.ZONES, data.zone_id)
    outcome = domain.cover_outcome(data.step, zone, project)
    if outcome == domain.CoverOutcome.COVERED:
        return
    if outcome == domain.CoverOutcome.ESTABLISH:
        if [z for z in await store.zones_covering(ctx.db, project["_id"]) if z["_id"] != data.zone_id]:
            return  # another zone covered it meanwhile
        if data.step == domain.CoverageStep.OWN_ZONE:
            zone = domain.cobuild_zone_for(project, data.zone_id, ctx.moment)
        else:
            zone = domain.alliance_zone_for(project, data.zone_id, ctx.moment)
        _announce(ctx, "zone.established", zone)
    elif outcome == domain.CoverOutcome.JOIN and zone is not None:
        zone = domain.join_alliance(zone, project)
        _announce(ctx, "zone.updated", zone)
    else:
        # Taken (a closed alliance, another zone): the next id, on its own partition.
        step = (
            domain.CoverageStep.OWN_ZONE
            if data.step == domain.CoverageStep.OWN_ZONE
            else domain.CoverageStep.FOUND_ALLIANCE
        )
        n = data.n + 1
        if n <= MAX_ZONE_N:
            _cover(ctx, data.project, project, step, n, _zone_id_of(step, project, n))
        return
    _announce_gap(ctx, zone, [project["_id"]])


def _project_of(data: ZoneCoverProject) -> domain.Project:
    p = data.project
    units = [u.model_dump() for u in p.units]
    return {
        "_id": p.project_id,
        "name": p.name,
        "category": p.category,
        "scale": p.scale,
        "key_project": p.key_project,
        "region": p.region,
        "planned_start": p.planned_start.isoformat(),
        "planned_end": p.planned_end.isoformat(),
        "units": units,
        "host_unit_id": data.host_unit_id or domain.host_unit_id(units),
    }


@handlers.on("zone.release-project", key=_zone_key)
async def on_release_project(ctx: HandlerContext, data: ZoneReleaseProject) -> None:
    zone = await ctx.get(store.ZONES, data.zone_id)
    if zone is None or data.project_id not in zone["project_ids"] or zone["status"] == "closed":
        return
    event_type, changed = domain.without_project(zone, data.project_id, ctx.moment)
    _announce(ctx, event_type, changed)


# --------------------------------------------------------------------------- pbz.zone.commands


def _decide(
    ctx: HandlerContext,
    zone_id: str,
    zone: domain.Zone | None,
    checks: domain.Refusal,
    member_id: str | None = None,
) -> bool:
    """Who sent it and what it asks, decided together; the outcome goes into the history and,
    when refused, out as ``zone.command-rejected``. True when the command is accepted."""
    actor = _actor(ctx)
    refusal = domain.merged(domain.check_actor(ctx.event.type, actor, zone, member_id), checks)
    _history(ctx, zone_id, actor, refusal.reasons, member_id)
    if refusal:
        _refuse(ctx, zone_id, refusal.reasons, zone)
        return False
    return True


@_command("zone.establish", _establish_key)
async def on_establish(ctx: HandlerContext, data: ZoneEstablish) -> None:
    zone_id = data.zone_id or domain.establish_zone_id(ctx.event.id)
    existing = await ctx.get(store.ZONES, zone_id)
    checks = domain.check_establish(data.model_dump(), existing, await store.name_taken(ctx.db, data.name))
    if not _decide(ctx, zone_id, existing, checks):
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
        signing=data.signing,
    )
    _announce(ctx, "zone.established", zone)
    _announce_gap(ctx, zone, zone["project_ids"])


@_command("zone.add-unit")
async def on_add_unit(ctx: HandlerContext, data: ZoneAddUnit) -> None:
    zone = await ctx.get(store.ZONES, data.zone_id)
    unit = {"unit_id": data.unit_id, "name": data.name, "role": data.role}
    if not _decide(ctx, data.zone_id, zone, domain.check_add_unit(zone, unit)) or zone is None:
        return
    # zone.updated carries the new status: adding the missing unit activates the zone.
    _announce(ctx, "zone.updated", domain.with_unit(zone, unit))


def _today(ctx: HandlerContext) -> date:
    return ctx.moment.astimezone(ctx.tz).date()


def _raise_transfers(ctx: HandlerContext, zone: domain.Zone, on: date) -> domain.Zone:
    """Raise ``zone.transfer-due`` for every floating member six months away on ``on`` and
    not raised before in this zone (once per member and zone); the zone remembers them."""
    due = floating.transfers_due(
        zone["_id"], domain.members_of(zone), on, already_raised=zone.get("transfers_raised", [])
    )
    for d in due:
        ctx.emit(
            "zone.transfer-due",
            {
                "zone": domain.snapshot(zone),
                "member_id": d.member_id,
                "name": d.name,
                "home_branch": d.home_branch,
                "employment": d.employment,
                "away_since": d.away_since,
                "due_on": d.due_on,
                "months_away": d.months_away,
            },
            key=zone["_id"],
        )
    return domain.with_transfers_raised(zone, [d.member_id for d in due])


@_command("zone.add-member")
async def on_add_member(ctx: HandlerContext, data: ZoneAddMember) -> None:
    zone = await ctx.get(store.ZONES, data.zone_id)
    member = domain.new_member(data.model_dump(), _today(ctx))
    checks = domain.check_add_member(zone, member)
    if not _decide(ctx, data.zone_id, zone, checks, data.member_id) or zone is None:
        return
    joined = domain.with_member(zone, member)
    stay = domain.brought_back_doc(zone["_id"], member)
    if stay is not None:
        ctx.put(store.BROUGHT_BACK, stay)
    _announce(ctx, "zone.member-joined", joined)
    # A member long away already: the transfer is due at once (the zone is stored again with it).
    ctx.put(store.ZONES, _raise_transfers(ctx, joined, _today(ctx)))


async def _close_stay(ctx: HandlerContext, zone_id: str, member_id: str, **update: Any) -> None:
    stay = await store.open_stay(ctx.db, zone_id, member_id)
    if stay is not None:
        ctx.put(store.BROUGHT_BACK, {**stay, **update})


@_command("zone.remove-member")
async def on_remove_member(ctx: HandlerContext, data: ZoneRemoveMember) -> None:
    zone = await ctx.get(store.ZONES, data.zone_id)
    checks = domain.check_remove_member(zone, data.member_id)
    if not _decide(ctx, data.zone_id, zone, checks, data.member_id) or zone is None:
        return
    await _close_stay(ctx, zone["_id"], data.member_id, left_on=_today(ctx).isoformat())
    left = domain.without_member(zone, data.member_id)
    _announce(ctx, "zone.member-left", {**left, "transfer_due_next": domain.next_transfer_due(left)})


@_command("zone.record-transfer")
async def on_record_transfer(ctx: HandlerContext, data: ZoneRecordTransfer) -> None:
    """The organisational relationship moved into the zone's branch: from that day the member votes."""
    zone = await ctx.get(store.ZONES, data.zone_id)
    checks = domain.check_record_transfer(zone, data.member_id, data.transferred_on)
    if not _decide(ctx, data.zone_id, zone, checks, data.member_id) or zone is None:
        return
    await _close_stay(ctx, zone["_id"], data.member_id, transferred_on=data.transferred_on.isoformat())
    moved = domain.with_member_transferred(zone, data.member_id, data.transferred_on, data.new_home_branch)
    _announce(ctx, "zone.updated", moved)


@_command("zone.configure")
async def on_configure(ctx: HandlerContext, data: ZoneConfigure) -> None:
    """The zone's own settings: its signing mode and the fixed day of its 主题党日."""
    zone = await ctx.get(store.ZONES, data.zone_id)
    checks = domain.check_configure(zone, data.signing, data.theme_party_day)
    if not _decide(ctx, data.zone_id, zone, checks) or zone is None:
        return
    _announce(ctx, "zone.updated", domain.with_settings(zone, data.signing, data.theme_party_day))


@_command("zone.erase-member")
async def on_erase_member(ctx: HandlerContext, data: ZoneEraseMember) -> None:
    """PIPL erasure: the roster entry loses its personal data here, and the snapshot that
    says so replaces every other service's copy."""
    zone = await ctx.get(store.ZONES, data.zone_id)
    checks = domain.check_erase_member(zone, data.member_id)
    if not _decide(ctx, data.zone_id, zone, checks, data.member_id) or zone is None:
        return
    for stay in await store.stays(ctx.db, zone["_id"], data.member_id):
        ctx.put(store.BROUGHT_BACK, {**stay, "name": domain.ERASED_NAME, "from_home_branch": ""})
    _announce(
        ctx, "zone.member-erased", domain.with_member_erased(zone, data.member_id), member_id=data.member_id
    )


@_command("zone.adopt-systems")
async def on_adopt_systems(ctx: HandlerContext, data: ZoneAdoptSystems) -> None:
    zone = await ctx.get(store.ZONES, data.zone_id)
    checks = domain.check_adopt_systems(zone, data.systems)
    if not _decide(ctx, data.zone_id, zone, checks) or zone is None:
        return
    _announce(ctx, "zone.updated", domain.with_systems(zone, data.systems))


@_command("zone.close")
async def on_close(ctx: HandlerContext, data: ZoneClose) -> None:
    zone = await ctx.get(store.ZONES, data.zone_id)
    if not _decide(ctx, data.zone_id, zone, domain.check_close(zone)) or zone is None:
        return
    _announce(ctx, "zone.closed", domain.closed(zone, ctx.moment))


# --------------------------------------------------------------------------- the clock


@handlers.on_tick
async def on_tick(ctx: HandlerContext, previous: datetime, now: datetime) -> None:
    """When a new day begins: one transfer check per zone with a transfer falling due (R4)."""
    today = now.astimezone(ctx.tz).date()
    if today <= previous.astimezone(ctx.tz).date():
        return
    for zone_id in await store.zones_with_transfers_due(ctx.db, today.isoformat()):
        ctx.emit("zone.check-transfers", {"zone_id": zone_id, "on": today}, key=zone_id)


@handlers.on("zone.check-transfers", key=_zone_key)
async def on_check_transfers(ctx: HandlerContext, data: ZoneCheckTransfers) -> None:
    zone = await ctx.get(store.ZONES, data.zone_id)
    if zone is None or zone["status"] == "closed":
        return
    checked = _raise_transfers(ctx, zone, data.on)
    if checked != zone:
        ctx.put(store.ZONES, checked)


# --------------------------------------------------------------------------- pbz.activity.events


@handlers.on("activity.attendance-recorded")
async def on_attendance(ctx: HandlerContext, data: AttendanceRecorded) -> None:
    """Who attended an activity (one fact per activity): the floating members' history counts it."""
    ctx.put(
        store.ATTENDANCE,
        {
            "_id": data.activity_id,
            "zone_id": data.zone_id,
            "local_date": data.started_at.astimezone(ctx.tz).date().isoformat(),
            "present": sorted(m.member_id for m in data.members if m.status == "present"),
        },
    )
