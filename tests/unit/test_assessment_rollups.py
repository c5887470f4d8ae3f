"""Roll-ups by quarter and year per zone, host unit and region; benefits with their provenance;
the year-end report's composition."""

from __future__ import annotations

import pytest

from services.assessment.benefits import Benefit, Figure, Improvement, benefit, totals, weakest
from services.assessment.rollups import ZoneMonth, months_of, rollup, summable_figures
from services.assessment.yearend import (
    CoverageIn,
    PermitsIn,
    QualityIn,
    RuleTally,
    SafetyIn,
    YearEndInputs,
    ZonesIn,
    compose,
    p90,
)
from shared.events.catalog import AssessmentStatus, Provenance, RollupLevel

S, N = AssessmentStatus.SCORED, AssessmentStatus.NO_DATA


def zm(
    zone: str, month: str, score: float | None, host: str = "H01", region: str = "东区", **figs: float
) -> ZoneMonth:
    return ZoneMonth(zone, month, S if score is not None else N, score, host, region, figs)


MONTHS = [
    zm("Z-A", "2026-04", 90.0, **{"safety.minor": 1.0}),
    zm("Z-A", "2026-05", 80.0),
    zm("Z-A", "2026-06", None, **{"quality.inspected": 3.0}),
    zm("Z-B", "2026-04", 70.0, host="H02", **{"safety.minor": 2.0}),
    zm("Z-C", "2026-05", None, host="H02", region="西区"),
    zm("Z-A", "2026-07", 10.0),  # another quarter
]


def test_months_of_a_quarter_and_a_year() -> None:
    assert months_of("2026-Q2") == ["2026-04", "2026-05", "2026-06"]
    assert len(months_of("2026")) == 12 and months_of("2026")[0] == "2026-01"
    with pytest.raises(ValueError):
        months_of("2026-04")


def test_a_zones_quarter_is_the_mean_of_its_scored_months() -> None:
    by = {r.key: r for r in rollup(RollupLevel.ZONE, "2026-Q2", MONTHS)}
    a = by["Z-A"]
    assert (a.score, a.grade, a.months_scored, a.months_no_data) == (85.0, "good", 2, 1)
    assert a.figures == {"quality.inspected": 3.0, "safety.minor": 1.0}


def test_a_zone_without_any_scored_month_is_no_data() -> None:
    c = {r.key: r for r in rollup(RollupLevel.ZONE, "2026-Q2", MONTHS)}["Z-C"]
    assert c.status is N and c.score is None and c.grade is None and c.zones_no_data == 1


def test_the_year_takes_every_month_of_the_year() -> None:
    a = {r.key: r for r in rollup(RollupLevel.ZONE, "2026", MONTHS)}["Z-A"]
    assert a.score == pytest.approx(60.0) and a.months_scored == 3


def test_host_units_average_their_zones_each_zone_once() -> None:
    out = rollup(RollupLevel.HOST_UNIT, "2026-Q2", MONTHS)
    assert [r.key for r in out] == ["H01", "H02"]  # best first
    h2 = out[1]
    assert (h2.score, h2.zones, h2.zones_scored, h2.zones_no_data) == (70.0, 2, 1, 1)
    assert h2.grades == {"pass": 1} and h2.figures == {"safety.minor": 2.0}


def test_regions_group_zones_and_no_data_regions_come_last() -> None:
    out = rollup(RollupLevel.REGION, "2026-Q2", MONTHS)
    assert [(r.key, r.score) for r in out] == [("东区", 77.5), ("西区", None)]
    assert out[0].grades == {"good": 1, "pass": 1}


def test_summable_figures_leave_out_medians_and_means() -> None:
    indicators = {
        "efficiency": {
            "score": 50.0,
            "figures": {"permits_issued": 2, "within_sla": 1, "median_cycle_minutes": 95.0},
        },
        "party_building": {"score": None, "figures": {"rules_met": 4, "attendance": 5.5}},
    }
    assert summable_figures(indicators) == {
        "efficiency.permits_issued": 2.0,
        "efficiency.within_sla": 1.0,
        "party_building.rules_met": 4.0,
    }


# --------------------------------------------------------------------------- benefits


def improvement(**kw: object) -> Improvement:
    base: dict = {
        "improvement_id": "IMP-1",
        "project_id": "P001",
        "title": "胶粘挂网替代砸皮露砖",
        "declared_cost_saved_cny": 550_000.0,
        "declared_days_saved": 60.0,
    }
    return Improvement(**{**base, **kw})


def test_a_declared_saving_alone_is_an_input() -> None:
    b = benefit(improvement())
    assert b.cost_saved == Figure(550_000.0, "CNY", Provenance.INPUT, "declared by the sender")
    assert b.days_saved.provenance is Provenance.INPUT and b.discrepancies == ()


def test_before_and_after_derive_the_saving_and_name_a_disagreement() -> None:
    b = benefit(
        improvement(
            method_before="砸皮露砖",
            method_after="胶粘挂网",
            cost_before_cny=900_000.0,
            cost_after_cny=420_000.0,
            days_before=100.0,
            days_after=40.0,
        )
    )
    assert (b.cost_saved.value, b.cost_saved.provenance) == (480_000.0, Provenance.DERIVED)
    assert (b.days_saved.value, b.days_saved.provenance) == (60.0, Provenance.DERIVED)
    assert b.discrepancies == ("declared 550000 CNY saved, before − after gives 480000",)


