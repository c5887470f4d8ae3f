"""Zone-registry rules without I/O: coverage, status, refusals, figures."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.zone_registry import domain
from services.zone_registry.domain import CoverageStep
from shared.events.catalog import ZoneSnapshot

AT = datetime(2026, 4, 1, 6, tzinfo=UTC)
LATER = datetime(2026, 9, 1, 6, tzinfo=UTC)
HOST = {"unit_id": "H1", "name": "采油一厂", "role": "host"}
CON = {"unit_id": "C1", "name": "油建一公司", "role": "construction"}
SUP = {"unit_id": "S1", "name": "监理一公司", "role": "supervision"}
MGT = {"unit_id": "M1", "name": "基建中心", "role": "management"}


def project(
    pid: str,
    scale: str,
    category: str,
    units: list[dict[str, Any]],
    region: str = "北区",
    key: bool = True,
) -> dict[str, Any]:
    return {
        "_id": pid,
        "name": f"工程{pid}",
        "scale": scale,
        "category": category,
        "key_project": key,
        "region": region,
        "units": units,
        "host_unit_id": domain.host_unit_id(units),
    }


def member(mid: str, employment: str = "staff", employer: str = "H1", role: str = "member") -> dict[str, Any]:
    return {
        "member_id": mid,
        "name": f"党员{mid}",
        "home_branch": "原籍党支部",
        "employer_unit_id": employer,
        "employment": employment,
        "zone_role": role,
        "phone": "13900000000",
    }


def cobuild(units: list[dict[str, Any]], pid: str = "P1") -> domain.Zone:
    return domain.cobuild_zone_for(project(pid, "large", "new_build", units), f"ZC-{pid}", AT)


# --------------------------------------------------------------------------- which zone a project gets


def test_large_or_new_build_or_epc_gets_its_own_cobuild_zone() -> None:
    assert domain.gets_own_zone(project("P1", "large", "renovation", []))
    assert domain.gets_own_zone(project("P2", "small", "new_build", []))
    assert domain.gets_own_zone(project("P3", "small", "epc", []))
    assert not domain.gets_own_zone(project("P4", "small", "renovation", []))


def test_small_renovation_and_safety_remediation_join_an_alliance() -> None:
    assert domain.joins_alliance(project("P1", "small", "renovation", []))
    assert domain.joins_alliance(project("P2", "small", "safety_remediation", []))
    assert not domain.joins_alliance(project("P3", "small", "other", []))
    assert not domain.joins_alliance(project("P4", "large", "renovation", []))


def test_plan_coverage_covers_only_key_projects_not_yet_in_a_zone() -> None:
    large = project("P1", "large", "new_build", [HOST, CON, SUP])
    assert domain.plan_coverage(large, [], []).step == CoverageStep.OWN_ZONE
    assert domain.plan_coverage({**large, "key_project": False}, [], []).step == CoverageStep.NOTHING
    # Already listed by an open zone (even a proposed one): no second zone.
    assert domain.plan_coverage(large, [cobuild([HOST])], []).step == CoverageStep.NOTHING
    # A small key project of another category: no rule covers it automatically.
    assert (
        domain.plan_coverage(project("P9", "small", "other", [HOST, CON]), [], []).step
        == CoverageStep.NOTHING
    )


def test_plan_coverage_joins_the_active_alliance_first_else_founds_one() -> None:
    small = project("P2", "small", "renovation", [HOST, CON])
    assert domain.plan_coverage(small, [], []).step == CoverageStep.FOUND_ALLIANCE
    proposed = domain.alliance_zone_for(project("P0", "small", "renovation", [HOST]), "ZR-a", AT)
    active = domain.alliance_zone_for(project("P1", "small", "renovation", [HOST, CON]), "ZR-b", AT)
    closed = domain.closed(
        domain.alliance_zone_for(project("P3", "small", "renovation", [HOST, CON]), "ZR-0", AT), AT
    )
    assert proposed["status"] == "proposed" and active["status"] == "active"
    plan = domain.plan_coverage(small, [], [proposed, closed, active])
    assert plan.step == CoverageStep.JOIN_ALLIANCE and plan.alliance is not None
    assert plan.alliance["_id"] == "ZR-b"
    # Only a proposed alliance: join it (the project's units may activate it).
    plan = domain.plan_coverage(small, [], [proposed, closed])
    assert plan.step == CoverageStep.JOIN_ALLIANCE and plan.alliance is not None
    joined = domain.join_alliance(plan.alliance, small)
    assert joined["status"] == "active" and joined["project_ids"] == ["P0", "P2"]
    assert domain.plan_coverage(small, [], [closed]).step == CoverageStep.FOUND_ALLIANCE


# --------------------------------------------------------------------------- status and gaps


def test_the_target_zone_decides_a_coverage_on_its_own_partition() -> None:
    small = project("P2", "small", "renovation", [HOST, CON])
    alliance = domain.alliance_zone_for(project("P1", "small", "renovation", [HOST, CON]), "ZR-H1-x-1", AT)
    out = domain.CoverOutcome
    # A free id is established; a zone already listing the project is left alone.
    assert domain.cover_outcome(CoverageStep.FOUND_ALLIANCE, None, small) == out.ESTABLISH
    assert domain.cover_outcome(CoverageStep.OWN_ZONE, None, small) == out.ESTABLISH
    joined = domain.join_alliance(alliance, small)
    assert domain.cover_outcome(CoverageStep.JOIN_ALLIANCE, joined, small) == out.COVERED
    # Two foundings raced to the same id: the second one joins what the first founded.
    assert domain.cover_outcome(CoverageStep.FOUND_ALLIANCE, alliance, small) == out.JOIN
    assert domain.cover_outcome(CoverageStep.JOIN_ALLIANCE, alliance, small) == out.JOIN
    # Closed meanwhile, another host's or region's, or a cobuild id taken: the next id.
    assert domain.cover_outcome(CoverageStep.JOIN_ALLIANCE, domain.closed(alliance, LATER), small) == out.NEXT
    elsewhere = project("P3", "small", "renovation", [HOST, CON], region="南区")
    assert domain.cover_outcome(CoverageStep.JOIN_ALLIANCE, alliance, elsewhere) == out.NEXT
    assert domain.cover_outcome(CoverageStep.OWN_ZONE, cobuild([HOST, CON, SUP]), small) == out.NEXT


def test_cobuild_needs_host_construction_and_supervision() -> None:
    zone = cobuild([HOST, CON, SUP, MGT])
    assert zone["_id"] == "ZC-P1" and zone["status"] == "active" and zone["mode"] == "project_cobuild"
    assert zone["systems"] == list(domain.ALL_SYSTEMS)
    assert zone["host_unit_id"] == "H1"
    assert zone["name"] == "工程P1 项目共建党建协作区"
    gap = cobuild([HOST, CON])
    assert gap["status"] == "proposed"
    assert domain.gap_of(gap) == ["supervision"]
    activated = domain.with_unit(gap, SUP)
    assert activated["status"] == "active" and domain.gap_of(activated) == []
    assert domain.gap_of(cobuild([MGT])) == ["host", "construction", "supervision"]


def test_alliance_needs_host_and_construction_and_merges_units_once() -> None:
    first = domain.alliance_zone_for(project("P1", "small", "renovation", [HOST, CON]), "ZR-x", AT)
    assert first["status"] == "active" and first["mode"] == "regional_alliance"
    assert first["name"] == "北区采油一厂 区域联建党建协作区"
    # A region already named after its host unit is not named twice.
    own = project("P9", "small", "renovation", [HOST, CON], region="采油一厂北区")
    assert domain.alliance_zone_for(own, "ZR-z", AT)["name"] == "采油一厂北区 区域联建党建协作区"
    joined = domain.join_alliance(first, project("P2", "small", "safety_remediation", [HOST, CON, MGT]))
    assert joined["project_ids"] == ["P1", "P2"]
    assert [u["unit_id"] for u in joined["units"]] == ["H1", "C1", "M1"]
    assert domain.join_alliance(joined, project("P2", "small", "renovation", [HOST]))["project_ids"] == [
        "P1",
        "P2",
    ]
    lone = domain.alliance_zone_for(project("P3", "small", "renovation", [HOST]), "ZR-y", AT)
    assert lone["status"] == "proposed" and domain.gap_of(lone) == ["construction"]


def test_closed_stays_closed() -> None:
    zone = domain.closed(cobuild([HOST, CON]), LATER)
    assert zone["closed_at"] == LATER
    assert domain.with_unit(zone, SUP)["status"] == "closed"
    assert domain.gap_of(zone) == []


# --------------------------------------------------------------------------- ids


def test_zone_ids_are_deterministic_and_distinct() -> None:
    assert domain.cobuild_zone_id("P-1") == "ZC-P-1" and domain.cobuild_zone_id("P-1", 2) == "ZC-P-1-2"
    north = domain.alliance_zone_id("H1", "北区", 1)
    assert north == domain.alliance_zone_id("H1", "北区", 1)
    assert north.startswith("ZR-H1-") and north.endswith("-1")
    assert north != domain.alliance_zone_id("H1", "南区", 1)
    assert north != domain.alliance_zone_id("H2", "北区", 1)
    assert domain.alliance_zone_id("H1", "nan-1", 2) == "ZR-H1-nan-1-2"
    # Regions that only differ in what a slug drops still get distinct ids.
    assert domain.region_slug("Nan 1") != domain.region_slug("nan-1")
    assert domain.region_slug("Nan 1").startswith("nan-1-")
    assert domain.establish_zone_id("cmd-1") == domain.establish_zone_id("cmd-1")
    assert domain.establish_zone_id("cmd-1") != domain.establish_zone_id("cmd-2")


# --------------------------------------------------------------------------- snapshot and members


def test_snapshot_never_carries_phone_numbers_and_floating_members_count() -> None:
    zone = domain.with_member(
        domain.with_member(cobuild([HOST, CON, SUP]), member("M-1", "staff", role="secretary")),
        member("M-2", "migrant_worker", employer="C1"),
    )
    snap = domain.snapshot(zone)
    assert all("phone" not in m for m in snap["members"])
    assert snap["host_unit_id"] == "H1"
    ZoneSnapshot.model_validate(snap)  # on contract
    assert [domain.is_floating(m) for m in zone["members"]] == [False, True]
    assert domain.floating_count(zone) == 1
    for employment in ("dispatched", "external_hire"):
        assert domain.is_floating(member("x", employment))
    assert [m["member_id"] for m in domain.without_member(zone, "M-1")["members"]] == ["M-2"]


def test_adopting_systems_adds_only_new_ones() -> None:
    zone = {**cobuild([HOST, CON, SUP]), "systems": ["joint_meeting"]}
    assert domain.with_systems(zone, ["daily_checkin", "joint_meeting"])["systems"] == [
        "joint_meeting",
        "daily_checkin",
    ]


# --------------------------------------------------------------------------- project completed


def test_a_completed_project_closes_its_cobuild_zone_and_leaves_an_alliance() -> None:
    event_type, zone = domain.without_project(cobuild([HOST, CON, SUP]), "P1", LATER)
    assert event_type == "zone.closed" and zone["status"] == "closed"
    alliance = domain.join_alliance(
        domain.alliance_zone_for(project("P1", "small", "renovation", [HOST, CON]), "ZR-x", AT),
        project("P2", "small", "renovation", [HOST, CON]),
    )
    event_type, zone = domain.without_project(alliance, "P1", LATER)
    assert event_type == "zone.updated" and zone["project_ids"] == ["P2"] and zone["status"] == "active"
    event_type, zone = domain.without_project(zone, "P2", LATER)
    assert event_type == "zone.closed" and zone["project_ids"] == [] and zone["status"] == "closed"


# --------------------------------------------------------------------------- refusals


def test_refusals_name_every_reason() -> None:
    zone = domain.with_member(cobuild([HOST, CON, SUP]), member("M-1", role="secretary"))
    assert domain.check_add_member(None, member("M-1")).reasons == ["unknown_zone"]
    assert domain.check_add_member(zone, member("M-1")).reasons == ["member_already_on_roster"]
    assert not domain.check_add_member(zone, member("M-2", "migrant_worker", employer="C1"))
    odd = {"member_id": "M-9", "employment": "freelancer", "zone_role": "mascot", "employer_unit_id": "X"}
    assert domain.check_add_member(zone, odd).reasons == [
        "unknown_employment",
        "unknown_role",
        "employer_not_in_zone",
    ]
    assert domain.check_add_unit(zone, SUP).reasons == ["unit_already_in_zone"]
    assert domain.check_add_unit(zone, {"unit_id": "X", "role": "caterer"}).reasons == ["unknown_role"]
    assert not domain.check_add_unit(zone, {**SUP, "role": "design"})  # one unit, two roles
    assert domain.check_remove_member(zone, "M-404").reasons == ["member_not_on_roster"]
    assert domain.check_remove_member(None, "M-1").reasons == ["unknown_zone"]
    assert not domain.check_remove_member(zone, "M-1")
    assert domain.check_adopt_systems(zone, ["karaoke"]).reasons == ["unknown_system"]
    assert domain.check_adopt_systems(zone, []).reasons == ["unknown_system"]
    assert domain.check_adopt_systems(zone, ["joint_meeting"]).reasons == ["systems_already_adopted"]
    assert not domain.check_adopt_systems({**zone, "systems": []}, ["joint_meeting"])
    assert domain.check_close(None).reasons == ["unknown_zone"]
    assert not domain.check_close(zone)
    closed = domain.closed(zone, LATER)
    assert domain.check_close(closed).reasons == ["zone_already_closed"]
    assert domain.check_add_unit(closed, SUP).reasons == ["zone_closed", "unit_already_in_zone"]
    assert domain.check_remove_member(closed, "M-1").reasons == ["zone_closed"]
    assert domain.check_add_member(closed, member("M-3")).reasons == ["zone_closed"]
    establish = {"mode": "solo", "units": [{"role": "caterer"}], "systems": ["karaoke"]}
    assert domain.check_establish(establish, zone, name_taken=True).reasons == [
        "zone_exists",
        "duplicate_zone_name",
        "unknown_mode",
        "unknown_role",
        "unknown_system",
    ]
    assert not domain.check_establish(
        {"mode": "regional_alliance", "units": [HOST], "systems": None}, None, False
    )


# --------------------------------------------------------------------------- figures


def test_coverage_counts_key_projects_in_active_zones_only() -> None:
    projects = [
        project("P1", "large", "new_build", [HOST, CON, SUP]),
        project("P2", "large", "epc", [HOST, CON]),
        project("P3", "small", "other", [HOST, CON]),
        project("P4", "small", "renovation", [HOST], key=False),
        {**project("P5", "large", "epc", [HOST, CON, SUP]), "completed": True},
    ]
    zones = [cobuild([HOST, CON, SUP], "P1"), cobuild([HOST, CON], "P2")]
    figures = domain.coverage(projects, zones)
    assert (figures.key_projects, figures.covered) == (3, 1)
    assert [p["_id"] for p in figures.uncovered] == ["P2", "P3"]
    assert abs(figures.share - 1 / 3) < 1e-9
    assert domain.coverage([], []).share == 1.0
    assert domain.covering_zone_ids(zones) == {"P1": "ZC-P1", "P2": "ZC-P2"}
    assert domain.covering_zone_ids([domain.closed(zones[0], LATER)]) == {}


def test_figures_count_zones_by_mode_and_status_and_people_of_open_zones() -> None:
    open_zone = domain.with_member(
        domain.with_member(cobuild([HOST, CON, SUP], "P1"), member("M-1")),
        member("M-2", "dispatched", employer="C1"),
    )
    alliance = domain.alliance_zone_for(
        project("P2", "small", "renovation", [HOST, {**CON, "unit_id": "C2"}]), "ZR-x", AT
    )
    gone = domain.closed(
        domain.with_member(cobuild([MGT, HOST], "P3"), member("M-9", "migrant_worker")), LATER
    )
    f = domain.figures([open_zone, alliance, gone])
    assert f.zones_by_mode == {"project_cobuild": 2, "regional_alliance": 1}
    assert f.zones_by_status == {"proposed": 0, "active": 2, "closed": 1}
    assert (f.units, f.members, f.floating_members) == (4, 2, 1)  # H1 C1 S1 C2


def _comparison(zone: domain.Zone) -> domain.Zone:
    return {**zone, "settings": {**(zone.get("settings") or {}), "signing": "sequential"}}


def test_a_comparison_zone_is_counted_apart_and_covers_nothing() -> None:
    """The old route's zones (signing sequential) are there to be compared with: /stats counts
    them apart, /coverage does not count them, and a key project they list still gets its zone."""
    real = domain.with_member(cobuild([HOST, CON, SUP], "P1"), member("M-1"))
    twin = domain.with_member(
        domain.with_member(_comparison(cobuild([HOST, CON, SUP], "P2")), member("M-2")),
        member("M-3", "dispatched", employer="C1"),
    )
    f = domain.figures([real, twin])
    assert f.zones_by_mode == {"project_cobuild": 1, "regional_alliance": 0}
    assert f.zones_by_status == {"proposed": 0, "active": 1, "closed": 0}
    assert (f.units, f.members, f.floating_members) == (3, 1, 0)
    assert (f.comparison_zones, f.comparison_members) == (1, 2)
    assert (domain.figures([domain.closed(twin, LATER)]).comparison_members, f.comparison_zones) == (0, 1)
    projects = [project("P1", "large", "new_build", [HOST]), project("P2", "large", "new_build", [HOST])]
    coverage = domain.coverage(projects, [real, twin])
    assert (coverage.key_projects, coverage.covered, [p["_id"] for p in coverage.uncovered]) == (2, 1, ["P2"])
    assert domain.plan_coverage(projects[1], [twin], []).step == CoverageStep.OWN_ZONE
    small = project("P3", "small", "renovation", [HOST, CON])
    alliance = _comparison(
        domain.alliance_zone_for(project("P0", "small", "renovation", [HOST, CON]), "ZR-q", AT)
    )
    assert domain.plan_coverage(small, [], [alliance]).step == CoverageStep.FOUND_ALLIANCE
