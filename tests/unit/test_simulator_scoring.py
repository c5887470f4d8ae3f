"""The simulator's independent recomputation of scores, grades and the "2+1" parts (SPEC §3.4),
on hand-computed examples, and its facts drawn from the plan itself."""

from __future__ import annotations

from datetime import date

import pytest

from services.simulator.plan import build_plan
from services.simulator.scoring import ZoneFacts, compare, expected, facts_from_plan, grade_of
from services.simulator.world import build_world


def month(**kw: object) -> ZoneFacts:
    return ZoneFacts(**kw)  # type: ignore[arg-type]


def test_a_troubled_month_by_hand() -> None:
    f = month(
        rules_evaluated=5,
        rules_met=4,  # 80
        minor=1,  # 80
        inspected=10,
        excellent=9,  # 90
        milestones=2,
        on_time=1,  # 50
        permits_issued=3,
        within_sla=2,
        escalated_unissued=1,  # 2 of 4 → 50
        ratings={"host": 90.0, "construction": 80.0, "management": 70.0},
    )
    e = expected(f)
    assert e.indicators == {
        "party_building": 80.0,
        "safety": 80.0,
        "quality": 90.0,
        "schedule": 50.0,
        "efficiency": 50.0,
    }
    assert (e.host, e.construction, e.mutual, e.management, e.evaluation) == (90.0, 80.0, 85.0, 70.0, 77.5)
    # 0.7 × mean(80, 80, 90, 50, 50) + 0.3 × 77.5 = 0.7 × 70 + 23.25
    assert e.score == pytest.approx(72.25) and e.grade == "pass"


def test_a_perfect_month_without_permits_by_hand() -> None:
    f = month(
        rules_evaluated=5,
        rules_met=5,
        inspected=20,
        excellent=20,
        milestones=1,
        on_time=1,
        ratings={"host": 95.0, "construction": 93.0, "management": 96.0},
    )
    e = expected(f)
    assert e.indicators["efficiency"] is None  # nothing to measure: left out of the mean
    assert e.evaluation == pytest.approx(95.0)  # 94 × 0.5 + 96 × 0.5
    assert e.score == pytest.approx(98.5) and e.grade == "excellent"


def test_without_the_management_rating_the_indicators_alone() -> None:
    e = expected(month(rules_evaluated=5, rules_met=3, ratings={"host": 60.0, "construction": 60.0}))
    assert e.mutual == 60.0 and e.evaluation is None
    assert e.score == pytest.approx(80.0)  # mean(60, 100)


@pytest.mark.parametrize(
    ("facts", "safety"),
    [
        ({"minor": 2}, 60.0),
        ({"minor": 6}, 0.0),
        ({"near_miss": 3}, 100.0),
        ({"major": 1}, 0.0),
        ({"fatal": 1}, 0.0),
        ({"environmental": 1}, 0.0),
    ],
)
def test_safety_by_the_spec(facts: dict, safety: float) -> None:
    assert expected(month(rules_evaluated=1, rules_met=1, **facts)).indicators["safety"] == safety


def test_a_zone_with_no_facts_has_no_score() -> None:
    e = expected(month(ratings={"host": 90.0, "construction": 90.0, "management": 90.0}))
    assert e.score is None and e.grade is None and e.evaluation == 90.0
    assert compare("Z-1", "2026-04", e, {"status": "no_data"}) == []
    assert compare("Z-1", "2026-04", e, None) == []
    assert compare("Z-1", "2026-04", e, {"score": 100.0, "grade": "excellent"}) == [
        "assessment 2026-04 Z-1: scored 100.0 though the simulator gave it no data"
    ]


def test_grades_are_judged_at_the_published_precision() -> None:
    assert grade_of(89.996) == "excellent"
    assert grade_of(89.994) == "good"
    assert grade_of(59.99) == "fail"


def reported(score: float, grade: str, **over: object) -> dict:
    out: dict = {
        "score": score,
        "grade": grade,
        "indicators": {
            "party_building": {"score": 80.0},
            "safety": {"score": 80.0},
            "quality": {"score": 90.0},
            "schedule": {"score": 50.0},
            "efficiency": {"score": 50.0},
        },
        "evaluation": {
            "host_rates_construction": 90.0,
            "construction_rates_host": 80.0,
            "management": 70.0,
            "score": 77.5,
        },
    }
    out.update(over)
    return out


