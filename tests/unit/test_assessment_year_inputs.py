"""The year-end report's inputs from what assessment keeps (``yearend.gather``), pure."""

from __future__ import annotations

from typing import Any

from services.assessment import yearend
from services.assessment.rollups import Rollup
from shared.events.catalog import AssessmentStatus, Provenance, RollupLevel


def z(zone_id: str, status: str = "active", mode: str = "project_cobuild", **kw: Any) -> dict[str, Any]:
    return {
        "zone_id": zone_id,
        "status": status,
        "mode": mode,
        "established_at": "2026-02-01T00:00:00+08:00",
        "project_ids": kw.get("projects", []),
        "units": [{"unit_id": u} for u in kw.get("units", ["H1"])],
        "members": kw.get("members", []),
    }


def year_rollup(zone_id: str, score: float | None) -> Rollup:
    return Rollup(
        level=RollupLevel.ZONE,
        key=zone_id,
        period="2026",
        status=AssessmentStatus.SCORED if score is not None else AssessmentStatus.NO_DATA,
        score=score,
        grade=None,
        months_scored=1 if score is not None else 0,
        months_no_data=0 if score is not None else 1,
        zones=1,
        zones_scored=1 if score is not None else 0,
        grades={},
        figures={},
    )


def stored(**kw: Any) -> yearend.Stored:
    base: dict[str, Any] = {
        "year": "2026",
        "projects": [],
        "zones": [],
        "floating": [],
        "facts": [],
        "ranking": [],
    }
    return yearend.Stored(**{**base, **kw})


def test_coverage_counts_key_projects_in_active_zones_only() -> None:
    s = stored(
        projects=[{"_id": "P1", "key_project": True}, {"_id": "P2", "key_project": True}, {"_id": "P3"}],
        zones=[z("A", projects=["P1", "P3"]), z("B", status="proposed", projects=["P2"])],
    )
    i = yearend.gather(s)
    assert (i.coverage.key_projects, i.coverage.covered) == (2, 1)
    assert i.zones.by_mode == {"project_cobuild": 1}  # a proposed zone has not started


def test_floating_members_ever_transferred_and_due_at_the_years_end() -> None:
    members = [{"member_id": "m1", "away_since": "2026-10-01"}, {"member_id": "m2"}]
    s = stored(
        zones=[z("A", members=members)],
        floating=[
            {"zone_id": "A", "member_id": "m1", "away_since": "2026-10-01"},  # under six months
            {"zone_id": "A", "member_id": "m3", "away_since": "2026-03-01"},  # left the roster, due
            {"zone_id": "A", "member_id": "m4", "away_since": "2026-01-05", "transferred_on": "2026-07-05"},
            {"zone_id": "A", "member_id": "m5", "away_since": "2027-01-05"},  # next year
        ],
    )
    zi = yearend.gather(s).zones
    assert (zi.members, zi.floating_on_rosters) == (2, 1)
    assert (zi.floating_ever, zi.floating_transferred, zi.floating_transfer_due) == (3, 1, 1)


def test_cadence_permits_safety_and_quality_from_the_years_facts() -> None:
    facts = [
        {"kind": "compliance", "rule": "party_class", "met": False},
        {"kind": "compliance", "rule": "party_class", "met": True},
        {"kind": "compliance", "rule": "branch_committee", "met": True},
        {"kind": "permit_issued", "permit_id": "W1", "within_sla": True, "cycle_minutes": 40},
        {"kind": "permit_issued", "permit_id": "W2", "within_sla": False, "cycle_minutes": 300},
        {"kind": "sla_breach", "permit_id": "W2"},
        {"kind": "sla_breach", "permit_id": "W3"},
        {"kind": "incident", "zone_id": "A", "severity": "fatal", "incident_kind": "injury"},
        {
            "kind": "incident",
            "zone_id": None,
            "project_id": "PB",
            "severity": "near_miss",
            "incident_kind": "fire",
        },
        {"kind": "quality", "result": "excellent"},
        {"kind": "quality", "result": "fail"},
    ]
    i = yearend.gather(stored(zones=[z("A"), z("B", projects=["PB"])], facts=facts))
    assert [(r.rule, r.met, r.evaluated) for r in i.cadence] == [
        ("branch_committee", 1, 1),
        ("party_class", 1, 2),
    ]
    assert (i.permits.requested, i.permits.issued, i.permits.within_sla, i.permits.sla_breaches) == (
        3,
        2,
        1,
        2,
    )
    assert list(i.permits.cycle_minutes) == [40.0, 300.0]
    assert (i.safety.fatal, i.safety.near_miss, i.safety.zones, i.safety.zones_without_incident) == (
        1,
        1,
        2,
        1,
    )
    assert (i.quality.inspected, i.quality.excellent) == (2, 1)


