"""Zone-registry rules (SPEC §3.1), pure: no Kafka, no Mongo.

A zone is kept as one plain dict (its document): the snapshot fields plus members with
their phone numbers, which never leave the service (``snapshot`` strips them).

Who may change a zone is decided here too (``check_actor``): the party office manages zones;
a roster changes only by the zone's secretary or the party office; nobody adds themselves.
Who may read what of a roster (``roster_view``): names and roles to the zone's members,
party branch and employment only to the party office and the zone's secretary, phone
numbers masked unless the party office asks.
A project is kept as one plain dict too (``_id`` = project id, its units, ``completed``).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from shared.actor import Actor, AuthType
from shared.events.catalog import (
    ALL_SYSTEMS,
    ActorRefusal,
    Employment,
    Member,
    ProjectCategory,
    ProjectScale,
    SigningMode,
    UnitRole,
    ZoneMode,
    ZoneRole,
    ZoneSettingRefusal,
    ZoneSettings,
    ZoneStatus,
    is_comparison_zone,
)
from shared.membership import transfer_due_on

from . import floating as floating_rules

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
    return [str(r) for r in REQUIRED_ROLES.get(mode, ()) if r not in present]


def status_of(zone: Zone) -> str:
    """Active with the required roles present, else proposed; closed stays closed."""
    if zone["status"] == ZoneStatus.CLOSED:
        return str(ZoneStatus.CLOSED)
    return str(ZoneStatus.PROPOSED if missing_roles(zone["mode"], zone["units"]) else ZoneStatus.ACTIVE)


def with_status(zone: Zone) -> Zone:
    """The zone with its status recomputed: adding the missing unit activates it."""
    return {**zone, "status": status_of(zone), "host_unit_id": host_unit_id(zone["units"])}


def host_unit_id(units: list[dict[str, Any]]) -> str | None:
    return next((u["unit_id"] for u in units if u["role"] == UnitRole.HOST), None)


def host_unit_name(units: list[dict[str, Any]]) -> str | None:
    return next((u["name"] for u in units if u["role"] == UnitRole.HOST), None)


def merge_units(units: list[dict[str, Any]], more: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add units not yet there (the same unit in the same role counts once)."""
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


def floating_count(zone: Zone) -> int:
    return sum(is_floating(m) for m in zone["members"])


MEMBER_FIELDS = tuple(Member.model_fields)


def snapshot(zone: Zone) -> dict[str, Any]:
    """The zone as other services see it: members without phone numbers (only the declared
    member fields leave), and the zone's own settings."""
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
        "members": [{k: m[k] for k in MEMBER_FIELDS if k in m} for m in zone["members"]],
        "established_at": zone["established_at"],
        "settings": settings_of(zone).model_dump(mode="json"),
    }


def settings_of(zone: Zone) -> ZoneSettings:
    return ZoneSettings.model_validate(zone.get("settings") or {})


# --------------------------------------------------------------------------- zone ids and names


def region_slug(region: str) -> str:
    """A URL-friendly, deterministic slug of a free-text (often Chinese) region name.

    A region already written as a slug is kept as it is; any other name keeps its ASCII
    letters and digits for readability plus a digest of the whole name, so two different
    regions never share a slug (a shared slug would make two alliances share an id)."""
    if re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", region):
        return region
    digest = hashlib.sha1(region.encode()).hexdigest()[:8]
    readable = "-".join(re.findall(r"[a-z0-9]+", region.lower()))
    return f"{readable}-{digest}" if readable else digest


def cobuild_zone_id(project_id: str, n: int = 1) -> str:
    # n > 1 only if ZC-<project> is already taken (a hand-made zone, or a closed one).
    return f"ZC-{project_id}" if n == 1 else f"ZC-{project_id}-{n}"


def alliance_zone_id(host: str | None, region: str, n: int) -> str:
    return f"ZR-{host or 'nohost'}-{region_slug(region)}-{n}"


def establish_zone_id(command_id: str) -> str:
    """The id of a zone established by hand without one: derived from the command, so a
    redelivered command names the same zone."""
    return f"Z-{hashlib.sha1(command_id.encode()).hexdigest()[:10]}"