TROUBLED = month(
    rules_evaluated=5,
    rules_met=4,
    minor=1,
    inspected=10,
    excellent=9,
    milestones=2,
    on_time=1,
    permits_issued=3,
    within_sla=2,
    escalated_unissued=1,
    ratings={"host": 90.0, "construction": 80.0, "management": 70.0},
)


def test_a_report_that_agrees_at_two_decimals_has_no_mismatch() -> None:
    assert compare("Z-1", "2026-04", expected(TROUBLED), reported(72.25, "pass")) == []


def test_each_wrong_number_is_named() -> None:
    e = expected(TROUBLED)
    wrong = reported(
        75.0,
        "pass",
        evaluation={
            "host_rates_construction": 90.0,
            "construction_rates_host": 85.0,
            "management": 70.0,
            "score": 78.75,
        },
    )
    wrong["indicators"]["safety"] = {"score": 100.0}
    assert compare("Z-1", "2026-04", e, wrong) == [
        "assessment 2026-04 Z-1: 75.0 pass, simulator 72.25 pass",
        "assessment 2026-04 Z-1: safety 100.0, simulator 80.0",
        "assessment 2026-04 Z-1: 2+1 construction_rates_host 85.0, simulator 80.0",
        "assessment 2026-04 Z-1: 2+1 score 78.75, simulator 77.5",
    ]
    assert compare("Z-1", "2026-04", e, None) == [
        "assessment 2026-04 Z-1: no score reported, simulator computes 72.25 pass"
    ]


def test_the_facts_come_from_the_plan_itself() -> None:
    plan = build_plan(build_world(zones=6, host_units=4, units=20), date(2026, 4, 1), 30, 11)
    per_zone = {z.key: facts_from_plan(plan, z.key, plan.period) for z in plan.world.zones}
    t = plan.truth
    assert sum(f.inspected for f in per_zone.values()) == t.inspections
    assert sum(f.excellent for f in per_zone.values()) == t.excellent
    assert sum(f.minor for f in per_zone.values()) == t.incidents.get("minor", 0)
    assert sum(f.near_miss for f in per_zone.values()) == t.incidents.get("near_miss", 0)
    for z in plan.world.zones:
        f = per_zone[z.key]
        assert f.rules_evaluated == 5 + len(t.org_life_due[z.key]) == 8  # April: the monthly rules
        assert f.rules_met == f.rules_evaluated - len(t.unmet_rules[z.key]) - len(t.org_life_unmet[z.key])
        assert set(f.ratings) == (
            {"host", "construction"}
            if z.missing_management_evaluation
            else {"host", "construction", "management"}
        )
        assert f.milestones == len(z.projects)
        if z.late_milestone:
            assert f.on_time < f.milestones
    perfect = [per_zone[k] for k in t.perfect_zones]
    assert perfect and all(expected(f).grade == "excellent" for f in perfect)


def test_the_organisational_life_rules_judged_at_a_month_s_close() -> None:
    from services.simulator.plan import org_life_due

    monthly = {"branch_committee_meeting", "party_group_meeting", "theme_party_day_on_fixed_day"}
    assert org_life_due("2026-04") == monthly
    assert org_life_due("2026-06") == monthly | {"party_members_meeting", "party_class"}
    assert org_life_due("2026-12") >= monthly | {"organisational_life_meeting", "member_appraisal"}
    # The month plays 支委会 and 党小组会; a zone that misses its theme party day misses both rules.
    plan = build_plan(build_world(zones=6, host_units=4, units=20), date(2026, 4, 24), 7, 11)
    for z in plan.world.zones:
        missed = plan.truth.org_life_unmet[z.key]
        assert missed == ({"theme_party_day_on_fixed_day"} if z.miss_theme_day else set())
        kinds = {a.data["kind"] for a in plan.actions if a.type == "activity.record" and a.zone_key == z.key}
        assert {"branch_committee_meeting", "party_group_meeting"} <= kinds
