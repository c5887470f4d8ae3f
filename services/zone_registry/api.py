"""Zone-registry HTTP: zones and rosters, projects, key-project coverage, figures; commands."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from shared.events.catalog import (
    Member,
    Unit,
    ZoneAddMember,
    ZoneAddUnit,
    ZoneAdoptSystems,
    ZoneClose,
    ZoneEstablish,
    ZoneMode,
    ZoneRemoveMember,
    ZoneStatus,
)
from shared.service import CommandAccepted, DbDep, RuntimeDep, accept

from . import domain, store

router = APIRouter(tags=["zone-registry"])


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


class ZoneDetail(ZoneView):
    members: list[Member] = Field(description="The roster; phone numbers are never shown")


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
    zones_by_mode: dict[str, int]
    zones_by_status: dict[str, int]
    units: int = Field(description="Distinct units taking part in zones that are not closed")
    members: int
    floating_members: int = Field(
        description="Members not employed as staff, brought back into organisational life"
    )


class Problem(BaseModel):
    detail: str


def _view(zone: dict[str, Any], detail: bool = False) -> ZoneView:
    snap = domain.snapshot(zone)
    counts = {"member_count": len(zone["members"]), "floating_member_count": domain.floating_count(zone)}
    if detail:
        return ZoneDetail(**snap, **counts)
    return ZoneView(**{k: v for k, v in snap.items() if k != "members"}, **counts)


# Free-text filters are bounded so a query never carries an arbitrarily long value.
TextFilter = Annotated[str | None, Query(min_length=1, max_length=200)]


@router.get("/zones", response_model=list[ZoneView])
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
async def get_zone(zone_id: str, db: DbDep) -> ZoneView:
    """A zone with its roster; phone numbers are never shown."""
    zone = await store.zone(db, zone_id)
    if zone is None:
        raise HTTPException(404, f"no zone {zone_id}")
    return _view(zone, detail=True)


@router.get("/projects", response_model=list[ProjectView])
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


@router.get("/coverage", response_model=Coverage)
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


@router.get("/stats", response_model=Stats)
async def stats(db: DbDep) -> Stats:
    """Zones by mode and status, units taking part, members and floating members brought back."""
    f = domain.figures(await store.all_zones(db, {}))
    return Stats(
        zones_by_mode=f.zones_by_mode,
        zones_by_status=f.zones_by_status,
        units=f.units,
        members=f.members,
        floating_members=f.floating_members,
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


class SystemsBody(BaseModel):
    systems: list[str]


class ReasonBody(BaseModel):
    reason: str | None = None


@router.post("/zones", response_model=CommandAccepted, status_code=202)
async def establish(body: ZoneEstablish, runtime: RuntimeDep) -> CommandAccepted:
    """Establish a zone by hand (``zone.establish``); the answer comes as a zone event."""
    return await accept(runtime, "zone.establish", body, body.zone_id)


@router.post("/zones/{zone_id}/units", response_model=CommandAccepted, status_code=202)
async def add_unit(zone_id: str, body: UnitBody, runtime: RuntimeDep) -> CommandAccepted:
    return await accept(runtime, "zone.add-unit", ZoneAddUnit(zone_id=zone_id, **body.model_dump()), zone_id)


@router.post("/zones/{zone_id}/members", response_model=CommandAccepted, status_code=202)
async def add_member(zone_id: str, body: MemberBody, runtime: RuntimeDep) -> CommandAccepted:
    return await accept(
        runtime, "zone.add-member", ZoneAddMember(zone_id=zone_id, **body.model_dump()), zone_id
    )


@router.post("/zones/{zone_id}/members/{member_id}/remove", response_model=CommandAccepted, status_code=202)
async def remove_member(
    zone_id: str, member_id: str, body: ReasonBody, runtime: RuntimeDep
) -> CommandAccepted:
    cmd = ZoneRemoveMember(zone_id=zone_id, member_id=member_id, reason=body.reason)
    return await accept(runtime, "zone.remove-member", cmd, zone_id)


@router.post("/zones/{zone_id}/systems", response_model=CommandAccepted, status_code=202)
async def adopt_systems(zone_id: str, body: SystemsBody, runtime: RuntimeDep) -> CommandAccepted:
    return await accept(
        runtime, "zone.adopt-systems", ZoneAdoptSystems(zone_id=zone_id, systems=body.systems), zone_id
    )


@router.post("/zones/{zone_id}/close", response_model=CommandAccepted, status_code=202)
async def close(zone_id: str, body: ReasonBody, runtime: RuntimeDep) -> CommandAccepted:
    return await accept(runtime, "zone.close", ZoneClose(zone_id=zone_id, reason=body.reason), zone_id)
