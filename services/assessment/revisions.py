"""A zone-period's assessment as revisions that follow the facts, and the ranking's, pure
(issue 19, SPEC §3.4: "a late event for a closed period recomputes it and publishes a new
revision, never a silent change").

Choices where the SPEC leaves room, stated once:
- A zone with no data for a period is ``no_data``: no score, no grade, not ranked — never
  100 / excellent. ``safety`` is "100 with zero incidents", which says nothing about a zone
  nobody heard of: so a period has data only when some fact of the scored indicators is
  there (a cadence evaluation, an activity, an inspection, a milestone, a permit issued or
  escalated, an incident). "2+1" ratings alone are opinions and reported figures alone
  (problems resolved, savings) score nothing: both leave the period ``no_data``, with the
  reason.
- A revision is made only when something a reader sees changed (status, score, grade,
  indicators, evaluation); the first close always makes revision 1.
- A ranking ranks the scored zones only; zones due but without data are listed beside it.
  It gets a new revision when its order, scores or no-data list change.
- A comparison zone (``domain.is_comparison``: the old sequential sign-off) is in neither list:
  its 33 points of permits and no party activities would rank it last and grade it a fail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shared.events.catalog import AssessmentStatus, NoDataReason, RevisionReason

from . import domain

EVIDENCE_KINDS = frozenset(
    {"compliance", "activity", "quality", "milestone", "permit_issued", "sla_breach", "incident"}
)


@dataclass(frozen=True)
class PeriodAssessment:
    """What the assessment says of one zone for one period."""

    status: AssessmentStatus
    score: float | None
    grade: str | None
    no_data: NoDataReason | None
    indicators: dict[str, dict[str, Any]]
    evaluation: dict[str, Any]
    evaluation_missing: bool
    not_applicable: tuple[str, ...]

    def same_as(self, other: PeriodAssessment) -> bool:
        return (self.status, self.score, self.grade, self.indicators, self.evaluation) == (
            other.status,
            other.score,
            other.grade,
            other.indicators,
            other.evaluation,
        )


def no_data_reason(facts: Iterable[dict[str, Any]], ratings: dict[str, float]) -> NoDataReason | None:
    """Why the period has no data (None: it has)."""
    kinds = {f["kind"] for f in facts}
    if kinds & EVIDENCE_KINDS:
        return None
    if kinds:
        return NoDataReason.FIGURES_ONLY
    return NoDataReason.EVALUATION_ONLY if ratings else NoDataReason.NO_FACTS


def assess_period(
    facts: list[dict[str, Any]], ratings: dict[str, float], w: domain.Weights = domain.Weights()
) -> PeriodAssessment:
    """The SPEC's score (``domain.assess``) when the period has data, else ``no_data``."""
    result = domain.assess(facts, ratings, w)
    reason = no_data_reason(facts, ratings)
    scored = reason is None
    return PeriodAssessment(
        status=AssessmentStatus.SCORED if scored else AssessmentStatus.NO_DATA,
        score=result["score"] if scored else None,
        grade=result["grade"] if scored else None,
        no_data=reason,
        indicators=result["indicators"],
        evaluation=result["evaluation"],
        evaluation_missing=result["evaluation_missing"],
        not_applicable=tuple(result["not_applicable"]) if scored else domain.INDICATORS,
    )


# --------------------------------------------------------------------------- revisions


@dataclass(frozen=True)
class Revision:
    zone_id: str
    period: str
    revision: int
    assessment: PeriodAssessment
    reason: RevisionReason
    caused_by: str | None
    previous_score: float | None
    previous_grade: str | None

    @property
    def scored(self) -> bool:
        return self.assessment.status is AssessmentStatus.SCORED

    @property
    def event_type(self) -> str:
        return "assessment.computed" if self.scored else "assessment.no-data"

    def payload(self) -> dict[str, Any]:
        """The event's ``data`` (``AssessmentComputed`` or ``AssessmentNoData``)."""
        a = self.assessment
        common = {
            "zone_id": self.zone_id,
            "period": self.period,
            "revision": self.revision,
            "reason": self.reason.value,
            "caused_by": self.caused_by,
        }
        if not self.scored:
            return {**common, "no_data": a.no_data.value if a.no_data else NoDataReason.NO_FACTS.value}
        return {
            **common,
            "indicators": a.indicators,
            "evaluation": a.evaluation,
            "evaluation_missing": a.evaluation_missing,
            "score": a.score,
            "grade": a.grade,
            "previous_score": self.previous_score,
            "previous_grade": self.previous_grade,
        }


