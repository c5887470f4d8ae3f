"""Zone-registry rules (SPEC §3.1), pure: no Kafka, no Mongo.

A zone is kept as one plain dict (its document): the snapshot fields plus members with
their phone numbers, which never leave the service (``snapshot`` strips them).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.events.catalog import (
    ALL_SYSTEMS,
    Employment,
    ProjectCategory,
    ProjectScale,
    UnitRole,
    ZoneMode,
    ZoneRole,
    ZoneStatus,
)

Zone = dict[str, Any]
Project = dict[str, Any]

REQUIRED_ROLES: dict[str, tuple[str, ...]] = {
    ZoneMode.PROJECT_COBUILD: (UnitRole.HOST, UnitRole.CONSTRUCTION, UnitRole.SUPERVISION),
    ZoneMode.REGIONAL_ALLIANCE: (UnitRole.HOST, UnitRole.CONSTRUCTION),
}
UNIT_ROLES = {r.value for r in UnitRole}
ZONE_ROLES = {r.value for r in ZoneRole}
EMPLOYMENTS = {e.value for e in Employment}
MODES = {m.value for m in ZoneMode}
ALLIANCE_CATEGORIES = {ProjectCategory.RENOVATION.value, ProjectCategory.SAFETY_REMEDIATION.value}


# --------------------------------------------------------------------------- status


def missing_roles(mode: str, units: list[dict[str, Any]]) -> list[str]:
    present = {u["role"] for u in units}
    return [r for r in REQUIRED_ROLES.get(mode, ()) if r not in present]


def status_of(zone: Zone) -> str:
    """Active with the required roles present, else proposed; closed stays closed."""
    if zone["status"] == ZoneStatus.CLOSED:
        return ZoneStatus.CLOSED
    return ZoneStatus.PROPOSED if missing_roles(zone["mode"], zone["units"]) else ZoneStatus.ACTIVE


def host_unit_id(units: list[dict[str, Any]]) -> str | None:
    return next((u["unit_id"] for u in units if u["role"] == UnitRole.HOST), None)


def merge_units(units: list[dict[str, Any]], more: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add units not yet there (same unit in the same role counts once)."""
    out = [dict(u) for u in units]
    seen = {(u["unit_id"], u["role"]) for u in out}
    for u in more:
        if (u["unit_id"], u["role"]) not in seen:
            out.append({"unit_id": u["unit_id"], "name": u["name"], "role": u["role"]})
            seen.add((u["unit_id"], u["role"]))
    return out


def is_floating(member: dict[str, Any]) -> bool:
    """Members employed other than as staff: floating members brought back into organisational life."""
    return bool(member.get("employment") != Employment.STAFF)


def snapshot(zone: Zone) -> dict[str, Any]:
    """The zone as other services see it: members without phone numbers."""
    return {
        "zone_id": zone["_id"],
        "name": zone["name"],
        "mode": zone["mode"],
        "status": zone["status"],
        "region": zone["region"],
        "host_unit_id": host_unit_id(zone["units"]),
        "project_ids": list(zone["project_ids"]),
        "units": [dict(u) for u in zone["units"]],
        "systems": list(zone["systems"]),
        "members": [{k: v for k, v in m.items() if k != "phone"} for m in zone["members"]],
        "established_at": zone["established_at"],
    }


# --------------------------------------------------------------------------- automatic coverage


def gets_own_zone(project: Project) -> bool:
    return project["scale"] == ProjectScale.LARGE or project["category"] in (
        ProjectCategory.NEW_BUILD,
        ProjectCategory.EPC,
    )


def joins_alliance(project: Project) -> bool:
    return project["scale"] == ProjectScale.SMALL and project["category"] in ALLIANCE_CATEGORIES


def cobuild_zone_id(project_id: str) -> str:
    return f"ZC-{project_id}"


def alliance_zone_id(host: str | None, region: str, n: int) -> str:
    # Regions are free text (often Chinese): a short digest keeps the id URL-friendly.
    digest = hashlib.sha1(region.encode()).hexdigest()[:6]
    return f"ZR-{host or 'nohost'}-{digest}-{n}"


def new_zone(
    *,
    zone_id: str,
    name: str,
    mode: str,
    region: str,
    project_ids: list[str],
    units: list[dict[str, Any]],
    systems: list[str] | None,
    at: datetime,
) -> Zone:
    zone: Zone = {
        "_id": zone_id,
        "name": name,
        "mode": mode,
        "status": ZoneStatus.PROPOSED,
        "region": region,
        "project_ids": list(project_ids),
        "units": merge_units([], units),
        "systems": list(ALL_SYSTEMS if systems is None else dict.fromkeys(systems)),
        "members": [],
        "established_at": at,
        "closed_at": None,
    }
    zone["status"] = status_of(zone)
    zone["host_unit_id"] = host_unit_id(zone["units"])
    return zone