def alliance_name(project: Project) -> str:
    # Several host units may share a region: the host's name keeps the names distinct.
    host = host_unit_name(project["units"]) or ""
    region = project["region"]
    return f"{region}{'' if host in region else host} 区域联建党建协作区"


# --------------------------------------------------------------------------- new zones


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
    signing: str | None = None,
) -> Zone:
    zone: Zone = {
        "_id": zone_id,
        "name": name,
        "mode": mode,
        "status": ZoneStatus.PROPOSED.value,
        "region": region,
        "project_ids": list(dict.fromkeys(project_ids)),
        "units": merge_units([], units),
        "systems": list(ALL_SYSTEMS if systems is None else dict.fromkeys(systems)),
        "members": [],
        "established_at": at,
        "closed_at": None,
        "settings": ZoneSettings(signing=SigningMode(signing or SigningMode.PARALLEL)).model_dump(
            mode="json"
        ),
    }
    return with_status(zone)


def cobuild_zone_for(project: Project, zone_id: str, at: datetime) -> Zone:
    return new_zone(
        zone_id=zone_id,
        name=f"{project['name']} 项目共建党建协作区",
        mode=ZoneMode.PROJECT_COBUILD,
        region=project["region"],
        project_ids=[project["_id"]],
        units=project["units"],
        systems=None,
        at=at,
    )


def alliance_zone_for(project: Project, zone_id: str, at: datetime) -> Zone:
    return new_zone(
        zone_id=zone_id,
        name=alliance_name(project),
        mode=ZoneMode.REGIONAL_ALLIANCE,
        region=project["region"],
        project_ids=[project["_id"]],
        units=project["units"],
        systems=None,
        at=at,
    )


# --------------------------------------------------------------------------- automatic coverage


def gets_own_zone(project: Project) -> bool:
    return project["scale"] == ProjectScale.LARGE or project["category"] in (
        ProjectCategory.NEW_BUILD,
        ProjectCategory.EPC,
    )


def joins_alliance(project: Project) -> bool:
    return project["scale"] == ProjectScale.SMALL and project["category"] in ALLIANCE_CATEGORIES


class CoverageStep(StrEnum):
    """What automatic coverage does for a registered project."""

    NOTHING = "nothing"  # not key, already in a zone, or a kind of project no rule covers
    OWN_ZONE = "own_zone"  # a project_cobuild zone of its own
    JOIN_ALLIANCE = "join_alliance"  # joins an open regional alliance of its host and region
    FOUND_ALLIANCE = "found_alliance"  # founds that alliance


@dataclass
class CoveragePlan:
    step: CoverageStep
    alliance: Zone | None = None  # the alliance to join


def plan_coverage(project: Project, covering: list[Zone], alliances: list[Zone]) -> CoveragePlan:
    """How a registered project gets covered.

    ``covering``: the open zones that already list the project (a proposed one already
    says what it misses, so no second zone is made). ``alliances``: the open regional
    alliances of the project's host unit and region. An active one is joined first; a
    proposed one is joined rather than founding a second alliance beside it — the
    project's units may be exactly what activates it. A comparison zone (the old sequential
    sign-off) covers nothing: it is there to be compared with."""
    covering = [z for z in covering if not is_comparison_zone(z)]
    alliances = [z for z in alliances if not is_comparison_zone(z)]
    if not project["key_project"] or covering:
        return CoveragePlan(CoverageStep.NOTHING)
    if gets_own_zone(project):
        return CoveragePlan(CoverageStep.OWN_ZONE)
    if not joins_alliance(project):
        return CoveragePlan(CoverageStep.NOTHING)
    open_ones = sorted(
        (z for z in alliances if z["status"] != ZoneStatus.CLOSED),
        key=lambda z: (z["status"] != ZoneStatus.ACTIVE, z["_id"]),
    )
    if open_ones:
        return CoveragePlan(CoverageStep.JOIN_ALLIANCE, open_ones[0])
    return CoveragePlan(CoverageStep.FOUND_ALLIANCE)


