"""The year-end report the party office files, as a pure function of its inputs (issue 19):
coverage, zones and members, cadence kept, permits and cycle times, safety, quality, benefit,
ranking. Every figure says where it comes from (``benefits.Figure``): measured by the system,
derived from declared figures, a declared input, or an assumption.

The inputs are what the services answer over HTTP (zone-registry: coverage, zones, floating
members; activity-log: cadence; permit-fasttrack: permits; assessment: the year's roll-ups
and the benefits); whoever assembles the report reads them and calls ``compose``.

Choices where the SPEC leaves room, stated once:
- Shares are fractions 0–1; a share of nothing is None (not 100%), except coverage, where no
  key project leaves nothing uncovered (the party office's "100%", as zone-registry says).
- p90 is the nearest-rank 90th percentile.
- The sequential sign-off baseline is ``measured`` when the old route was played through
  the services and its cycle times observed, ``assumed`` when it is only a stated rule (one
  working day per office); the comparison is only as good as the weaker of the two.
- A comparison zone (``domain.is_comparison``: a zone signing ``sequential``) is no
  collaboration zone: it is in no count, cadence, safety figure nor ranking of the year; its
  permits issued are the measured cycle times of the old route.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from shared.events.catalog import Provenance

from . import benefits, domain
from .benefits import BenefitTotals, Figure, weakest
from .rollups import Rollup

M = Provenance.MEASURED


@dataclass(frozen=True)
class CoverageIn:
    key_projects: int
    covered: int


@dataclass(frozen=True)
class ZonesIn:
    by_mode: Mapping[str, int]
    units: int
    members: int
    floating_on_rosters: int
    floating_ever: int
    floating_transferred: int
    floating_transfer_due: int


@dataclass(frozen=True)
class RuleTally:
    rule: str
    met: int
    evaluated: int


@dataclass(frozen=True)
class PermitsIn:
    requested: int
    issued: int
    within_sla: int
    sla_breaches: int
    cycle_minutes: Sequence[float]
    sequential_cycle_minutes: Sequence[float] = ()
    sequential_provenance: Provenance = Provenance.MEASURED


@dataclass(frozen=True)
class SafetyIn:
    near_miss: int
    minor: int
    major: int
    fatal: int
    environmental: int
    zones: int
    zones_without_incident: int


@dataclass(frozen=True)
class QualityIn:
    inspected: int
    excellent: int


@dataclass(frozen=True)
class YearEndInputs:
    year: str
    coverage: CoverageIn
    zones: ZonesIn
    cadence: Sequence[RuleTally]
    permits: PermitsIn
    safety: SafetyIn
    quality: QualityIn
    benefits: BenefitTotals
    ranking: Sequence[Rollup]  # the year's zone-level roll-ups


@dataclass(frozen=True)
class Section:
    name: str
    figures: dict[str, Figure]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RankedZone:
    rank: int
    zone_id: str
    score: float
    grade: str


@dataclass(frozen=True)
class YearEndReport:
    year: str
    sections: tuple[Section, ...]
    ranking: tuple[RankedZone, ...] = field(default_factory=tuple)
    no_data_zones: tuple[str, ...] = field(default_factory=tuple)

    def section(self, name: str) -> Section:
        return next(s for s in self.sections if s.name == name)

    def inputs(self) -> list[str]:
        """Every figure that is not measured, as ``section.figure (provenance)``: what a reader
        must not mistake for an observation."""
        return [
            f"{s.name}.{k} ({f.provenance.value})"
            for s in self.sections
            for k, f in s.figures.items()
            if f.provenance is not Provenance.MEASURED
        ]


def share(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def p90(values: Sequence[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)]


def _median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _n(value: float | None, unit: str, p: Provenance = M, note: str = "") -> Figure:
    return Figure(value, unit, p, note)


def _coverage(c: CoverageIn) -> Section:
    return Section(
        "coverage",
        {
            "key_projects": _n(c.key_projects, "projects"),
            "covered": _n(c.covered, "projects"),
            "share": _n(c.covered / c.key_projects if c.key_projects else 1.0, "share"),
        },
    )


def _zones(z: ZonesIn) -> Section:
    figures = {f"zones.{mode}": _n(n, "zones") for mode, n in sorted(z.by_mode.items())}
    figures |= {
        "units": _n(z.units, "units"),
        "members": _n(z.members, "members"),
        "floating.on_rosters": _n(z.floating_on_rosters, "members"),
        "floating.brought_back_ever": _n(z.floating_ever, "members"),
        "floating.transferred": _n(z.floating_transferred, "members"),
        "floating.transfer_due": _n(z.floating_transfer_due, "members"),
    }
    return Section("zones_and_members", figures)


def _cadence(rules: Sequence[RuleTally]) -> Section:
    figures = {f"{r.rule}.met_share": _n(share(r.met, r.evaluated), "share") for r in rules}
    met, evaluated = sum(r.met for r in rules), sum(r.evaluated for r in rules)
    figures["all.met_share"] = _n(share(met, evaluated), "share", note=f"{met} of {evaluated} rule-periods")
    return Section("cadence", figures)


def _permits(p: PermitsIn) -> Section:
    zone_median = _median(p.cycle_minutes)
    seq_median = _median(p.sequential_cycle_minutes)
    figures = {
        "requested": _n(p.requested, "permits"),
        "issued": _n(p.issued, "permits"),
        "within_sla_share": _n(share(p.within_sla, p.issued + p.sla_breaches), "share"),
        "sla_breaches": _n(p.sla_breaches, "permits"),
        "cycle_median": _n(zone_median, "minutes"),
        "cycle_p90": _n(p90(p.cycle_minutes), "minutes"),
        "sequential_cycle_median": _n(seq_median, "minutes", p.sequential_provenance),
        "sequential_cycle_p90": _n(p90(p.sequential_cycle_minutes), "minutes", p.sequential_provenance),
    }
    speedup = round(seq_median / zone_median, 1) if seq_median and zone_median else None
    figures["speedup_vs_sequential"] = _n(
        speedup, "times", weakest([M, p.sequential_provenance]), "sequential median / zone median"
    )
    return Section("permits", figures)


def _safety(s: SafetyIn) -> Section:
    figures = {k: _n(getattr(s, k), "incidents") for k in ("near_miss", "minor", "major", "fatal")}
    figures["environmental"] = _n(s.environmental, "incidents")
    figures["zones_without_incident_share"] = _n(share(s.zones_without_incident, s.zones), "share")
    return Section("safety", figures)


def _quality(q: QualityIn) -> Section:
    return Section(
        "quality",
        {
            "inspected": _n(q.inspected, "procedures"),
            "excellent": _n(q.excellent, "procedures"),
            "excellent_share": _n(share(q.excellent, q.inspected), "share"),
        },
    )


def _benefit(b: BenefitTotals) -> Section:
    figures = {"cost_saved": b.cost_saved, "days_saved": b.days_saved, "improvements": _n(b.improvements, "")}
    for prov, v in b.cost_by_provenance.items():
        figures[f"cost_saved.{prov}"] = _n(v, "CNY", Provenance(prov))
    for prov, v in b.days_by_provenance.items():
        figures[f"days_saved.{prov}"] = _n(v, "days", Provenance(prov))
    return Section("benefit", figures, b.discrepancies)


def _ranking(rollups: Sequence[Rollup]) -> tuple[Section, tuple[RankedZone, ...], tuple[str, ...]]:
    scored = {r.key: r.score for r in rollups if r.score is not None}
    ranked = tuple(
        RankedZone(e["rank"], e["zone_id"], e["score"], domain.grade(e["score"])) for e in domain.rank(scored)
    )
    no_data = tuple(sorted(r.key for r in rollups if r.score is None))
    grades: dict[str, int] = {}
    for z in ranked:
        grades[z.grade] = grades.get(z.grade, 0) + 1
    figures = {f"grade.{g}": _n(grades.get(g, 0), "zones") for g in ("excellent", "good", "pass", "fail")}
    figures["zones_ranked"] = _n(len(ranked), "zones")
    figures["zones_no_data"] = _n(len(no_data), "zones")
    return Section("ranking", figures), ranked, no_data


def compose(i: YearEndInputs) -> YearEndReport:
    """The report, section by section, in the order the party office files it."""
    ranking, ranked, no_data = _ranking(i.ranking)
    sections = (
        _coverage(i.coverage),
        _zones(i.zones),
        _cadence(i.cadence),
        _permits(i.permits),
        _safety(i.safety),
        _quality(i.quality),
        _benefit(i.benefits),
        ranking,
    )
    return YearEndReport(i.year, sections, ranked, no_data)


# --------------------------------------------------------------------------- from what is stored

YEAR_FACT_KINDS = ("compliance", "incident", "quality", "permit_issued", "sla_breach", "improvement")
ASSESSED = ("active", "closed")  # a proposed zone has not started: not in the year's figures


@dataclass(frozen=True)
class Stored:
    """What the assessment service keeps, for one year: its projects, its copy of the zones,
    the floating members the zones ever had, the year's facts (corrections already applied)
    and the year's zone roll-ups."""

    year: str
    projects: Sequence[Mapping[str, Any]]
    zones: Sequence[Mapping[str, Any]]
    floating: Sequence[Mapping[str, Any]]
    facts: Sequence[Mapping[str, Any]]
    ranking: Sequence[Rollup]


