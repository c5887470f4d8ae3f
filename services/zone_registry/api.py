"""Zone-registry HTTP: zones and rosters, projects, key-project coverage, figures; commands."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException
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
    counts = {
        "member_count": len(zone["members"]),
        "floating_member_count": sum(domain.is_floating(m) for m in zone["members"]),
    }
    if detail:
        return ZoneDetail(**snap, **counts)
    return ZoneView(**{k: v for k, v in snap.items() if k != "members"}, **counts)


@router.get("/zones", response_model=list[ZoneView])
async def list_zones(
    db: DbDep,
    status: ZoneStatus | None = None,
    mode: ZoneMode | None = None,
    host_unit_id: str | None = None,
    region: str | None = None,
) -> list[ZoneView]:
    query: dict[str, Any] = {}
    for field, value in (
        ("status", status),
        ("mode", mode),
        ("host_unit_id", host_unit_id),
        ("region", region),
    ):
        if value is not None:
            query[field] = str(value.value if isinstance(value, ZoneStatus | ZoneMode) else value)
    return [_view(z) for z in await store.all_zones(db, query)]


@router.get("/zones/{zone_id}", response_model=ZoneDetail, responses={404: {"model": Problem}})
async def get_zone(zone_id: str, db: DbDep) -> ZoneView:
    zone = await store.zone(db, zone_id)
    if zone is None:
        raise HTTPException(404, f"no zone {zone_id}")
    return _view(zone, detail=True)


def _covering(zones: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    by_project: dict[str, dict[str, Any]] = {}
    for z in sorted(zones, key=lambda z: (z["status"] != ZoneStatus.ACTIVE, z["_id"])):
        if z["status"] == ZoneStatus.CLOSED:
            continue
        for pid in z["project_ids"]:
            by_project.setdefault(pid, z)
    return by_project


@router.get("/projects", response_model=list[ProjectView])
async def list_projects(db: DbDep) -> list[ProjectView]:
    covering = _covering(await store.all_zones(db, {}))
    return [
        ProjectView(
            project_id=p["_id"],
            name=p["name"],
            category=p["category"],
            scale=p["scale"],
            key_project=p["key_project"],
            region=p["region"],
            host_unit_id=p.get("host_unit_id"),
            zone_id=covering[p["_id"]]["_id"] if p["_id"] in covering else None,
            completed=p.get("completed", False),
        )
        for p in await store.all_projects(db)
    ]


@router.get("/coverage", response_model=Coverage)
async def coverage(db: DbDep) -> Coverage:
    """Key projects covered by an active zone, as the party office reports it ("100% coverage")."""
    covering = _covering(await store.all_zones(db, {"status": ZoneStatus.ACTIVE}))
    key = [p for p in await store.all_projects(db) if p["key_project"] and not p.get("completed")]
    uncovered = [
        UncoveredProject(project_id=p["_id"], name=p["name"]) for p in key if p["_id"] not in covering
    ]
    covered = len(key) - len(uncovered)
    return Coverage(
        key_projects=len(key), covered=covered, share=covered / len(key) if key else 1.0, uncovered=uncovered
    )


@router.get("/stats", response_model=Stats)
async def stats(db: DbDep) -> Stats:
    zones = await store.all_zones(db, {})
    by_mode: dict[str, int] = {m.value: 0 for m in ZoneMode}
    by_status: dict[str, int] = {s.value: 0 for s in ZoneStatus}
    units: set[str] = set()
    members = floating = 0
    for z in zones:
        by_mode[z["mode"]] += 1
        by_status[z["status"]] += 1
        if z["status"] == ZoneStatus.CLOSED:
            continue
        units.update(u["unit_id"] for u in z["units"])
        members += len(z["members"])
        floating += sum(domain.is_floating(m) for m in z["members"])
    return Stats(
        zones_by_mode=by_mode,
        zones_by_status=by_status,
        units=len(units),
        members=members,
        floating_members=floating,
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