class CoverOutcome(StrEnum):
    """What a zone id, targeted by a project's coverage, does for the project."""

    COVERED = "covered"  # the zone already lists the project: nothing to do
    ESTABLISH = "establish"  # no zone has the id: establish it for the project
    JOIN = "join"  # an open alliance of the project's host and region: the project joins
    NEXT = "next"  # the id is taken by another zone: try the next id of the sequence


def cover_outcome(step: CoverageStep | str, zone: Zone | None, project: Project) -> CoverOutcome:
    """The decision at the target zone itself (on its partition, R1): the plan was made
    from what another partition saw, and the zone may have changed since."""
    if zone is not None and project["_id"] in zone["project_ids"]:
        return CoverOutcome.COVERED
    if zone is None:
        return CoverOutcome.ESTABLISH
    if (
        step != CoverageStep.OWN_ZONE
        and zone["mode"] == ZoneMode.REGIONAL_ALLIANCE
        and zone["status"] != ZoneStatus.CLOSED
        and zone.get("host_unit_id") == project["host_unit_id"]
        and zone["region"] == project["region"]
    ):
        return CoverOutcome.JOIN
    return CoverOutcome.NEXT


def join_alliance(zone: Zone, project: Project) -> Zone:
    project_ids = list(dict.fromkeys([*zone["project_ids"], project["_id"]]))
    return with_status(
        {**zone, "project_ids": project_ids, "units": merge_units(zone["units"], project["units"])}
    )


def gap_of(zone: Zone) -> list[str]:
    """The roles a proposed zone misses (what ``zone.coverage-gap`` names); none otherwise."""
    if zone["status"] != ZoneStatus.PROPOSED:
        return []
    return missing_roles(zone["mode"], zone["units"])


# --------------------------------------------------------------------------- changes


def closed(zone: Zone, at: datetime) -> Zone:
    return {**zone, "status": ZoneStatus.CLOSED.value, "closed_at": at}


def without_project(zone: Zone, project_id: str, at: datetime) -> tuple[str, Zone]:
    """A completed project leaves its zones: a project_cobuild zone closes; a regional
    alliance loses the project and closes when it has none left. Returns the event type."""
    if zone["mode"] == ZoneMode.PROJECT_COBUILD:
        return "zone.closed", closed(zone, at)
    remaining = [p for p in zone["project_ids"] if p != project_id]
    if remaining:
        return "zone.updated", {**zone, "project_ids": remaining}
    return "zone.closed", closed({**zone, "project_ids": remaining}, at)


def with_unit(zone: Zone, unit: dict[str, Any]) -> Zone:
    return with_status({**zone, "units": merge_units(zone["units"], [unit])})


def with_member(zone: Zone, member: dict[str, Any]) -> Zone:
    return {**zone, "members": [*zone["members"], member]}


def without_member(zone: Zone, member_id: str) -> Zone:
    return {**zone, "members": [m for m in zone["members"] if m["member_id"] != member_id]}


def with_systems(zone: Zone, systems: list[str]) -> Zone:
    return {**zone, "systems": list(dict.fromkeys([*zone["systems"], *systems]))}


# --------------------------------------------------------------------------- command checks


@dataclass
class Refusal:
    """The reason codes a command is refused for; empty means accepted."""

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
    if data.get("signing") is not None and data["signing"] not in floating_rules.SIGNING_MODES:
        r.add(ZoneSettingRefusal.UNKNOWN_SIGNING_MODE)
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
    r = check_open_zone(zone)
    if zone is not None and not any(m["member_id"] == member_id for m in zone["members"]):
        r.add("member_not_on_roster")
    return r


def check_adopt_systems(zone: Zone | None, systems: list[str]) -> Refusal:
    r = check_open_zone(zone)
    if not systems or any(s not in ALL_SYSTEMS for s in systems):
        r.add("unknown_system")
    elif zone is not None and set(systems) <= set(zone["systems"]):
        # Nothing would change: say so rather than announce an identical snapshot.
        r.add("systems_already_adopted")
    return r


def check_close(zone: Zone | None) -> Refusal:
    r = Refusal()
    if zone is None:
        r.add("unknown_zone")
    elif zone["status"] == ZoneStatus.CLOSED:
        r.add("zone_already_closed")
    return r