def test_a_method_that_costs_more_is_a_negative_saving() -> None:
    b = benefit(improvement(declared_cost_saved_cny=0.0, cost_before_cny=100.0, cost_after_cny=150.0))
    assert b.cost_saved.value == -50.0 and b.discrepancies


def test_totals_are_as_good_as_their_weakest_part_and_split_by_provenance() -> None:
    derived = benefit(
        improvement(
            improvement_id="IMP-2",
            declared_cost_saved_cny=120_000.0,
            cost_before_cny=200_000.0,
            cost_after_cny=80_000.0,
        )
    )
    t = totals([benefit(improvement()), derived])
    assert t.cost_saved == Figure(670_000.0, "CNY", Provenance.INPUT)
    assert t.cost_by_provenance == {"derived": 120_000.0, "input": 550_000.0}
    assert t.improvements == 2 and t.discrepancies == ()
    assert weakest([Provenance.MEASURED, Provenance.ASSUMED]) is Provenance.ASSUMED
    assert totals([]).cost_saved.value == 0.0


# --------------------------------------------------------------------------- the year-end report


def inputs(sequential: list[float], provenance: Provenance, benefits: list[Benefit]) -> YearEndInputs:
    return YearEndInputs(
        year="2026",
        coverage=CoverageIn(key_projects=40, covered=40),
        zones=ZonesIn({"project_cobuild": 13, "regional_alliance": 10}, 72, 230, 96, 130, 20, 5),
        cadence=[RuleTally("weekly_meeting", 270, 276), RuleTally("party_class", 88, 92)],
        permits=PermitsIn(
            requested=11,
            issued=10,
            within_sla=9,
            sla_breaches=1,
            cycle_minutes=[60, 90, 100, 110, 120, 130, 140, 150, 200, 300],
            sequential_cycle_minutes=sequential,
            sequential_provenance=provenance,
        ),
        safety=SafetyIn(
            near_miss=3, minor=1, major=0, fatal=0, environmental=0, zones=23, zones_without_incident=22
        ),
        quality=QualityIn(inspected=276, excellent=276),
        benefits=totals(benefits),
        ranking=rollup(RollupLevel.ZONE, "2026", MONTHS),
    )


def test_the_year_end_report_has_every_section_in_order_with_its_figures() -> None:
    rep = compose(inputs([2880.0, 4320.0, 5760.0], Provenance.MEASURED, [benefit(improvement())]))
    assert [s.name for s in rep.sections] == [
        "coverage",
        "zones_and_members",
        "cadence",
        "permits",
        "safety",
        "quality",
        "benefit",
        "ranking",
    ]
    assert rep.section("coverage").figures["share"].value == 1.0
    assert rep.section("zones_and_members").figures["floating.brought_back_ever"].value == 130
    cadence = rep.section("cadence").figures
    assert cadence["all.met_share"].value == round(358 / 368, 4)
    permits = rep.section("permits").figures
    assert (permits["cycle_median"].value, permits["cycle_p90"].value) == (125.0, 200)
    assert permits["within_sla_share"].value == round(9 / 11, 4)
    assert permits["speedup_vs_sequential"].value == round(4320.0 / 125.0, 1)
    assert rep.section("quality").figures["excellent_share"].value == 1.0
    assert rep.section("safety").figures["zones_without_incident_share"].value == round(22 / 23, 4)
    assert [(z.rank, z.zone_id, z.grade) for z in rep.ranking] == [(1, "Z-B", "pass"), (2, "Z-A", "pass")]
    assert rep.no_data_zones == ("Z-C",)
    assert rep.section("ranking").figures["zones_no_data"].value == 1


def test_the_report_says_which_figures_are_inputs_and_which_are_measured() -> None:
    measured = compose(inputs([2880.0], Provenance.MEASURED, [benefit(improvement())]))
    assert measured.inputs() == [
        "benefit.cost_saved (input)",
        "benefit.days_saved (input)",
        "benefit.cost_saved.input (input)",
        "benefit.days_saved.input (input)",
    ]
    assumed = compose(inputs([1440.0, 2880.0], Provenance.ASSUMED, []))
    flagged = assumed.inputs()
    assert "permits.sequential_cycle_median (assumed)" in flagged
    assert "permits.speedup_vs_sequential (assumed)" in flagged


def test_shares_of_nothing_are_none_but_no_key_projects_is_full_coverage() -> None:
    empty = YearEndInputs(
        "2026",
        CoverageIn(0, 0),
        ZonesIn({}, 0, 0, 0, 0, 0, 0),
        [],
        PermitsIn(0, 0, 0, 0, []),
        SafetyIn(0, 0, 0, 0, 0, 0, 0),
        QualityIn(0, 0),
        totals([]),
        [],
    )
    rep = compose(empty)
    assert rep.section("coverage").figures["share"].value == 1.0
    assert rep.section("quality").figures["excellent_share"].value is None
    assert rep.section("permits").figures["speedup_vs_sequential"].value is None
    assert rep.section("cadence").figures["all.met_share"].value is None
    assert p90([]) is None and p90([5.0]) == 5.0