def _zones_in(s: Stored, zones: Sequence[Mapping[str, Any]]) -> ZonesIn:
    by_mode: dict[str, int] = {}
    for z in zones:
        by_mode[z["mode"]] = by_mode.get(z["mode"], 0) + 1
    on_rosters = {
        (z["zone_id"], m["member_id"]) for z in zones for m in z.get("members", []) if m.get("away_since")
    }
    year_end = date(int(s.year), 12, 31)
    ever = [f for f in s.floating if date.fromisoformat(str(f["away_since"])[:10]) <= year_end]
    transferred = [f for f in ever if f.get("transferred_on")]
    due = [
        f
        for f in ever
        if not f.get("transferred_on") and _months_away(str(f["away_since"])[:10], year_end) >= 6
    ]
    return ZonesIn(
        by_mode=by_mode,
        units=len({u["unit_id"] for z in zones for u in z.get("units", [])}),
        members=len({m["member_id"] for z in zones for m in z.get("members", [])}),
        floating_on_rosters=len(on_rosters),
        floating_ever=len(ever),
        floating_transferred=len(transferred),
        floating_transfer_due=len(due),
    )


def _months_away(since: str, on: date) -> int:
    d = date.fromisoformat(since)
    months = (on.year - d.year) * 12 + on.month - d.month
    return months if on.day >= d.day else months - 1