def check_erase_member(zone: Zone | None, member_id: str) -> Refusal:
    """Erasure applies to closed zones too: their rosters still hold the person's data."""
    r = Refusal()
    if zone is None:
        r.add("unknown_zone")
    elif not any(m["member_id"] == member_id for m in zone["members"]):
        r.add("member_not_on_roster")
    return r


# --------------------------------------------------------------------------- who may do it

PARTY_OFFICE = "party_office"
# The roster and the members' organisational relationship: the zone's secretary or the party office.
ROSTER_COMMANDS = ("zone.add-member", "zone.remove-member", "zone.record-transfer")


def is_secretary(zone: Zone | None, member_id: str) -> bool:
    return zone is not None and any(
        m["member_id"] == member_id and m["zone_role"] == ZoneRole.SECRETARY for m in zone["members"]
    )


def on_roster(zone: Zone | None, member_id: str) -> bool:
    return zone is not None and any(m["member_id"] == member_id for m in zone["members"])


def check_actor(
    command_type: str, actor: Actor | None, zone: Zone | None, subject_member_id: str | None = None
) -> Refusal:
    """Who may send a zone command. A trusted system (configured by name) may send any; the
    party office manages zones; the roster changes only by the zone's secretary or the party
    office, and nobody adds themselves (an approval of one's own enrolment is no approval)."""
    r = Refusal()
    if actor is None:
        r.add(ActorRefusal.ACTOR_UNKNOWN)
        return r
    if actor.type == AuthType.SYSTEM:
        return r
    party_office = actor.has_role(PARTY_OFFICE)
    if command_type in ROSTER_COMMANDS:
        if not party_office and not is_secretary(zone, actor.id):
            r.add(ActorRefusal.NOT_SECRETARY)
        if command_type == "zone.add-member" and subject_member_id == actor.id:
            r.add(ActorRefusal.SELF_ENROLMENT)
    elif not party_office:
        r.add(ActorRefusal.NOT_PARTY_OFFICE)
    return r


def merged(*refusals: Refusal) -> Refusal:
    out = Refusal()
    for refusal in refusals:
        for code in refusal.reasons:
            out.add(code)
    return out


# --------------------------------------------------------------------------- personal data

ERASED_NAME = "(erased)"


def with_member_erased(zone: Zone, member_id: str) -> Zone:
    """The roster entry without its personal data: name and party branch replaced, phone
    gone; the member id, role, employer and employment stay (figures count them)."""
    members = [
        {**m, "name": ERASED_NAME, "home_branch": "", "phone": None, "erased": True}
        if m["member_id"] == member_id
        else m
        for m in zone["members"]
    ]
    return {**zone, "members": members}


def mask_phone(phone: str | None) -> str | None:
    """``13900000042`` -> ``139****0042``: enough to recognise, not enough to call."""
    if not phone:
        return None
    if len(phone) < 8:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def may_read_roster(zone: Zone, reader: Actor) -> bool:
    return reader.has_role(PARTY_OFFICE) or on_roster(zone, reader.id)


def may_read_history(zone: Zone, reader: Actor) -> bool:
    return reader.has_role(PARTY_OFFICE) or is_secretary(zone, reader.id)


def roster_view(zone: Zone, reader: Actor) -> list[dict[str, Any]]:
    """The roster as ``reader`` may see it: party branch, employer and employment only for the
    party office and the zone's secretary; the phone in full only for the party office,
    masked for the secretary, absent for the others."""
    party_office = reader.has_role(PARTY_OFFICE)
    sensitive = party_office or is_secretary(zone, reader.id)
    out = []
    for m in zone["members"]:
        view: dict[str, Any] = {
            "member_id": m["member_id"],
            "name": m["name"],
            "zone_role": m["zone_role"],
            "erased": bool(m.get("erased", False)),
        }
        if sensitive:
            view |= {
                "home_branch": m["home_branch"],
                "employer_unit_id": m["employer_unit_id"],
                "employment": m["employment"],
                "phone": m.get("phone") if party_office else mask_phone(m.get("phone")),
                # where the organisational relationship stands (issue 19): sensitive too
                **{k: m.get(k) for k in ("joined_on", "away_since", "transferred_on", "probationary")},
            }
        out.append(view)
    return out