def cobuild_zone_for(project: Project, at: datetime) -> Zone:
    return new_zone(
        zone_id=cobuild_zone_id(project["_id"]),
        name=f"{project['name']} 项目共建党建协作区",
        mode=ZoneMode.PROJECT_COBUILD,
        region=project["region"],
        project_ids=[project["_id"]],
        units=project["units"],
        systems=None,
        at=at,
    )


def alliance_zone_for(project: Project, n: int, at: datetime) -> Zone:
    return new_zone(
        zone_id=alliance_zone_id(project["host_unit_id"], project["region"], n),
        name=f"{project['region']} 区域联建党建协作区",
        mode=ZoneMode.REGIONAL_ALLIANCE,
        region=project["region"],
        project_ids=[project["_id"]],
        units=project["units"],
        systems=None,
        at=at,
    )


def join_alliance(zone: Zone, project: Project) -> Zone:
    joined = dict(zone)
    joined["project_ids"] = (
        [*zone["project_ids"], project["_id"]]
        if project["_id"] not in zone["project_ids"]
        else list(zone["project_ids"])
    )
    joined["units"] = merge_units(zone["units"], project["units"])
    return with_status(joined)


# --------------------------------------------------------------------------- commands


@dataclass
class Refusal:
    reasons: list[str] = field(default_factory=list)

    def add(self, code: str) -> None:
        if code not in self.reasons:
            self.reasons.append(code)

    def __bool__(self) -> bool:
        return bool(self.reasons)


def check_establish(data: dict[str, Any], existing: Zone | None, name_taken: bool) -> Refusal:
    r = Refusal()
    if existing is not None:
        r.add("zone_exists")
    if name_taken:
        r.add("duplicate_zone_name")
    if data["mode"] not in MODES:
        r.add("unknown_mode")
    if any(u["role"] not in UNIT_ROLES for u in data["units"]):
        r.add("unknown_role")
    if data.get("systems") is not None and any(s not in ALL_SYSTEMS for s in data["systems"]):
        r.add("unknown_system")
    return r


def check_open_zone(zone: Zone | None) -> Refusal:
    r = Refusal()
    if zone is None:
        r.add("unknown_zone")
    elif zone["status"] == ZoneStatus.CLOSED:
        r.add("zone_closed")
    return r


def check_add_unit(zone: Zone | None, unit: dict[str, Any]) -> Refusal:
    r = check_open_zone(zone)
    if unit["role"] not in UNIT_ROLES:
        r.add("unknown_role")
    if zone is not None and any(
        u["unit_id"] == unit["unit_id"] and u["role"] == unit["role"] for u in zone["units"]
    ):
        r.add("unit_already_in_zone")
    return r


def check_add_member(zone: Zone | None, member: dict[str, Any]) -> Refusal:
    r = check_open_zone(zone)
    if member["employment"] not in EMPLOYMENTS:
        r.add("unknown_employment")
    if member["zone_role"] not in ZONE_ROLES:
        r.add("unknown_role")
    if zone is not None:
        if any(m["member_id"] == member["member_id"] for m in zone["members"]):
            r.add("member_already_on_roster")
        if not any(u["unit_id"] == member["employer_unit_id"] for u in zone["units"]):
            r.add("employer_not_in_zone")
    return r


def check_remove_member(zone: Zone | None, member_id: str) -> Refusal:
    r = Refusal()
    if zone is None:
        r.add("unknown_zone")
    elif not any(m["member_id"] == member_id for m in zone["members"]):
        r.add("member_not_on_roster")
    return r


def check_adopt_systems(zone: Zone | None, systems: list[str]) -> Refusal:
    r = check_open_zone(zone)
    if not systems or any(s not in ALL_SYSTEMS for s in systems):
        r.add("unknown_system")
    return r


def check_close(zone: Zone | None) -> Refusal:
    r = Refusal()
    if zone is None:
        r.add("unknown_zone")
    elif zone["status"] == ZoneStatus.CLOSED:
        r.add("zone_already_closed")
    return r


def with_status(zone: Zone) -> Zone:
    """The zone with its status recomputed: adding the missing unit activates it."""
    return {**zone, "status": status_of(zone), "host_unit_id": host_unit_id(zone["units"])}