def _cadence_in(facts: Sequence[Mapping[str, Any]]) -> list[RuleTally]:
    tally: dict[str, list[int]] = {}
    for f in facts:
        if f["kind"] == "compliance":
            t = tally.setdefault(f["rule"], [0, 0])
            t[0] += int(bool(f["met"]))
            t[1] += 1
    return [RuleTally(rule, met, n) for rule, (met, n) in sorted(tally.items())]


def _permits_in(facts: Sequence[Mapping[str, Any]], old_route: Sequence[Mapping[str, Any]] = ()) -> PermitsIn:
    issued = [f for f in facts if f["kind"] == "permit_issued"]
    sequential = [float(f["cycle_minutes"]) for f in old_route if f["kind"] == "permit_issued"]
    breached = {f["permit_id"] for f in facts if f["kind"] == "sla_breach"}
    return PermitsIn(
        requested=len({f["permit_id"] for f in issued} | breached),
        issued=len(issued),
        within_sla=sum(1 for f in issued if f["within_sla"]),
        sla_breaches=len(breached),
        cycle_minutes=[float(f["cycle_minutes"]) for f in issued],
        sequential_cycle_minutes=sequential,
    )


def _safety_in(facts: Sequence[Mapping[str, Any]], zones: Sequence[Mapping[str, Any]]) -> SafetyIn:
    incidents = [f for f in facts if f["kind"] == "incident"]
    count = {
        s: sum(1 for i in incidents if i["severity"] == s) for s in ("near_miss", "minor", "major", "fatal")
    }
    zone_of = {p: z["zone_id"] for z in zones for p in z.get("project_ids", [])}
    hurt = {
        i.get("zone_id") or zone_of.get(i.get("project_id") or "")
        for i in incidents
        if i["severity"] != "near_miss"
    }
    environmental = sum(
        1 for i in incidents if i["incident_kind"] == "environmental" and i["severity"] != "near_miss"
    )
    return SafetyIn(
        near_miss=count["near_miss"],
        minor=count["minor"],
        major=count["major"],
        fatal=count["fatal"],
        environmental=environmental,
        zones=len(zones),
        zones_without_incident=sum(1 for z in zones if z["zone_id"] not in hurt),
    )


def without_comparison(s: Stored) -> tuple[Stored, list[Mapping[str, Any]]]:
    """The year without its comparison zones, and their facts apart (a fact of a project
    heard of before any zone covered it belongs to the zone listing the project)."""
    apart = domain.comparison_ids(s.zones)
    projects = {p for z in s.zones if z["zone_id"] in apart for p in z.get("project_ids", [])}

    def theirs(f: Mapping[str, Any]) -> bool:
        zone_id = f.get("zone_id")
        return zone_id in apart or (zone_id is None and f.get("project_id") in projects)

    kept = replace(
        s,
        zones=[z for z in s.zones if z["zone_id"] not in apart],
        floating=[f for f in s.floating if f["zone_id"] not in apart],
        facts=[f for f in s.facts if not theirs(f)],
        ranking=[r for r in s.ranking if r.key not in apart],
    )
    return kept, [f for f in s.facts if theirs(f)]


def gather(s: Stored) -> YearEndInputs:
    """The report's inputs from what the service keeps (``compose`` writes the report)."""
    s, old_route = without_comparison(s)
    zones = [z for z in s.zones if z["status"] in ASSESSED and str(z["established_at"])[:4] <= s.year]
    key = {p["_id"] for p in s.projects if p.get("key_project")}
    covered = key & {p for z in zones if z["status"] == "active" for p in z.get("project_ids", [])}
    inspections = [f for f in s.facts if f["kind"] == "quality"]
    improvements = [
        benefits.Improvement(
            improvement_id=f.get("improvement_id") or f["_id"],
            project_id=f.get("project_id") or "",
            title=f.get("title") or "",
            declared_cost_saved_cny=f["cost_saved_cny"],
            declared_days_saved=f["days_saved"],
            **{k: f.get(k) for k in benefits.BEFORE_AFTER},
        )
        for f in s.facts
        if f["kind"] == "improvement"
    ]
    return YearEndInputs(
        year=s.year,
        coverage=CoverageIn(key_projects=len(key), covered=len(covered)),
        zones=_zones_in(s, zones),
        cadence=_cadence_in(s.facts),
        permits=_permits_in(s.facts, old_route),
        safety=_safety_in(s.facts, zones),
        quality=QualityIn(len(inspections), sum(1 for f in inspections if f["result"] == "excellent")),
        benefits=benefits.totals(benefits.benefit(i) for i in improvements),
        ranking=s.ranking,
    )