# --------------------------------------------------------------------------- figures


@dataclass
class CoverageFigures:
    key_projects: int
    covered: int
    uncovered: list[Project]

    @property
    def share(self) -> float:
        # No key project at all leaves nothing uncovered: the party office's "100%".
        return self.covered / self.key_projects if self.key_projects else 1.0


def covering_zone_ids(zones: list[Zone]) -> dict[str, str]:
    """project id -> the zone covering it: an active zone first, else a proposed one."""
    by_project: dict[str, str] = {}
    for z in sorted(zones, key=lambda z: (z["status"] != ZoneStatus.ACTIVE, z["_id"])):
        if z["status"] == ZoneStatus.CLOSED:
            continue
        for pid in z["project_ids"]:
            by_project.setdefault(pid, z["_id"])
    return by_project


def coverage(projects: list[Project], zones: list[Zone]) -> CoverageFigures:
    """Key projects not yet completed, and those of them in an active zone (a proposed
    zone does not cover: its parties are not all there yet; a comparison zone never does)."""
    active = covering_zone_ids(
        [z for z in zones if z["status"] == ZoneStatus.ACTIVE and not is_comparison_zone(z)]
    )
    key = [p for p in projects if p["key_project"] and not p.get("completed", False)]
    uncovered = [p for p in key if p["_id"] not in active]
    return CoverageFigures(key_projects=len(key), covered=len(key) - len(uncovered), uncovered=uncovered)


@dataclass
class ZoneFigures:
    zones_by_mode: dict[str, int]
    zones_by_status: dict[str, int]
    units: int
    members: int
    floating_members: int
    comparison_zones: int = 0
    comparison_members: int = 0


def figures(zones: list[Zone]) -> ZoneFigures:
    """The collaboration zones by mode and status; units and members of those not closed. The
    comparison zones (the old sequential sign-off) are counted apart, never among them."""
    by_mode = Counter({m.value: 0 for m in ZoneMode})
    by_status = Counter({s.value: 0 for s in ZoneStatus})
    units: set[str] = set()
    members = floating = 0
    apart = [z for z in zones if is_comparison_zone(z)]
    for z in (z for z in zones if not is_comparison_zone(z)):
        by_mode[z["mode"]] += 1
        by_status[z["status"]] += 1
        if z["status"] == ZoneStatus.CLOSED:
            continue
        units.update(u["unit_id"] for u in z["units"])
        members += len(z["members"])
        floating += floating_count(z)
    return ZoneFigures(
        zones_by_mode=dict(by_mode),
        zones_by_status=dict(by_status),
        units=len(units),
        members=members,
        floating_members=floating,
        comparison_zones=len(apart),
        comparison_members=sum(len(z["members"]) for z in apart if z["status"] != ZoneStatus.CLOSED),
    )


# --------------------------------------------------------------------------- floating members (issue 19)


def new_member(data: dict[str, Any], joined_on: date) -> dict[str, Any]:
    """A roster entry as kept here (dates as ISO text): the day the member joined the zone,
    and — for a floating member — the day they left the home branch (default: that day)."""
    away = data.get("away_since")
    return {
        "member_id": data["member_id"],
        "name": data["name"],
        "home_branch": data["home_branch"],
        "employer_unit_id": data["employer_unit_id"],
        "employment": data["employment"],
        "zone_role": data["zone_role"],
        "phone": data.get("phone"),  # kept here only; snapshots never carry it, the API masks it
        "joined_on": joined_on.isoformat(),
        "away_since": away.isoformat() if isinstance(away, date) else away,
        "transferred_on": None,
        "probationary": data.get("probationary"),
    }


def member_model(entry: dict[str, Any]) -> Member:
    """A roster entry as the shared rules read it (``shared.membership``)."""
    return Member.model_validate({k: entry[k] for k in MEMBER_FIELDS if k in entry})


def members_of(zone: Zone) -> list[Member]:
    return [member_model(m) for m in zone["members"]]