def test_benefits_are_derived_from_before_and_after_else_inputs() -> None:
    facts = [
        {
            "_id": "improvement:e1",
            "kind": "improvement",
            "improvement_id": "IMP-1",
            "title": "胶粘挂网",
            "cost_saved_cny": 550000,
            "days_saved": 3,
            "cost_before_cny": 120000,
            "cost_after_cny": 70000,
            "days_before": 10,
            "days_after": 7,
        },
        {"_id": "improvement:e2", "kind": "improvement", "cost_saved_cny": 1000, "days_saved": 1},
    ]
    report = yearend.compose(yearend.gather(stored(facts=facts)))
    b = report.section("benefit")
    assert b.figures["cost_saved.derived"].value == 50000 and b.figures["cost_saved.input"].value == 1000
    assert b.figures["cost_saved"].provenance is Provenance.INPUT  # as good as its weakest part
    assert any("IMP-1" in n and "550000" in n for n in b.notes)  # the declared figure disagrees


def test_the_years_ranking_leaves_zones_without_data_beside_it() -> None:
    report = yearend.compose(
        yearend.gather(
            stored(ranking=[year_rollup("A", 82.0), year_rollup("B", 91.5), year_rollup("C", None)])
        )
    )
    assert [(r.rank, r.zone_id, r.grade) for r in report.ranking] == [(1, "B", "excellent"), (2, "A", "good")]
    assert report.no_data_zones == ("C",)


def test_comparison_zones_are_kept_out_of_the_year_and_their_permits_are_the_old_route() -> None:
    """A zone signing ``sequential`` (the demo's twin of A) is no collaboration zone: not in
    the zones, members, floating members, cadence, safety or ranking; its permits issued are
    the old route's measured cycle times."""
    seq = {**z("A-SEQ", projects=["PA-SEQ"], members=[{"member_id": "s1", "away_since": "2026-01-02"}])}
    seq["settings"] = {"signing": "sequential"}
    a = {**z("A", projects=["PA"], members=[{"member_id": "m1"}]), "settings": {"signing": "parallel"}}
    facts = [
        {"kind": "compliance", "zone_id": "A", "rule": "party_class", "met": True},
        {"kind": "compliance", "zone_id": "A-SEQ", "rule": "party_class", "met": False},
        {"kind": "permit_issued", "zone_id": "A", "permit_id": "W1", "within_sla": True, "cycle_minutes": 95},
        {
            "kind": "permit_issued",
            "zone_id": "A-SEQ",
            "permit_id": "SQ-W1",
            "within_sla": False,
            "cycle_minutes": 1930,
        },
        {"kind": "sla_breach", "zone_id": "A-SEQ", "permit_id": "SQ-W1"},
        {
            "kind": "incident",
            "zone_id": None,
            "project_id": "PA-SEQ",
            "severity": "minor",
            "incident_kind": "injury",
        },
    ]
    s = stored(
        zones=[a, seq],
        floating=[{"zone_id": "A-SEQ", "member_id": "s1", "away_since": "2026-01-02"}],
        facts=facts,
        ranking=[year_rollup("A", 90.0), year_rollup("A-SEQ", 33.3)],
    )
    i = yearend.gather(s)
    assert i.zones.by_mode == {"project_cobuild": 1}
    assert (i.zones.members, i.zones.floating_on_rosters, i.zones.floating_ever) == (1, 0, 0)
    assert [(r.rule, r.met, r.evaluated) for r in i.cadence] == [("party_class", 1, 1)]
    assert (i.permits.issued, i.permits.sla_breaches, list(i.permits.cycle_minutes)) == (1, 0, [95.0])
    assert list(i.permits.sequential_cycle_minutes) == [1930.0]
    assert (i.safety.minor, i.safety.zones, i.safety.zones_without_incident) == (0, 1, 1)
    report = yearend.compose(i)
    assert [r.zone_id for r in report.ranking] == ["A"]
    assert report.section("permits").figures["sequential_cycle_median"].value == 1930.0
