"""Zone-registry rules without I/O: coverage, status, refusals."""

from __future__ import annotations

from datetime import UTC, datetime

from services.zone_registry import domain

AT = datetime(2026, 4, 1, 6, tzinfo=UTC)
HOST = {"unit_id": "H1", "name": "采油一厂", "role": "host"}
CON = {"unit_id": "C1", "name": "油建一公司", "role": "construction"}
SUP = {"unit_id": "S1", "name": "监理一公司", "role": "supervision"}
MGT = {"unit_id": "M1", "name": "基建中心", "role": "management"}


def project(pid: str, scale: str, category: str, units: list[dict], region: str = "北区") -> dict:
    return {
        "_id": pid,
        "name": f"工程{pid}",
        "scale": scale,
        "category": category,
        "region": region,
        "units": units,
        "host_unit_id": "H1",
    }


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


def test_cobuild_needs_host_construction_and_supervision() -> None:
    zone = domain.cobuild_zone_for(project("P1", "large", "new_build", [HOST, CON, SUP, MGT]), AT)
    assert zone["_id"] == "ZC-P1" and zone["status"] == "active" and zone["mode"] == "project_cobuild"
    assert zone["systems"] == list(domain.ALL_SYSTEMS)
    gap = domain.cobuild_zone_for(project("P2", "large", "new_build", [HOST, CON]), AT)
    assert gap["status"] == "proposed"
    assert domain.missing_roles("project_cobuild", gap["units"]) == ["supervision"]
    activated = domain.with_status({**gap, "units": domain.merge_units(gap["units"], [SUP])})
    assert activated["status"] == "active"


def test_alliance_needs_host_and_construction_and_merges_units_once() -> None:
    first = domain.alliance_zone_for(project("P1", "small", "renovation", [HOST, CON]), 1, AT)
    assert first["status"] == "active" and first["mode"] == "regional_alliance"
    joined = domain.join_alliance(first, project("P2", "small", "safety_remediation", [HOST, CON, MGT]))
    assert joined["project_ids"] == ["P1", "P2"]
    assert [u["unit_id"] for u in joined["units"]] == ["H1", "C1", "M1"]
    assert (
        domain.alliance_zone_for(project("P3", "small", "renovation", [HOST]), 2, AT)["status"] == "proposed"
    )
    assert domain.alliance_zone_id("H1", "北区", 1) != domain.alliance_zone_id("H1", "南区", 1)


def test_closed_stays_closed() -> None:
    zone = {
        **domain.cobuild_zone_for(project("P1", "large", "epc", [HOST, CON, SUP]), AT),
        "status": "closed",
    }
    assert domain.with_status(zone)["status"] == "closed"


def test_snapshot_never_carries_phone_numbers_and_floating_members_count() -> None:
    zone = domain.cobuild_zone_for(project("P1", "large", "epc", [HOST, CON, SUP]), AT)
    zone["members"] = [
        {
            "member_id": "M-1",
            "name": "a",
            "home_branch": "b",
            "employer_unit_id": "H1",
            "employment": "staff",
            "zone_role": "secretary",
            "phone": "139",
        },
        {
            "member_id": "M-2",
            "name": "c",
            "home_branch": "d",
            "employer_unit_id": "C1",
            "employment": "migrant_worker",
            "zone_role": "member",
            "phone": "138",
        },
    ]
    snap = domain.snapshot(zone)
    assert all("phone" not in m for m in snap["members"])
    assert snap["host_unit_id"] == "H1"
    assert [domain.is_floating(m) for m in zone["members"]] == [False, True]


def test_refusals_name_every_reason() -> None:
    zone = domain.cobuild_zone_for(project("P1", "large", "epc", [HOST, CON, SUP]), AT)
    member = {"member_id": "M-1", "employment": "staff", "zone_role": "secretary", "employer_unit_id": "H1"}
    zone["members"] = [member]
    assert domain.check_add_member(None, member).reasons == ["unknown_zone"]
    assert domain.check_add_member(zone, member).reasons == ["member_already_on_roster"]
    odd = {"member_id": "M-9", "employment": "freelancer", "zone_role": "mascot", "employer_unit_id": "X"}
    assert domain.check_add_member(zone, odd).reasons == [
        "unknown_employment",
        "unknown_role",
        "employer_not_in_zone",
    ]
    assert domain.check_add_unit(zone, {"unit_id": "S1", "role": "supervision"}).reasons == [
        "unit_already_in_zone"
    ]
    assert domain.check_add_unit(zone, {"unit_id": "X", "role": "caterer"}).reasons == ["unknown_role"]
    assert domain.check_remove_member(zone, "M-404").reasons == ["member_not_on_roster"]
    assert domain.check_adopt_systems(zone, ["karaoke"]).reasons == ["unknown_system"]
    closed = {**zone, "status": "closed"}
    assert domain.check_close(closed).reasons == ["zone_already_closed"]
    assert domain.check_add_unit(closed, SUP).reasons == ["zone_closed", "unit_already_in_zone"]
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