def next_transfer_due(zone: Zone) -> str | None:
    """The earliest day a floating member of the roster falls due for transfer and has not
    been raised yet (ISO text; None: nobody will): the day the clock looks at this zone."""
    raised = set(zone.get("transfers_raised", []))
    days = [
        d
        for m in members_of(zone)
        if m.member_id not in raised and m.transferred_on is None and (d := transfer_due_on(m)) is not None
    ]
    return min(days).isoformat() if days else None


def with_transfers_raised(zone: Zone, member_ids: list[str]) -> Zone:
    raised = list(dict.fromkeys([*zone.get("transfers_raised", []), *member_ids]))
    out = {**zone, "transfers_raised": raised}
    return {**out, "transfer_due_next": next_transfer_due(out)}


def with_member_transferred(zone: Zone, member_id: str, on: date, new_home_branch: str | None) -> Zone:
    members = [
        {
            **m,
            **floating_rules.transferred(member_model(m), on, new_home_branch).model_dump(
                mode="json", include={"transferred_on", "home_branch"}
            ),
        }
        if m["member_id"] == member_id
        else m
        for m in zone["members"]
    ]
    out = {**zone, "members": members}
    return {**out, "transfer_due_next": next_transfer_due(out)}


def member_entry(zone: Zone | None, member_id: str) -> dict[str, Any] | None:
    return next((m for m in (zone or {}).get("members", []) if m["member_id"] == member_id), None)


def check_record_transfer(zone: Zone | None, member_id: str, on: date) -> Refusal:
    entry = member_entry(zone, member_id)
    r = Refusal()
    for code in floating_rules.transfer_refusals(
        None if zone is None else zone["status"], None if entry is None else member_model(entry), on
    ):
        r.add(code)
    return r


def check_configure(zone: Zone | None, signing: str | None, theme_party_day: int | None) -> Refusal:
    r = Refusal()
    current = settings_of(zone) if zone is not None else ZoneSettings()
    for code in floating_rules.settings_refusals(
        None if zone is None else zone["status"], current, signing, theme_party_day
    ):
        r.add(code)
    return r


def with_settings(zone: Zone, signing: str | None, theme_party_day: int | None) -> Zone:
    settings = floating_rules.configured(settings_of(zone), signing, theme_party_day)
    return {**zone, "settings": settings.model_dump(mode="json")}


# A floating member's record in a zone's history of members brought back: one per stay.
BroughtBackDoc = dict[str, Any]


def brought_back_id(zone_id: str, member_id: str, joined_on: str) -> str:
    return f"{zone_id}|{member_id}|{joined_on}"


def brought_back_doc(zone_id: str, entry: dict[str, Any]) -> BroughtBackDoc | None:
    """The history record opened when a floating member joins a zone (None for staff)."""
    m = member_model(entry)
    if not is_floating(entry) or m.joined_on is None:
        return None
    due = transfer_due_on(m)
    return {
        "_id": brought_back_id(zone_id, m.member_id, m.joined_on.isoformat()),
        "zone_id": zone_id,
        "member_id": m.member_id,
        "name": m.name,
        "employment": str(m.employment),
        "from_home_branch": m.home_branch,
        "away_since": entry.get("away_since") or m.joined_on.isoformat(),
        "brought_back_on": m.joined_on.isoformat(),
        "left_on": None,
        "transfer_due_on": due.isoformat() if due else None,
        "transferred_on": None,
    }


def brought_back_record(doc: BroughtBackDoc, attended_on: list[date]) -> floating_rules.BroughtBack:
    """The pure rules' record of a stored history document, with the days attended."""

    def day(key: str) -> date | None:
        return date.fromisoformat(doc[key]) if doc.get(key) else None

    since, left = date.fromisoformat(doc["brought_back_on"]), day("left_on")
    days = sorted(d for d in attended_on if d >= since and (left is None or d <= left))

    return floating_rules.BroughtBack(
        zone_id=doc["zone_id"],
        member_id=doc["member_id"],
        name=doc["name"],
        employment=doc["employment"],
        from_home_branch=doc["from_home_branch"],
        away_since=day("away_since"),
        brought_back_on=since,
        left_on=day("left_on"),
        transfer_due_on=day("transfer_due_on"),
        transferred_on=day("transferred_on"),
        activities_attended=len(days),
        last_attended_on=days[-1] if days else None,
    )
