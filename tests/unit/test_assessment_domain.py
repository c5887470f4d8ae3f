"""Indicators, the "2+1" evaluation, score and grade, without I/O."""

from __future__ import annotations

import pytest

from services.assessment import domain


def fact(kind: str, **f: object) -> dict:
    return {"kind": kind, **f}


def incident(severity: str, kind: str = "injury") -> dict:
    return fact("incident", severity=severity, incident_kind=kind)


def test_276_of_276_excellent_is_quality_100() -> None:
    facts = [fact("quality", result="excellent") for _ in range(276)]
    q = domain.indicators(facts)["quality"]
    assert q["score"] == 100.0 and q["figures"]["inspected"] == 276 and q["figures"]["excellent"] == 276
    assert domain.indicators([*facts, fact("quality", result="pass")])["quality"]["score"] == pytest.approx(
        276 / 277 * 100, abs=0.01
    )


@pytest.mark.parametrize(
    ("incidents", "score"),
    [
        ([], 100.0),
        ([incident("near_miss")], 100.0),
        ([incident("minor")], 80.0),
        ([incident("minor"), incident("minor")], 60.0),
        ([incident("minor")] * 6, 0.0),
        ([incident("major")], 0.0),
        ([incident("fatal")], 0.0),
        ([incident("minor", "environmental")], 0.0),
        ([incident("near_miss", "environmental")], 100.0),
    ],
)
def test_safety(incidents: list[dict], score: float) -> None:
    assert domain.indicators(incidents)["safety"]["score"] == score


def test_party_building_schedule_efficiency_and_benefit() -> None:
    facts = [
        *[
            fact("compliance", rule=r, met=r != "theme_party_day")
            for r in (
                "theme_party_day",
                "joint_meeting",
                "monthly_analysis",
                "weekly_meeting",
                "daily_checkin",
            )
        ],
        fact("activity", attendees=4),
        fact("activity", attendees=6),
        fact("milestone", on_time=True),
        fact("milestone", on_time=False),
        fact("drawing_review", permit_id="D1", within_sla=True, cycle_minutes=2880.0),
        fact("drawing_review", permit_id="D2", within_sla=False, cycle_minutes=4320.0),
        fact("drawing_sla_breach", permit_id="D2"),
        fact("permit_issued", permit_id="A", within_sla=True, cycle_minutes=90.0),
        fact("permit_issued", permit_id="B", within_sla=False, cycle_minutes=400.0),
        fact("sla_breach", permit_id="B"),
        fact("sla_breach", permit_id="C"),  # escalated and never issued
        fact("problem_resolved"),
        fact("improvement", cost_saved_cny=550000.0, days_saved=60.0),
    ]
    i = domain.indicators(facts)
    assert i["party_building"]["score"] == 80.0 and i["party_building"]["figures"]["attendance"] == 5
    assert i["schedule"]["score"] == 50.0  # 2 of 4: a milestone on time, a drawing review within SLA
    assert i["schedule"]["figures"] == {
        "milestones": 2,
        "on_time": 1,
        "drawing_reviews": 2,
        "drawing_reviews_within_sla": 1,
        "drawing_review_breaches": 1,
        "median_drawing_review_days": 2.5,
    }
    assert i["efficiency"]["score"] == pytest.approx(100 / 3, abs=0.01)
    assert i["efficiency"]["figures"] == {
        "permits_issued": 2,
        "within_sla": 1,
        "sla_breaches": 2,
        "median_cycle_minutes": 245.0,
    }
    assert i["benefit"] == {
        "score": None,
        "figures": {"problems_resolved": 1, "cost_saved_cny": 550000.0, "days_saved": 60.0},
    }


def test_score_with_and_without_evaluation() -> None:
    facts = [fact("quality", result="excellent"), incident("minor")]  # quality 100, safety 80
    alone = domain.assess(facts, {})
    assert alone["score"] == 90.0 and alone["evaluation_missing"]
    assert set(alone["not_applicable"]) == {"party_building", "schedule", "efficiency"}
    partial = domain.assess(facts, {"host": 90, "construction": 80})
    assert partial["evaluation_missing"] and partial["score"] == 90.0
    full = domain.assess(facts, {"host": 90, "construction": 80, "management": 70})
    assert full["evaluation"]["score"] == 77.5  # (90 + 80) / 2 × 0.5 + 70 × 0.5
    assert full["score"] == pytest.approx(0.7 * 90 + 0.3 * 77.5)
    assert not full["evaluation_missing"]


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (100, "excellent"),
        (90, "excellent"),
        (89.99, "good"),
        (80, "good"),
        (79.9, "pass"),
        (60, "pass"),
        (59.9, "fail"),
        (0, "fail"),
    ],
)
def test_grade_boundaries(score: float, grade: str) -> None:
    assert domain.grade(score) == grade


def test_ranking_is_best_first_and_ties_share_a_rank() -> None:
    assert domain.rank({"B": 90.0, "A": 95.0, "C": 90.0}) == [
        {"zone_id": "A", "score": 95.0, "rank": 1},
        {"zone_id": "B", "score": 90.0, "rank": 2},
        {"zone_id": "C", "score": 90.0, "rank": 2},
    ]


def test_evaluation_refusals() -> None:
    zone = {"units": [{"unit_id": "H", "role": "host"}, {"unit_id": "C", "role": "construction"}]}
    ok = {"zone": zone, "evaluator_role": "host", "evaluator_unit_id": "H", "score": 90.0, "already": False}
    assert domain.evaluation_refusals(**ok) == []
    assert domain.evaluation_refusals(**{**ok, "zone": None}) == ["unknown_zone"]
    assert domain.evaluation_refusals(**{**ok, "evaluator_role": "mayor"}) == ["unknown_evaluator_role"]
    assert domain.evaluation_refusals(**{**ok, "evaluator_unit_id": "C"}) == ["evaluator_role_mismatch"]
    assert domain.evaluation_refusals(**{**ok, "score": -1}) == ["score_out_of_range"]
    assert domain.evaluation_refusals(**{**ok, "already": True}) == ["duplicate_evaluation"]


def twin(zone_id: str, signing: str | None = "sequential") -> dict:
    """A zone copy as the assessment keeps it (``{_id, **snapshot}``), with its settings."""
    settings = None if signing is None else {"signing": signing, "theme_party_day": None}
    return {"_id": zone_id, "zone_id": zone_id, "settings": settings}


def test_a_zone_signing_sequentially_is_a_comparison_of_the_old_route() -> None:
    assert domain.is_comparison(twin("Z-SEQ"))
    assert not domain.is_comparison(twin("Z-A", "parallel"))
    assert not domain.is_comparison(twin("Z-OLD", None))  # a snapshot from before zone.configure
    assert not domain.is_comparison({"_id": "Z-B"}) and not domain.is_comparison(None)
    zones = [twin("Z-SEQ"), twin("Z-A", "parallel"), twin("Z-OLD", None)]
    assert domain.comparison_ids(zones) == {"Z-SEQ"}
    assert domain.comparison_ids([{"zone_id": "Z-Y", "settings": {"signing": "sequential"}}]) == {"Z-Y"}
