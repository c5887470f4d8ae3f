"""Benefits from improvement facts, pure (issue 19): a method change with its cost and days
before and after (e.g. 胶粘挂网 instead of 砸皮露砖), and which figures of a report are inputs
and which are measured.

Every figure carries its ``Provenance``: ``measured`` (the system timed or counted it from
events it observed), ``derived`` (computed here from declared before/after figures),
``input`` (a result the sender declared, read back as given) or ``assumed`` (a stated
assumption). A total is only as good as its weakest part: its provenance is the weakest
of its parts' (measured > derived > input > assumed), and the amounts by provenance are
kept beside it so a report can say "CNY 550,000 declared, CNY 120,000 derived".

Choices where the SPEC leaves room, stated once:
- With both the before and the after figure, the saving is derived: before − after (a
  method that costs more is a negative saving, reported as such). A declared
  ``cost_saved_cny`` / ``days_saved`` that differs from it by more than the tolerance is
  named as a discrepancy; the derived figure is the one counted.
- With only the declared result, the saving is that input.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared.events.catalog import ImprovementRecorded, Provenance

STRENGTH = {Provenance.MEASURED: 3, Provenance.DERIVED: 2, Provenance.INPUT: 1, Provenance.ASSUMED: 0}


@dataclass(frozen=True)
class Figure:
    """A number in a report, with its unit and where it comes from."""

    value: float | None
    unit: str
    provenance: Provenance
    note: str = ""


def weakest(provenances: Iterable[Provenance]) -> Provenance:
    ps = list(provenances)
    return min(ps, key=lambda p: STRENGTH[p]) if ps else Provenance.MEASURED


@dataclass(frozen=True)
class Improvement:
    """An improvement fact (``improvement.recorded``)."""

    improvement_id: str
    project_id: str
    title: str
    declared_cost_saved_cny: float
    declared_days_saved: float
    method_before: str | None = None
    method_after: str | None = None
    cost_before_cny: float | None = None
    cost_after_cny: float | None = None
    days_before: float | None = None
    days_after: float | None = None

    @classmethod
    def of(cls, improvement_id: str, data: ImprovementRecorded) -> Improvement:
        return cls(
            improvement_id=data.improvement_id or improvement_id,
            project_id=data.project_id,
            title=data.title,
            declared_cost_saved_cny=data.cost_saved_cny,
            declared_days_saved=data.days_saved,
            method_before=data.method_before,
            method_after=data.method_after,
            cost_before_cny=data.cost_before_cny,
            cost_after_cny=data.cost_after_cny,
            days_before=data.days_before,
            days_after=data.days_after,
        )


@dataclass(frozen=True)
class Benefit:
    improvement_id: str
    title: str
    cost_saved: Figure
    days_saved: Figure
    discrepancies: tuple[str, ...]


def _saving(
    before: float | None, after: float | None, declared: float, unit: str, tolerance: float
) -> tuple[Figure, str | None]:
    if before is None or after is None:
        return Figure(declared, unit, Provenance.INPUT, "declared by the sender"), None
    derived = round(before - after, 2)
    note = f"{before:g} before − {after:g} after"
    clash = None
    if abs(derived - declared) > tolerance:
        clash = f"declared {declared:g} {unit} saved, before − after gives {derived:g}"
    return Figure(derived, unit, Provenance.DERIVED, note), clash


def benefit(imp: Improvement, tolerance_cny: float = 1.0, tolerance_days: float = 0.5) -> Benefit:
    """The saving of one improvement: derived from before/after when given, else the input."""
    cost, cost_clash = _saving(
        imp.cost_before_cny, imp.cost_after_cny, imp.declared_cost_saved_cny, "CNY", tolerance_cny
    )
    days, days_clash = _saving(
        imp.days_before, imp.days_after, imp.declared_days_saved, "days", tolerance_days
    )
    return Benefit(
        imp.improvement_id,
        imp.title,
        cost,
        days,
        tuple(c for c in (cost_clash, days_clash) if c is not None),
    )


@dataclass(frozen=True)
class BenefitTotals:
    cost_saved: Figure
    days_saved: Figure
    cost_by_provenance: dict[str, float]
    days_by_provenance: dict[str, float]
    improvements: int
    discrepancies: tuple[str, ...]


def _by(figures: Iterable[Figure]) -> dict[str, float]:
    out: dict[str, float] = {}
    for f in figures:
        out[f.provenance.value] = round(out.get(f.provenance.value, 0.0) + (f.value or 0.0), 2)
    return dict(sorted(out.items()))


def totals(benefits: Iterable[Benefit]) -> BenefitTotals:
    bs = list(benefits)
    cost = [b.cost_saved for b in bs]
    days = [b.days_saved for b in bs]
    return BenefitTotals(
        cost_saved=Figure(
            round(sum(f.value or 0.0 for f in cost), 2), "CNY", weakest(f.provenance for f in cost)
        ),
        days_saved=Figure(
            round(sum(f.value or 0.0 for f in days), 2), "days", weakest(f.provenance for f in days)
        ),
        cost_by_provenance=_by(cost),
        days_by_provenance=_by(days),
        improvements=len(bs),
        discrepancies=tuple(f"{b.improvement_id}: {d}" for b in bs for d in b.discrepancies),
    )
