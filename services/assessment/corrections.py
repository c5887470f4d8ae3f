"""Corrected facts, pure: an incident reclassified, an inspection corrected, a late "2+1"
evaluation — each changes the period the fact belongs to, not the period of the correction
(issue 19). What to revise: ``periods_of``; the new revision itself: ``revisions``.

Choices where the SPEC leaves room, stated once:
- The latest correction wins, by its own time (``reclassified_at`` / ``corrected_at``); an
  older one arriving late changes nothing (``stale``). Equal times: the more severe
  severity / the worse result wins, so the order of arrival never decides.
- A correction for a fact not heard of yet is kept and applied when the fact arrives
  (``apply_pending``): the HSE system may publish both in either order.
- A correction that changes nothing (same severity and kind, same result) is not a change:
  no new revision.
- A "2+1" evaluation for a period already closed is a late fact like any other; its reason
  is ``late_evaluation``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

from shared.events.catalog import InspectionResult, RevisionReason, Severity
from shared.periods import month_of, quarter_of

SEVERITY_RANK = {Severity.NEAR_MISS: 0, Severity.MINOR: 1, Severity.MAJOR: 2, Severity.FATAL: 3}
RESULT_RANK = {InspectionResult.EXCELLENT: 0, InspectionResult.PASS: 1, InspectionResult.FAIL: 2}

F = TypeVar("F")


@dataclass(frozen=True)
class Corrected(Generic[F]):
    fact: F
    changed: bool  # the figures that score changed: the period needs a new revision
    stale: bool = False  # an older correction than the one already applied: ignored


# --------------------------------------------------------------------------- incidents


@dataclass(frozen=True)
class IncidentFact:
    incident_id: str
    severity: str
    kind: str
    occurred_at: datetime
    corrected_at: datetime | None = None
    correction_reason: str | None = None


@dataclass(frozen=True)
class Reclassification:
    incident_id: str
    severity: str
    kind: str | None
    reason: str
    at: datetime


def _newer(at: datetime, rank: int, fact_at: datetime | None, fact_rank: int) -> bool:
    return fact_at is None or at > fact_at or (at == fact_at and rank > fact_rank)


def reclassify(fact: IncidentFact, c: Reclassification) -> Corrected[IncidentFact]:
    """The incident after a reclassification (``safety.incident-reclassified``)."""
    rank = SEVERITY_RANK[Severity(c.severity)]
    if not _newer(c.at, rank, fact.corrected_at, SEVERITY_RANK[Severity(fact.severity)]):
        return Corrected(fact, changed=False, stale=True)
    new = replace(
        fact, severity=c.severity, kind=c.kind or fact.kind, corrected_at=c.at, correction_reason=c.reason
    )
    return Corrected(new, changed=(new.severity, new.kind) != (fact.severity, fact.kind))


# --------------------------------------------------------------------------- inspections


@dataclass(frozen=True)
class InspectionFact:
    inspection_id: str
    result: str
    inspected_at: datetime
    corrected_at: datetime | None = None
    correction_reason: str | None = None


@dataclass(frozen=True)
class InspectionCorrection:
    inspection_id: str
    result: str
    reason: str
    at: datetime


def correct_inspection(fact: InspectionFact, c: InspectionCorrection) -> Corrected[InspectionFact]:
    """The inspection after a correction (``quality.inspection-corrected``)."""
    rank = RESULT_RANK[InspectionResult(c.result)]
    if not _newer(c.at, rank, fact.corrected_at, RESULT_RANK[InspectionResult(fact.result)]):
        return Corrected(fact, changed=False, stale=True)
    new = replace(fact, result=c.result, corrected_at=c.at, correction_reason=c.reason)
    return Corrected(new, changed=new.result != fact.result)


# --------------------------------------------------------------------------- out of order


def apply_pending_reclassifications(
    fact: IncidentFact, pending: Iterable[Reclassification]
) -> Corrected[IncidentFact]:
    """An incident arriving after reclassifications of it: apply them in their own time order."""
    current = fact
    for c in sorted(pending, key=lambda c: c.at):
        current = reclassify(current, c).fact
    return Corrected(current, changed=(current.severity, current.kind) != (fact.severity, fact.kind))


def apply_pending_corrections(
    fact: InspectionFact, pending: Iterable[InspectionCorrection]
) -> Corrected[InspectionFact]:
    """An inspection arriving after corrections of it: apply them in their own time order."""
    current = fact
    for c in sorted(pending, key=lambda c: c.at):
        current = correct_inspection(current, c).fact
    return Corrected(current, changed=current.result != fact.result)


# --------------------------------------------------------------------------- what to revise


def periods_of(when: date | datetime, tz: ZoneInfo) -> tuple[str, str, str]:
    """The month, quarter and year a fact belongs to (its own time, in the site's zone)."""
    local = when.astimezone(tz) if isinstance(when, datetime) else when
    return month_of(local), quarter_of(local), f"{local.year:04d}"


REASON_OF_CAUSE: dict[str, RevisionReason] = {
    "safety.incident-reclassified": RevisionReason.INCIDENT_RECLASSIFIED,
    "quality.inspection-corrected": RevisionReason.INSPECTION_CORRECTED,
    "evaluation.submit": RevisionReason.LATE_EVALUATION,
}


def revision_reason(cause_type: str, period_closing: bool) -> RevisionReason:
    """Why a revision is made: the close of the period itself, or the kind of late fact."""
    if period_closing:
        return RevisionReason.PERIOD_CLOSED
    return REASON_OF_CAUSE.get(cause_type, RevisionReason.LATE_FACT)
