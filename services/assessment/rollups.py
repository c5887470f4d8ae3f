"""Roll-ups of the zones' monthly assessments by quarter and year, per zone, per host unit and
per region — pure (issue 19: ``GET /rollups?level=host_unit&period=2026``).

Choices where the SPEC leaves room, stated once:
- A zone's quarter or year is the mean of its scored months (the latest revision of each);
  months without data are left out and counted beside it; with no scored month the roll-up
  is ``no_data``. The months follow the revisions: a corrected month changes its quarter
  and year the next time they are read.
- A host unit's or region's roll-up is the mean of its zones' roll-ups, each zone counting
  once whatever its size; zones without data are counted, not averaged in as 0 or 100.
- Figures (incidents, inspections, permits...) are summed over every month, scored or not.
- The grade of a roll-up is the SPEC's grade of its mean score.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.events.catalog import AssessmentStatus, RollupLevel

from . import domain

# Figures of the indicators that add up over months (medians and means do not).
SUMMABLE: dict[str, tuple[str, ...]] = {
    "party_building": ("rules_evaluated", "rules_met", "activities"),
    "safety": ("incidents", "near_miss", "minor", "major", "fatal", "environmental"),
    "quality": ("inspected", "excellent", "pass", "fail"),
    "schedule": ("milestones", "on_time"),
    "efficiency": ("permits_issued", "within_sla", "sla_breaches"),
    "benefit": ("problems_resolved", "cost_saved_cny", "days_saved"),
}


def summable_figures(indicators: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """``indicator.figure`` → value, for the figures that add up over months."""
    out: dict[str, float] = {}
    for name, keys in SUMMABLE.items():
        figures = (indicators.get(name) or {}).get("figures") or {}
        for k in keys:
            v = figures.get(k)
            if isinstance(v, int | float) and not isinstance(v, bool):
                out[f"{name}.{k}"] = float(v)
    return out


@dataclass(frozen=True)
class ZoneMonth:
    """The latest revision of one zone's month, with where the zone belongs."""

    zone_id: str
    period: str  # YYYY-MM
    status: AssessmentStatus
    score: float | None
    host_unit_id: str | None
    region: str
    figures: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Rollup:
    level: RollupLevel
    key: str  # zone id, host unit id or region
    period: str  # YYYY-Qn or YYYY
    status: AssessmentStatus
    score: float | None
    grade: str | None
    months_scored: int
    months_no_data: int
    zones: int
    zones_scored: int
    grades: dict[str, int]
    figures: dict[str, float]

    @property
    def zones_no_data(self) -> int:
        return self.zones - self.zones_scored


def months_of(period: str) -> list[str]:
    """The months of a quarter ``YYYY-Qn`` or a year ``YYYY``."""
    year = int(period[:4])
    if len(period) == 4:
        return [f"{year:04d}-{m:02d}" for m in range(1, 13)]
    if "Q" not in period:
        raise ValueError(f"not a quarter or a year: {period!r}")
    q = int(period[-1])
    return [f"{year:04d}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)]


def _sum(figures: Iterable[Mapping[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for f in figures:
        for k, v in f.items():
            out[k] = round(out.get(k, 0.0) + v, 2)
    return dict(sorted(out.items()))


def _scored(score: float | None) -> tuple[AssessmentStatus, float | None, str | None]:
    if score is None:
        return AssessmentStatus.NO_DATA, None, None
    return AssessmentStatus.SCORED, score, domain.grade(score)


def zone_rollups(period: str, months: Iterable[ZoneMonth]) -> list[Rollup]:
    """Each zone's quarter or year from its months in the period."""
    wanted = set(months_of(period))
    by_zone: dict[str, list[ZoneMonth]] = {}
    for m in months:
        if m.period in wanted:
            by_zone.setdefault(m.zone_id, []).append(m)
    out: list[Rollup] = []
    for zone_id, ms in sorted(by_zone.items()):
        scores = [m.score for m in ms if m.status is AssessmentStatus.SCORED and m.score is not None]
        status, score, grade = _scored(round(statistics.mean(scores), 2) if scores else None)
        out.append(
            Rollup(
                level=RollupLevel.ZONE,
                key=zone_id,
                period=period,
                status=status,
                score=score,
                grade=grade,
                months_scored=len(scores),
                months_no_data=len(ms) - len(scores),
                zones=1,
                zones_scored=1 if scores else 0,
                grades={grade: 1} if grade else {},
                figures=_sum(m.figures for m in ms),
            )
        )
    return out


def _group(level: RollupLevel, key: str, period: str, zones: list[Rollup]) -> Rollup:
    scored = [z for z in zones if z.score is not None]
    status, score, grade = _scored(
        round(statistics.mean(z.score for z in scored if z.score is not None), 2) if scored else None
    )
    grades: dict[str, int] = {}
    for z in scored:
        if z.grade is not None:
            grades[z.grade] = grades.get(z.grade, 0) + 1
    return Rollup(
        level=level,
        key=key,
        period=period,
        status=status,
        score=score,
        grade=grade,
        months_scored=sum(z.months_scored for z in zones),
        months_no_data=sum(z.months_no_data for z in zones),
        zones=len(zones),
        zones_scored=len(scored),
        grades=dict(sorted(grades.items())),
        figures=_sum(z.figures for z in zones),
    )


def rollup(level: RollupLevel, period: str, months: Iterable[ZoneMonth]) -> list[Rollup]:
    """Roll-ups of a quarter or a year at a level, best score first, then those without data."""
    ms = list(months)
    zones = zone_rollups(period, ms)
    if level is RollupLevel.ZONE:
        out = zones
    else:
        where = {m.zone_id: (m.host_unit_id or "unknown", m.region) for m in ms}
        groups: dict[str, list[Rollup]] = {}
        for z in zones:
            host, region = where[z.key]
            groups.setdefault(host if level is RollupLevel.HOST_UNIT else region, []).append(z)
        out = [_group(level, key, period, zs) for key, zs in sorted(groups.items())]
    return sorted(out, key=lambda r: (r.score is None, -(r.score or 0.0), r.key))
