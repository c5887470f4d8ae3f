"""Scores that follow the facts: corrections, no data, revisions with their reason, rankings."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.assessment import domain
from services.assessment.corrections import (
    IncidentFact,
    InspectionCorrection,
    InspectionFact,
    Reclassification,
    apply_pending_corrections,
    apply_pending_reclassifications,
    correct_inspection,
    effective_facts,
    periods_of,
    reclassify,
    revision_reason,
)
from services.assessment.revisions import (
    assess_period,
    latest_of,
    next_ranking,
    next_revision,
    no_data_reason,
    ranking_of,
    ranking_of_doc,
    result_doc,
)
from shared.events.catalog import AssessmentStatus, NoDataReason, RevisionReason

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 4, 14, 11, tzinfo=TZ)
MINOR = IncidentFact("I-1", "minor", "injury", T0)


def rc(severity: str, days: int, kind: str | None = None) -> Reclassification:
    return Reclassification("I-1", severity, kind, "伤者经抢救无效死亡", T0 + timedelta(days=days))


# --------------------------------------------------------------------------- corrections


def test_an_incident_reclassified_minor_to_fatal_changes() -> None:
    out = reclassify(MINOR, rc("fatal", 20))
    assert out.changed and not out.stale
    assert (out.fact.severity, out.fact.kind, out.fact.correction_reason) == (
        "fatal",
        "injury",
        "伤者经抢救无效死亡",
    )
    assert out.fact.occurred_at == T0  # still April's incident


def test_a_reclassification_to_the_same_severity_is_no_change() -> None:
    out = reclassify(MINOR, rc("minor", 3))
    assert not out.changed and not out.stale


def test_a_reclassification_can_change_the_kind_alone() -> None:
    out = reclassify(MINOR, rc("minor", 3, kind="environmental"))
    assert out.changed and out.fact.kind == "environmental"


def test_an_older_reclassification_arriving_late_is_stale() -> None:
    latest = reclassify(MINOR, rc("fatal", 20)).fact
    out = reclassify(latest, rc("major", 10))
    assert out.stale and not out.changed and out.fact.severity == "fatal"


def test_equal_times_the_more_severe_wins_whatever_the_order() -> None:
    a, b = rc("major", 5), rc("fatal", 5)
    assert reclassify(reclassify(MINOR, a).fact, b).fact.severity == "fatal"
    assert reclassify(reclassify(MINOR, b).fact, a).fact.severity == "fatal"


def test_reclassifications_heard_before_the_incident_apply_in_time_order() -> None:
    out = apply_pending_reclassifications(MINOR, [rc("near_miss", 9), rc("major", 2)])
    assert out.changed and out.fact.severity == "near_miss"
    back = apply_pending_reclassifications(MINOR, [rc("major", 2), rc("minor", 9)])
    assert not back.changed  # minor → major → minor: nothing to revise


def test_an_inspection_corrected_and_a_stale_correction() -> None:
    q = InspectionFact("Q-1", "excellent", T0)
    out = correct_inspection(q, InspectionCorrection("Q-1", "fail", "焊缝复检不合格", T0 + timedelta(days=3)))
    assert out.changed and out.fact.result == "fail"
    stale = correct_inspection(
        out.fact, InspectionCorrection("Q-1", "pass", "旧结论", T0 + timedelta(days=1))
    )
    assert stale.stale and stale.fact.result == "fail"
    pending = apply_pending_corrections(
        q, [InspectionCorrection("Q-1", "pass", "复核", T0 + timedelta(days=2))]
    )
    assert pending.changed and pending.fact.result == "pass"


def test_a_correction_belongs_to_the_period_of_the_fact_in_the_sites_time_zone() -> None:
    # 31 March 23:30 in Shanghai is still March, though UTC says 15:30 the same day.
    assert periods_of(datetime(2026, 3, 31, 23, 30, tzinfo=TZ), TZ) == ("2026-03", "2026-Q1", "2026")
    assert periods_of(datetime(2026, 3, 31, 16, 30, tzinfo=ZoneInfo("UTC")), TZ) == (
        "2026-04",
        "2026-Q2",
        "2026",
    )


@pytest.mark.parametrize(
    ("cause", "closing", "reason"),
    [
        ("clock.ticked", True, RevisionReason.PERIOD_CLOSED),
        ("safety.incident-reclassified", False, RevisionReason.INCIDENT_RECLASSIFIED),
        ("quality.inspection-corrected", False, RevisionReason.INSPECTION_CORRECTED),
        ("evaluation.submit", False, RevisionReason.LATE_EVALUATION),
        ("quality.procedure-inspected", False, RevisionReason.LATE_FACT),
    ],
)
def test_the_reason_of_a_revision(cause: str, closing: bool, reason: RevisionReason) -> None:
    assert revision_reason(cause, closing) is reason


# --------------------------------------------------------------------------- no data


def fact(kind: str, **f: object) -> dict:
    return {"kind": kind, **f}


def test_a_zone_without_data_is_no_data_never_100_or_excellent() -> None:
    a = assess_period([], {})
    assert a.status is AssessmentStatus.NO_DATA and a.score is None and a.grade is None
    assert a.no_data is NoDataReason.NO_FACTS
    assert domain.assess([], {})["score"] == 100.0  # what the bare formula would have said


@pytest.mark.parametrize(
    ("facts", "ratings", "reason"),
    [
        ([], {}, NoDataReason.NO_FACTS),
        ([], {"host": 90.0, "construction": 90.0, "management": 95.0}, NoDataReason.EVALUATION_ONLY),
        ([fact("improvement", cost_saved_cny=1.0, days_saved=1.0)], {}, NoDataReason.FIGURES_ONLY),
        ([fact("problem_resolved")], {}, NoDataReason.FIGURES_ONLY),
        ([fact("compliance", met=True)], {}, None),
        ([fact("incident", severity="minor", incident_kind="injury")], {}, None),
        ([fact("activity", attendees=3)], {}, None),
    ],
)
def test_what_counts_as_data(
    facts: list[dict], ratings: dict[str, float], reason: NoDataReason | None
) -> None:
    assert no_data_reason(facts, ratings) is reason


def test_a_period_with_data_is_scored_by_the_specs_formula() -> None:
    facts = [fact("quality", result="excellent"), fact("incident", severity="minor", incident_kind="injury")]
    a = assess_period(facts, {"host": 90.0, "construction": 80.0, "management": 70.0})
    assert a.status is AssessmentStatus.SCORED
    assert a.score == pytest.approx(0.7 * 90 + 0.3 * 77.5) and a.grade == "good"


# --------------------------------------------------------------------------- revisions and ranking

CLEAN = [fact("compliance", met=True), fact("quality", result="excellent")]


def incident(severity: str) -> dict:
    return fact("incident", severity=severity, incident_kind="injury")


def test_the_first_close_is_revision_1_and_an_unchanged_result_makes_none() -> None:
    r1 = next_revision(None, "Z-1", "2026-04", assess_period(CLEAN, {}), RevisionReason.PERIOD_CLOSED)
    assert r1 is not None and r1.revision == 1 and r1.previous_score is None
    assert next_revision(r1, "Z-1", "2026-04", assess_period(CLEAN, {}), RevisionReason.LATE_FACT) is None


def test_a_reclassified_incident_lowers_a_closed_months_score_with_a_new_revision_and_ranking() -> None:
    month = "2026-04"
    a1 = next_revision(
        None, "Z-A", month, assess_period([*CLEAN, incident("minor")], {}), RevisionReason.PERIOD_CLOSED
    )
    b1 = next_revision(
        None,
        "Z-B",
        month,
        assess_period([*CLEAN, fact("milestone", on_time=False)], {}),
        RevisionReason.PERIOD_CLOSED,
    )
    assert a1 is not None and b1 is not None
    rank1 = next_ranking(None, month, [a1, b1], RevisionReason.PERIOD_CLOSED)
    assert rank1 is not None and [e.zone_id for e in rank1.entries] == ["Z-A", "Z-B"]  # 93.33 vs 75.0

    a2 = next_revision(
        a1,
        "Z-A",
        month,
        assess_period([*CLEAN, incident("fatal")], {}),
        RevisionReason.INCIDENT_RECLASSIFIED,
        "I-1",
    )
    assert a2 is not None and a2.revision == 2 and a2.reason is RevisionReason.INCIDENT_RECLASSIFIED
    assert (a2.previous_score, a2.assessment.score) == (pytest.approx(93.33), pytest.approx(66.67))
    assert a2.payload()["caused_by"] == "I-1" and a2.event_type == "assessment.computed"
    rank2 = next_ranking(rank1, month, [a2, b1], RevisionReason.INCIDENT_RECLASSIFIED)
    assert rank2 is not None and rank2.revision == 2
    assert [e.zone_id for e in rank2.entries] == ["Z-B", "Z-A"]
    assert rank2.payload()["reason"] == "incident_reclassified"
    assert next_ranking(rank2, month, [a2, b1], RevisionReason.LATE_FACT) is None


def test_a_zone_without_data_is_not_ranked_but_listed_and_a_late_fact_scores_it() -> None:
    empty = next_revision(None, "Z-C", "2026-04", assess_period([], {}), RevisionReason.PERIOD_CLOSED)
    scored = next_revision(None, "Z-A", "2026-04", assess_period(CLEAN, {}), RevisionReason.PERIOD_CLOSED)
    assert empty is not None and scored is not None
    assert empty.event_type == "assessment.no-data" and empty.payload()["no_data"] == "no_facts"
    ranking = next_ranking(None, "2026-04", [empty, scored], RevisionReason.PERIOD_CLOSED)
    assert (
        ranking is not None
        and [e.zone_id for e in ranking.entries] == ["Z-A"]
        and ranking.no_data == ("Z-C",)
    )
    late = next_revision(empty, "Z-C", "2026-04", assess_period(CLEAN, {}), RevisionReason.LATE_FACT)
    assert late is not None and late.revision == 2 and late.scored and late.previous_score is None


def test_a_late_evaluation_makes_a_revision_with_its_reason() -> None:
    r1 = next_revision(None, "Z-1", "2026-04", assess_period(CLEAN, {}), RevisionReason.PERIOD_CLOSED)
    full = {"host": 80.0, "construction": 80.0, "management": 60.0}
    r2 = next_revision(r1, "Z-1", "2026-04", assess_period(CLEAN, full), RevisionReason.LATE_EVALUATION)
    assert r2 is not None and r2.reason is RevisionReason.LATE_EVALUATION
    assert r2.assessment.score == pytest.approx(0.7 * 100 + 0.3 * 70) and r2.previous_grade == "excellent"


# --------------------------------------------------------------------------- as stored and served


def test_stored_facts_are_read_as_corrected_in_the_corrections_own_time_order() -> None:
    facts = [
        {"_id": "incident:I-1", "kind": "incident", "severity": "minor", "incident_kind": "injury"},
        {"_id": "quality:Q-1", "kind": "quality", "result": "excellent"},
        {"_id": "activity:A-1", "kind": "activity", "attendees": 5},
    ]
    fixes = [
        {
            "corrects": "incident:I-1",
            "severity": "major",
            "incident_kind": None,
            "reason": "r1",
            "at": T0 + timedelta(days=9),
        },
        {
            "corrects": "incident:I-1",
            "severity": "fatal",
            "incident_kind": None,
            "reason": "r2",
            "at": T0 + timedelta(days=3),
        },
        {"corrects": "quality:Q-1", "result": "fail", "reason": "复检", "at": T0},
    ]
    out = {f["_id"]: f for f in effective_facts(facts, fixes)}
    assert (out["incident:I-1"]["severity"], out["incident:I-1"]["corrected_by"]) == (
        "major",
        "r1",
    )  # the latest
    assert (out["quality:Q-1"]["result"], out["quality:Q-1"]["corrected_by"]) == ("fail", "复检")
    assert out["activity:A-1"] == facts[2]
    assert facts[0]["severity"] == "minor"  # the stored fact is never rewritten


def test_a_stored_revision_reads_back_as_the_rules_see_it() -> None:
    a = assess_period([fact("incident", severity="minor", incident_kind="injury")], {})
    rev = next_revision(None, "Z1", "2026-04", a, RevisionReason.PERIOD_CLOSED)
    assert rev is not None
    doc = {
        "zone_id": "Z1",
        "period": "2026-04",
        "revision": 1,
        "result": result_doc(a),
        "revisions": [{"reason": "period_closed", "caused_by": None}],
    }
    back = latest_of(doc)
    assert back.assessment.same_as(a) and back.revision == 1 and back.reason is RevisionReason.PERIOD_CLOSED
    entries, no_data = ranking_of([back])
    kept = {"_id": "2026-04", "revision": 1, "ranking": [vars(e) for e in entries], "no_data": list(no_data)}
    assert ranking_of_doc(kept).entries == entries


def test_a_comparison_zone_is_neither_ranked_nor_listed_without_data() -> None:
    """The old route's twin scores 33.3 (permits late, no party activities): ranked, it would
    sit last with a fail; it is a comparison, so the ranking is the zones' alone."""
    month = "2026-04"
    zone = next_revision(None, "Z-A", month, assess_period(CLEAN, {}), RevisionReason.PERIOD_CLOSED)
    late = [
        fact("permit_issued", permit_id="SQ-W1", within_sla=False, cycle_minutes=1900.0),
        fact("compliance", met=False),
    ]
    old = next_revision(None, "Z-SEQ", month, assess_period(late, {}), RevisionReason.PERIOD_CLOSED)
    quiet = next_revision(None, "Z-SEQ2", month, assess_period([], {}), RevisionReason.PERIOD_CLOSED)
    assert zone is not None and old is not None and quiet is not None
    assert old.scored and old.assessment.score == pytest.approx(33.33) and old.assessment.grade == "fail"
    apart = frozenset({"Z-SEQ", "Z-SEQ2"})
    entries, no_data = ranking_of([zone, old, quiet], apart)
    assert [(e.zone_id, e.rank) for e in entries] == [("Z-A", 1)] and no_data == ()
    ranking = next_ranking(None, month, [zone, old, quiet], RevisionReason.PERIOD_CLOSED, apart)
    assert ranking is not None
    assert ranking.payload()["ranking"] == [{"zone_id": "Z-A", "score": 100.0, "rank": 1}]
    assert ranking.payload()["no_data"] == []
    closed = RevisionReason.PERIOD_CLOSED
    assert next_ranking(None, month, [old, quiet], closed, apart) is None  # nothing left to rank
    everyone = next_ranking(None, month, [zone, old, quiet], closed)  # without the rule
    assert everyone is not None and [e.zone_id for e in everyone.entries] == ["Z-A", "Z-SEQ"]
