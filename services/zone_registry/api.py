"""Zone-registry HTTP: zones and rosters, projects, key-project coverage, figures; commands.

Every route needs a bearer token (shared/auth.py). A roster is personal data: read by the
party office and the zone's own members only, each read in the access log; party branch,
employment and (masked) phone numbers only for the party office and the zone's secretary."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from shared.actor import Actor
from shared.auth import PrincipalDep, log_access, refuse, require
from shared.events.catalog import (
    PERIOD_YEAR,
    Employment,
    HttpReason,
    MemberStanding,
    Unit,
    ZoneAddMember,
    ZoneAddUnit,
    ZoneAdoptSystems,
    ZoneClose,
    ZoneConfigure,
    ZoneEraseMember,
    ZoneEstablish,
    ZoneMode,
    ZoneRecordTransfer,
    ZoneRemoveMember,
    ZoneSettings,
    ZoneStatus,
)
from shared.service import CommandAccepted, DbDep, IdempotencyKey, RuntimeDep, accept

from . import domain, floating, store

router = APIRouter(tags=["zone-registry"])
# Reading zones, projects and figures: any of the system's roles (not an integrator's token).
readers = [Depends(require("party_office", "hse", "zone_member"))]
party_office = [Depends(require("party_office"))]
members_or_office = [Depends(require("party_office", "zone_member"))]


class ZoneView(BaseModel):
    zone_id: str
    name: str
    mode: ZoneMode
    status: ZoneStatus
    region: str
    host_unit_id: str | None
    project_ids: list[str]
    units: list[Unit]
    systems: list[str]
    established_at: datetime
    member_count: int
    floating_member_count: int
    settings: ZoneSettings = Field(description="The zone's own settings: signing mode, fixed 主题党日")


class RosterEntry(BaseModel):
    member_id: str
    name: str
    zone_role: str
    erased: bool = Field(description="Personal data erased at the party office's request")
    home_branch: str | None = Field(None, description="Party office and the zone's secretary only")
    employer_unit_id: str | None = Field(None, description="Party office and the zone's secretary only")
    employment: Employment | None = Field(None, description="Party office and the zone's secretary only")
    phone: str | None = Field(None, description="In full for the party office; masked for the secretary")
    joined_on: date | None = Field(None, description="Party office and the zone's secretary only")
    away_since: date | None = Field(
        None, description="A floating member's day away from the home branch (party office, secretary)"
    )
    transferred_on: date | None = Field(
        None, description="The organisational relationship moved into the branch (party office, secretary)"
    )
    probationary: bool | None = Field(None, description="预备党员 (party office, secretary)")


class ZoneDetail(ZoneView):
    members: list[RosterEntry] = Field(description="The roster, as much of it as the caller may see")


class HistoryActor(BaseModel):
    type: str
    id: str
    roles: list[str]


class HistoryEntry(BaseModel):
    command_id: str
    command_type: str
    actor: HistoryActor | None = Field(description="Null: the command named nobody (actor_unknown)")
    accepted: bool
    reasons: list[str]
    member_id: str | None
    at: datetime


class HistoryPage(BaseModel):
    zone_id: str
    items: list[HistoryEntry]
    total: int
    page: int
    page_size: int


class ProjectView(BaseModel):
    project_id: str
    name: str
    category: str
    scale: str
    key_project: bool
    region: str
    host_unit_id: str | None
    zone_id: str | None = Field(description="The zone covering it (active first), if any")
    completed: bool


class UncoveredProject(BaseModel):
    project_id: str
    name: str


class Coverage(BaseModel):
    key_projects: int
    covered: int = Field(description="Key projects in an active zone")
    share: float = Field(ge=0, le=1)
    uncovered: list[UncoveredProject]


class Stats(BaseModel):
    zones_by_mode: dict[str, int] = Field(description="Collaboration zones (comparison zones apart)")
    zones_by_status: dict[str, int] = Field(description="Collaboration zones (comparison zones apart)")
    units: int = Field(description="Distinct units taking part in collaboration zones that are not closed")
    members: int = Field(description="Members of the collaboration zones that are not closed")
    floating_members: int = Field(
        description="Members not employed as staff, brought back into organisational life"
    )
    comparison_zones: int = Field(
        description="Comparison zones (signing sequential: the old route), counted apart from the above"
    )
    comparison_members: int = Field(description="Members of the comparison zones that are not closed")


class Problem(BaseModel):
    detail: str


def _view(zone: dict[str, Any], reader: Actor | None = None) -> ZoneView:
    snap = {k: v for k, v in domain.snapshot(zone).items() if k != "members"}
    counts = {"member_count": len(zone["members"]), "floating_member_count": domain.floating_count(zone)}
    if reader is not None:
        roster = [RosterEntry(**m) for m in domain.roster_view(zone, reader)]
        return ZoneDetail(**snap, **counts, members=roster)
    return ZoneView(**snap, **counts)


# Free-text filters are bounded so a query never carries an arbitrarily long value.
TextFilter = Annotated[str | None, Query(min_length=1, max_length=200)]


@router.get("/zones", response_model=list[ZoneView], dependencies=readers)
async def list_zones(
    db: DbDep,
    status: ZoneStatus | None = None,
    mode: ZoneMode | None = None,
    host_unit_id: TextFilter = None,
    region: TextFilter = None,
) -> list[ZoneView]:
    """Zones, filtered by status, mode, host unit and region (members are counted, not listed)."""
    filters = {"status": status, "mode": mode, "host_unit_id": host_unit_id, "region": region}
    query = {k: str(v) for k, v in filters.items() if v is not None}
    return [_view(z) for z in await store.all_zones(db, query)]


@router.get("/zones/{zone_id}", response_model=ZoneDetail, responses={404: {"model": Problem}})
async def get_zone(zone_id: str, db: DbDep, principal: PrincipalDep) -> ZoneView:
    """A zone with its roster, for the party office and the zone's own members (each read is
    in the access log)."""
    zone = await store.zone(db, zone_id)
    reader = principal.actor()
    if zone is None:
        if not principal.has("party_office"):
            # Saying "no such zone" to anyone would let them probe which zones exist.
            raise refuse(HttpReason.NOT_IN_ZONE, "only the party office and the zone's members read a roster")
        raise HTTPException(404, f"no zone {zone_id}")
    if not domain.may_read_roster(zone, reader):
        raise refuse(HttpReason.NOT_IN_ZONE, "only the party office and the zone's members read a roster")
    log_access(principal, "roster_read", zone_id=zone_id)
    return _view(zone, reader)


@router.get("/zones/{zone_id}/history", response_model=HistoryPage, responses={404: {"model": Problem}})
async def zone_history(
    zone_id: str,
    db: DbDep,
    principal: PrincipalDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 100,
) -> HistoryPage:
    """Every command sent for the zone, accepted or refused, with its actor (party office and
    the zone's secretary)."""
    zone = await store.zone(db, zone_id)
    if zone is None and principal.has("party_office"):
        raise HTTPException(404, f"no zone {zone_id}")
    if zone is None or not domain.may_read_history(zone, principal.actor()):
        raise refuse(
            HttpReason.NOT_SECRETARY, "only the party office and the zone's secretary read its history"
        )
    log_access(principal, "zone_history_read", zone_id=zone_id)
    docs = await store.history(db, zone_id, page_size, (page - 1) * page_size)
    return HistoryPage(
        zone_id=zone_id,
        items=[
            HistoryEntry(
                command_id=d["_id"], **{k: v for k, v in d.items() if k in HistoryEntry.model_fields}
            )
            for d in docs
        ],
        total=await store.history_count(db, zone_id),
        page=page,
        page_size=page_size,
    )


@router.get("/projects", response_model=list[ProjectView], dependencies=readers)
async def list_projects(
    db: DbDep, key_project: bool | None = None, region: TextFilter = None
) -> list[ProjectView]:
    """Projects known from the project-management system, with the zone covering each."""
    query: dict[str, Any] = {}
    if key_project is not None:
        query["key_project"] = key_project
    if region is not None:
        query["region"] = region
    covering = domain.covering_zone_ids(await store.all_zones(db, {"status": {"$ne": ZoneStatus.CLOSED}}))
    return [
        ProjectView(
            project_id=p["_id"],
            name=p["name"],
            category=p["category"],
            scale=p["scale"],
            key_project=p["key_project"],
            region=p["region"],
            host_unit_id=p.get("host_unit_id"),
            zone_id=covering.get(p["_id"]),
            completed=p.get("completed", False),
        )
        for p in await store.all_projects(db, query)
    ]


@router.get("/coverage", response_model=Coverage, dependencies=readers)
async def coverage(db: DbDep) -> Coverage:
    """Key projects covered by an active zone, as the party office reports it ("100% coverage")."""
    figures = domain.coverage(
        await store.all_projects(db, {"key_project": True}),
        await store.all_zones(db, {"status": ZoneStatus.ACTIVE}),
    )
    return Coverage(
        key_projects=figures.key_projects,
        covered=figures.covered,
        share=figures.share,
        uncovered=[UncoveredProject(project_id=p["_id"], name=p["name"]) for p in figures.uncovered],
    )


@router.get("/stats", response_model=Stats, dependencies=readers)
async def stats(db: DbDep) -> Stats:
    """Collaboration zones by mode and status, units taking part, members and floating members
    brought back; the comparison zones (the old route, signing sequential) counted apart."""
    f = domain.figures(await store.all_zones(db, {}))
    return Stats(
        zones_by_mode=f.zones_by_mode,
        zones_by_status=f.zones_by_status,
        units=f.units,
        members=f.members,
        floating_members=f.floating_members,
        comparison_zones=f.comparison_zones,
        comparison_members=f.comparison_members,
    )


# --------------------------------------------------------------------------- commands


class UnitBody(BaseModel):
    unit_id: str = Field(min_length=1)
    name: str
    role: str


class MemberBody(BaseModel):
    member_id: str = Field(min_length=1)
    name: str
    home_branch: str
    employer_unit_id: str
    employment: str
    zone_role: str
    phone: str | None = None
    away_since: date | None = Field(
        None, description="A floating member: the day they left the home branch (default: the day they join)"
    )
    probationary: bool | None = Field(None, description="预备党员: no vote (党章 第七条)")


class SettingsBody(BaseModel):
    signing: str | None = Field(None, description="parallel or sequential (SigningMode)")
    theme_party_day: int | None = Field(None, description="The fixed day of each month for the 主题党日")


class TransferBody(BaseModel):
    transferred_on: date
    new_home_branch: str | None = None


class SystemsBody(BaseModel):
    systems: list[str]


class ReasonBody(BaseModel):
    reason: str | None = None


@router.post("/zones", response_model=CommandAccepted, status_code=202, dependencies=party_office)
async def establish(
    body: ZoneEstablish, runtime: RuntimeDep, principal: PrincipalDep, idempotency: IdempotencyKey = None
) -> CommandAccepted:
    """Establish a zone by hand (``zone.establish``, party office); the answer comes as a zone event."""
    return await accept(runtime, "zone.establish", body, body.zone_id, principal.actor(), idempotency)


@router.post(
    "/zones/{zone_id}/units", response_model=CommandAccepted, status_code=202, dependencies=party_office
)
async def add_unit(
    zone_id: str,
    body: UnitBody,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    idempotency: IdempotencyKey = None,
) -> CommandAccepted:
    cmd = ZoneAddUnit(zone_id=zone_id, **body.model_dump())
    return await accept(runtime, "zone.add-unit", cmd, zone_id, principal.actor(), idempotency)


@router.post(
    "/zones/{zone_id}/members",
    response_model=CommandAccepted,
    status_code=202,
    dependencies=members_or_office,
)
async def add_member(
    zone_id: str,
    body: MemberBody,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    idempotency: IdempotencyKey = None,
) -> CommandAccepted:
    """Add a member (``zone.add-member``): the zone's secretary or the party office, never oneself."""
    cmd = ZoneAddMember(zone_id=zone_id, **body.model_dump())
    return await accept(runtime, "zone.add-member", cmd, zone_id, principal.actor(), idempotency)


@router.post(
    "/zones/{zone_id}/members/{member_id}/remove",
    response_model=CommandAccepted,
    status_code=202,
    dependencies=members_or_office,
)
async def remove_member(
    zone_id: str,
    member_id: str,
    body: ReasonBody,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    idempotency: IdempotencyKey = None,
) -> CommandAccepted:
    """Remove a member (``zone.remove-member``): the zone's secretary or the party office."""
    cmd = ZoneRemoveMember(zone_id=zone_id, member_id=member_id, reason=body.reason)
    return await accept(runtime, "zone.remove-member", cmd, zone_id, principal.actor(), idempotency)


@router.post(
    "/zones/{zone_id}/members/{member_id}/erase",
    response_model=CommandAccepted,
    status_code=202,
    dependencies=party_office,
)
async def erase_member(
    zone_id: str,
    member_id: str,
    body: ReasonBody,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    idempotency: IdempotencyKey = None,
) -> CommandAccepted:
    """Erase a member's personal data (``zone.erase-member``, party office): names replaced in
    every service's store, the member id kept for the figures."""
    cmd = ZoneEraseMember(zone_id=zone_id, member_id=member_id, reason=body.reason)
    return await accept(runtime, "zone.erase-member", cmd, zone_id, principal.actor(), idempotency)


@router.post(
    "/zones/{zone_id}/systems", response_model=CommandAccepted, status_code=202, dependencies=party_office
)
async def adopt_systems(
    zone_id: str,
    body: SystemsBody,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    idempotency: IdempotencyKey = None,
) -> CommandAccepted:
    cmd = ZoneAdoptSystems(zone_id=zone_id, systems=body.systems)
    return await accept(runtime, "zone.adopt-systems", cmd, zone_id, principal.actor(), idempotency)


@router.post(
    "/zones/{zone_id}/close", response_model=CommandAccepted, status_code=202, dependencies=party_office
)
async def close(
    zone_id: str,
    body: ReasonBody,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    idempotency: IdempotencyKey = None,
) -> CommandAccepted:
    cmd = ZoneClose(zone_id=zone_id, reason=body.reason)
    return await accept(runtime, "zone.close", cmd, zone_id, principal.actor(), idempotency)


@router.post(
    "/zones/{zone_id}/settings", response_model=CommandAccepted, status_code=202, dependencies=party_office
)
async def configure(
    zone_id: str,
    body: SettingsBody,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    idempotency: IdempotencyKey = None,
) -> CommandAccepted:
    """Change the zone's own settings (``zone.configure``, party office): its signing mode and the
    fixed day of its 主题党日; the answer is ``zone.updated`` or ``zone.command-rejected``."""
    cmd = ZoneConfigure(zone_id=zone_id, **body.model_dump())
    return await accept(runtime, "zone.configure", cmd, zone_id, principal.actor(), idempotency)


@router.post(
    "/zones/{zone_id}/members/{member_id}/transfer",
    response_model=CommandAccepted,
    status_code=202,
    dependencies=members_or_office,
)
async def record_transfer(
    zone_id: str,
    member_id: str,
    body: TransferBody,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    idempotency: IdempotencyKey = None,
) -> CommandAccepted:
    """Record that a floating member's organisational relationship moved into the zone's branch
    (``zone.record-transfer``, the zone's secretary or the party office): from then on they vote."""
    cmd = ZoneRecordTransfer(zone_id=zone_id, member_id=member_id, **body.model_dump())
    return await accept(runtime, "zone.record-transfer", cmd, zone_id, principal.actor(), idempotency)


# --------------------------------------------------------------------------- floating members


class BroughtBackView(BaseModel):
    zone_id: str
    member_id: str
    name: str
    employment: str
    from_home_branch: str
    away_since: date | None
    brought_back_on: date | None
    left_on: date | None
    transfer_due_on: date | None
    transferred_on: date | None
    activities_attended: int = Field(description="Activities attended in the zone since brought back")
    last_attended_on: date | None
    standing: MemberStanding = Field(description="On the day asked: certificate, transfer_due or transferred")


class FloatingFigures(BaseModel):
    ever: int = Field(description="Stays of floating members in zones, those who left included")
    members: int = Field(description="Distinct members among them")
    on_rosters: int
    left: int
    holding_certificate: int = Field(description="Away under six months: 流动党员活动证")
    transfer_due: int
    transferred: int
    attended_any: int
    attendances: int
    by_employment: dict[str, int]
    brought_back_in_period: int


class FloatingMembers(BaseModel):
    on: date
    year: str | None
    zone_id: str | None
    figures: FloatingFigures
    members: list[BroughtBackView]


async def _floating(db: Any, on: date, year: str | None, zone_id: str | None) -> FloatingMembers:
    attended = await store.attended_days(db, zone_id)
    records = [
        domain.brought_back_record(
            doc, [date.fromisoformat(d) for d in attended.get((doc["zone_id"], doc["member_id"]), [])]
        )
        for doc in await store.stays(db, zone_id)
    ]
    period = (date(int(year), 1, 1), date(int(year), 12, 31)) if year else None
    f = floating.figures(records, on, period)
    views = [BroughtBackView(**vars(r), standing=r.standing_on(on)) for r in records]
    return FloatingMembers(
        on=on, year=year, zone_id=zone_id, figures=FloatingFigures(**vars(f)), members=views
    )


OnDay = Annotated[date | None, Query(description="The day the figures stand on (default: today)")]
Year = Annotated[str | None, Query(pattern=PERIOD_YEAR, description="Also count those brought back in YYYY")]


@router.get("/floating-members", response_model=FloatingMembers, dependencies=party_office)
async def floating_members(
    runtime: RuntimeDep, principal: PrincipalDep, on: OnDay = None, year: Year = None
) -> FloatingMembers:
    """Every floating member brought back into organisational life, in every zone, ever: when,
    from which home branch, the activities attended since, where the transfer stands; and the
    party office's figures (party office only: home branches are sensitive; in the access log)."""
    log_access(principal, "floating_members_read")
    return await _floating(runtime.db, on or runtime.clock.now().date(), year, None)


@router.get(
    "/zones/{zone_id}/floating-members", response_model=FloatingMembers, responses={404: {"model": Problem}}
)
async def zone_floating_members(
    zone_id: str, runtime: RuntimeDep, principal: PrincipalDep, on: OnDay = None, year: Year = None
) -> FloatingMembers:
    """The zone's floating members brought back, for the party office and the zone's secretary."""
    zone = await store.zone(runtime.db, zone_id)
    if zone is None and principal.has("party_office"):
        raise HTTPException(404, f"no zone {zone_id}")
    if zone is None or not domain.may_read_history(zone, principal.actor()):
        raise refuse(
            HttpReason.NOT_SECRETARY,
            "only the party office and the zone's secretary read its floating members",
        )
    log_access(principal, "floating_members_read", zone_id=zone_id)
    return await _floating(runtime.db, on or runtime.clock.now().date(), year, zone_id)
