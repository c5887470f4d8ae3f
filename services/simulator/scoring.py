"""The simulator's own scoring: a zone-period's indicators, the "2+1" parts, score and grade,
recomputed from the simulator's own facts with the formula of SPEC §3.4 — written here from
the SPEC, deliberately not imported from the assessment service, so the demo checks the
service's arithmetic instead of the service against itself (issue 19).

SPEC §3.4, as written:
- party_building = share of cadence rules met; safety = 100 with zero incidents, −20 per
  minor, 0 with any major, fatal or environmental incident; quality = share of inspected
  procedures rated excellent; schedule = share of milestones on or before plan (and, since
  issue 15, of drawing reviews within their SLA, escalated ones unissued counted); efficiency
  = share of permits issued within SLA. Each 0–100.
- "2+1": evaluation = mean(host rates construction, construction rates host) × 0.5 +
  management × 0.5.
- score = 0.7 × mean(indicators) + 0.3 × evaluation; without a complete evaluation, the
  indicators alone. Grade: excellent ≥ 90, good ≥ 80, pass ≥ 60, else fail.

Where the SPEC leaves room the simulator follows the choices the project states (README /
the assessment's docstring), so a mismatch means a wrong number, not a different reading:
an indicator with nothing to measure is left out of the mean; near misses never count
against safety (an environmental near miss neither); efficiency's denominator is the permits
issued plus those escalated and never issued; a period with none of these facts has no
score at all (``no_data``), never 100. Scores are compared at the service's published
precision (two decimals).
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared.periods import month_of

from .plan import Plan
from .timing import ZoneTimes

TOLERANCE = 0.011  # two-decimal rounding on both sides
INDICATORS = ("party_building", "safety", "quality", "schedule", "efficiency")


@dataclass
class ZoneFacts:
    """What the simulator itself did in a zone during a period."""

    rules_evaluated: int = 0
    rules_met: int = 0
    near_miss: int = 0
    minor: int = 0
    major: int = 0
    fatal: int = 0
    environmental: int = 0  # environmental incidents other than near misses
    inspected: int = 0
    excellent: int = 0
    milestones: int = 0
    on_time: int = 0
    permits_issued: int = 0
    within_sla: int = 0
    escalated_unissued: int = 0
    # drawing reviews count in the schedule (issue 15): within their SLA, or escalated unissued
    reviews: int = 0
    reviews_within_sla: int = 0
    reviews_open_late: int = 0
    ratings: dict[str, float] = field(default_factory=dict)  # host / construction / management

    @property
    def has_data(self) -> bool:
        return any(
            (
                self.rules_evaluated,
                self.near_miss + self.minor + self.major + self.fatal + self.environmental,
                self.inspected,
                self.milestones + self.reviews + self.reviews_open_late,
                self.permits_issued + self.escalated_unissued,
            )
        )


@dataclass(frozen=True)
class Expected:
    indicators: dict[str, float | None]
    host: float | None  # the host unit rates the construction side
    construction: float | None  # the construction side rates the host unit
    mutual: float | None  # mean of the two mutual ratings
    management: float | None
    evaluation: float | None
    score: float | None  # None: no data
    grade: str | None


def _pct(num: int, den: int) -> float | None:
    return 100.0 * num / den if den else None


def grade_of(score: float) -> str:
    s = round(score, 2)
    return "excellent" if s >= 90 else "good" if s >= 80 else "pass" if s >= 60 else "fail"


def expected(f: ZoneFacts, w_indicators: float = 0.7, w_evaluation: float = 0.3) -> Expected:
    """The SPEC's numbers for a zone-period, from the simulator's facts."""
    severe = f.major + f.fatal + f.environmental
    ind: dict[str, float | None] = {
        "party_building": _pct(f.rules_met, f.rules_evaluated),
        "safety": 0.0 if severe else max(0.0, 100.0 - 20.0 * f.minor),
        "quality": _pct(f.excellent, f.inspected),
        "schedule": _pct(f.on_time + f.reviews_within_sla, f.milestones + f.reviews + f.reviews_open_late),
        "efficiency": _pct(f.within_sla, f.permits_issued + f.escalated_unissued),
    }
    host, construction, management = (f.ratings.get(r) for r in ("host", "construction", "management"))
    mutual = (host + construction) / 2 if host is not None and construction is not None else None
    evaluation = mutual * 0.5 + management * 0.5 if mutual is not None and management is not None else None
    parts = (host, construction, mutual, management, evaluation)
    if not f.has_data:
        return Expected(ind, *parts, None, None)
    scored = [v for v in ind.values() if v is not None]
    base = statistics.mean(scored)
    score = base if evaluation is None else w_indicators * base + w_evaluation * evaluation
    return Expected(ind, *parts, score, grade_of(score))


def _off(a: float | None, b: Any) -> bool:
    if a is None or b is None:
        return a is not None or b is not None
    return abs(a - float(b)) > TOLERANCE


def compare(zone_id: str, period: str, exp: Expected, reported: dict[str, Any] | None) -> list[str]:
    """Mismatches between the simulator's numbers and one zone-period the service reported
    (``reported``: its assessment as the API answers it, None when it has none)."""
    where = f"assessment {period} {zone_id}"
    if reported is None or reported.get("status") == "no_data" or reported.get("score") is None:
        if exp.score is None:
            return []
        return [f"{where}: no score reported, simulator computes {exp.score:.2f} {exp.grade}"]
    if exp.score is None:
        return [f"{where}: scored {reported['score']} though the simulator gave it no data"]
    out: list[str] = []
    if _off(exp.score, reported["score"]) or reported.get("grade") != exp.grade:
        out.append(
            f"{where}: {reported['score']} {reported.get('grade')}, simulator {exp.score:.2f} {exp.grade}"
        )
    for name in INDICATORS:
        got = ((reported.get("indicators") or {}).get(name) or {}).get("score")
        if _off(exp.indicators[name], got):
            out.append(f"{where}: {name} {got}, simulator {exp.indicators[name]}")
    ev = reported.get("evaluation") or {}
    parts = {
        "host_rates_construction": exp.host,
        "construction_rates_host": exp.construction,
        "management": exp.management,
        "score": exp.evaluation,
    }
    for key, value in parts.items():
        if _off(value, ev.get(key)):
            out.append(f"{where}: 2+1 {key} {ev.get(key)}, simulator {value}")
    return out


# --------------------------------------------------------------------------- from the plan


def facts_from_plan(
    plan: Plan,
    zone_key: str,
    period: str,
    *,
    rules_evaluated: int | None = None,
    permits_issued: int = 0,
    within_sla: int = 0,
    escalated_unissued: int = 0,
    times: ZoneTimes | None = None,
) -> ZoneFacts:
    """The facts the plan itself put into a zone's month: cadence rules (the six systems' five and
    the organisational-life rules due, minus the ones the simulator deliberately missed), incidents, inspections, milestones and the "2+1"
    ratings. Permit and drawing-review figures come from the player (``timing.zone_times``): it
    asked for each permit and saw when it was issued."""
    zone = next(z for z in plan.world.zones if z.key == zone_key)
    projects = set(zone.project_ids)
    f = ZoneFacts(permits_issued=permits_issued, within_sla=within_sla, escalated_unissued=escalated_unissued)
    if times is not None:
        f.permits_issued, f.within_sla = times.permits_issued, times.within_sla
        f.escalated_unissued = times.escalated_unissued
        f.reviews, f.reviews_within_sla = times.reviews, times.reviews_within_sla
        f.reviews_open_late = times.reviews_open_late
    unmet = plan.truth.unmet_rules.get(zone_key, set())
    # The six systems' five monthly rules and the organisational-life rules due at the close.
    due, missed = plan.truth.org_life_due.get(zone_key, set()), plan.truth.org_life_unmet.get(zone_key, set())
    f.rules_evaluated = 5 + len(due) if rules_evaluated is None else rules_evaluated
    f.rules_met = f.rules_evaluated - len(unmet) - len(missed)
    severities: Counter[str] = Counter()
    for a in plan.actions:
        d = a.data
        if a.type == "evaluation.submit" and a.zone_key == zone_key and d["period"] == period:
            f.ratings[d["evaluator_role"]] = float(d["score"])
        if d.get("project_id") not in projects or month_of(a.at) != period:
            continue
        if a.type == "quality.procedure-inspected":
            f.inspected += 1
            f.excellent += d["result"] == "excellent"
        elif a.type == "safety.incident-reported":
            severities[d["severity"]] += 1
            f.environmental += d["kind"] == "environmental" and d["severity"] != "near_miss"
        elif a.type == "project.milestone-reached":
            f.milestones += 1
            f.on_time += date.fromisoformat(d["actual_date"]) <= date.fromisoformat(d["planned_date"])
    f.near_miss, f.minor = severities["near_miss"], severities["minor"]
    f.major, f.fatal = severities["major"], severities["fatal"]
    return f