def next_revision(
    previous: Revision | None,
    zone_id: str,
    period: str,
    assessment: PeriodAssessment,
    reason: RevisionReason,
    caused_by: str | None = None,
) -> Revision | None:
    """The next revision, or None when nothing a reader sees has changed."""
    if previous is not None and previous.assessment.same_as(assessment):
        return None
    return Revision(
        zone_id=zone_id,
        period=period,
        revision=1 if previous is None else previous.revision + 1,
        assessment=assessment,
        reason=reason,
        caused_by=caused_by,
        previous_score=None if previous is None else previous.assessment.score,
        previous_grade=None if previous is None else previous.assessment.grade,
    )


# --------------------------------------------------------------------------- ranking


@dataclass(frozen=True)
class RankEntry:
    zone_id: str
    score: float
    rank: int


@dataclass(frozen=True)
class RankingRevision:
    period: str
    revision: int
    entries: tuple[RankEntry, ...]
    no_data: tuple[str, ...]
    reason: RevisionReason

    def payload(self) -> dict[str, Any]:
        """The ``assessment.ranking-published`` data."""
        return {
            "period": self.period,
            "revision": self.revision,
            "ranking": [{"zone_id": e.zone_id, "score": e.score, "rank": e.rank} for e in self.entries],
            "reason": self.reason.value,
            "no_data": list(self.no_data),
        }


def ranking_of(
    latest: Iterable[Revision], comparison: frozenset[str] = frozenset()
) -> tuple[tuple[RankEntry, ...], tuple[str, ...]]:
    """Scored zones ranked best first (equal scores share a rank); the others beside it; the
    comparison zones in neither."""
    rs = [r for r in latest if r.zone_id not in comparison]
    scores = {r.zone_id: r.assessment.score for r in rs if r.scored and r.assessment.score is not None}
    entries = tuple(RankEntry(e["zone_id"], e["score"], e["rank"]) for e in domain.rank(scores))
    return entries, tuple(sorted(r.zone_id for r in rs if not r.scored))


def next_ranking(
    previous: RankingRevision | None,
    period: str,
    latest: Iterable[Revision],
    reason: RevisionReason,
    comparison: frozenset[str] = frozenset(),
) -> RankingRevision | None:
    """The next ranking revision from each zone's latest revision, or None when unchanged."""
    entries, no_data = ranking_of(latest, comparison)
    if not entries and not no_data:
        return None
    if previous is not None and (previous.entries, previous.no_data) == (entries, no_data):
        return None
    revision = 1 if previous is None else previous.revision + 1
    return RankingRevision(period, revision, entries, no_data, reason)


# --------------------------------------------------------------------------- as stored


def result_doc(a: PeriodAssessment) -> dict[str, Any]:
    """A period's assessment as the service stores and serves it."""
    return {
        "status": a.status.value,
        "score": a.score,
        "grade": a.grade,
        "no_data": a.no_data.value if a.no_data else None,
        "indicators": a.indicators,
        "evaluation": a.evaluation,
        "evaluation_missing": a.evaluation_missing,
        "not_applicable": list(a.not_applicable),
    }


def assessment_of(doc: dict[str, Any]) -> PeriodAssessment:
    """The stored result back as the rules see it (a result stored before ``no_data`` existed
    was scored)."""
    status = AssessmentStatus(doc.get("status") or AssessmentStatus.SCORED)
    return PeriodAssessment(
        status=status,
        score=doc.get("score"),
        grade=doc.get("grade"),
        no_data=NoDataReason(doc["no_data"]) if doc.get("no_data") else None,
        indicators=doc["indicators"],
        evaluation=doc["evaluation"],
        evaluation_missing=bool(doc.get("evaluation_missing")),
        not_applicable=tuple(doc.get("not_applicable") or ()),
    )


def latest_of(doc: dict[str, Any]) -> Revision:
    """A zone-period's stored document (``assessments``) as its latest revision."""
    last = doc["revisions"][-1]
    return Revision(
        zone_id=doc["zone_id"],
        period=doc["period"],
        revision=int(doc["revision"]),
        assessment=assessment_of(doc["result"]),
        reason=RevisionReason(last.get("reason") or RevisionReason.PERIOD_CLOSED),
        caused_by=last.get("caused_by"),
        previous_score=last.get("previous_score"),
        previous_grade=last.get("previous_grade"),
    )


def ranking_of_doc(doc: dict[str, Any]) -> RankingRevision:
    """A period's stored ranking (``rankings``) as its latest revision."""
    return RankingRevision(
        period=doc["_id"],
        revision=int(doc["revision"]),
        entries=tuple(RankEntry(e["zone_id"], e["score"], e["rank"]) for e in doc["ranking"]),
        no_data=tuple(doc.get("no_data") or ()),
        reason=RevisionReason(doc.get("reason") or RevisionReason.PERIOD_CLOSED),
    )
