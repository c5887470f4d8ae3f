"""Assessment rules (SPEC §3.4), pure: indicators from raw facts, the "2+1" evaluation,
score, grade, ranking.

Every fact the service hears of is kept as one document (``kind`` plus its figures); a
zone's period is computed from its facts whenever needed, so a late fact simply changes
the next computation. Choices where the SPEC leaves room, stated once:
- An indicator with nothing to measure (no inspections, no milestones, no permits, no
  evaluated rules) is not applicable: it is left out of the mean, and the result says so.
- ``party_building`` is the share of cadence rules met; attendance (mean attendees per
  activity) is reported beside it, not scored.
- ``efficiency`` is the share of work permits issued within their SLA among those issued or
  escalated unissued in the period; the median request→issue time is kept as a figure.
- Drawing reviews (审图) count apart from work permits (issue 15), in ``schedule``: a review
  closed within its SLA counts like a milestone reached on time; the median review cycle in days
  and the reviews escalated are kept as figures.
- Near misses do not count against safety; an environmental incident (other than a near
  miss) zeroes it like a major or fatal one.
- The "2+1" evaluation scores only when all three ratings are in; until then the score is
  the indicators' alone and ``evaluation_missing`` says so.
- A zone signing ``sequential`` (``SigningMode``: the old route the zones replaced, the demo's
  twins) is a comparison, not a party-building collaboration zone: its result is computed and
  kept, but it is never ranked, graded in a distribution nor counted in a roll-up or the
  year-end report; ``/assessments`` lists it apart.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.actor import Actor, AuthType
from shared.events.catalog import ActorRefusal, is_comparison_zone

INDICATORS = ("party_building", "safety", "quality", "schedule", "efficiency")
ROLES = ("host", "construction", "management")
UNIT_ROLE_OF = {"host": "host", "construction": "construction", "management": "management"}


@dataclass(frozen=True)
class Weights:
    indicators: float = 0.7
    evaluation: float = 0.3
    mutual: float = 0.5  # within the evaluation: mean of the two mutual ratings
    management: float = 0.5


def grade(score: float) -> str:
    if score >= 90:
        return "excellent"
    if score >= 80:
        return "good"
    if score >= 60:
        return "pass"
    return "fail"


def _pct(num: float, den: float) -> float | None:
    return round(100.0 * num / den, 2) if den else None


def indicators(facts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each indicator 0–100 (or None: not applicable) with its raw figures."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for f in facts:
        by_kind.setdefault(f["kind"], []).append(f)

    rules = by_kind.get("compliance", [])
    met = sum(1 for r in rules if r["met"])
    activities = by_kind.get("activity", [])
    attendance = round(statistics.mean(a["attendees"] for a in activities), 2) if activities else None

    incidents = by_kind.get("incident", [])
    sev = {
        s: sum(1 for i in incidents if i["severity"] == s) for s in ("near_miss", "minor", "major", "fatal")
    }
    environmental = sum(
        1 for i in incidents if i["incident_kind"] == "environmental" and i["severity"] != "near_miss"
    )
    safety = 0.0 if sev["major"] or sev["fatal"] or environmental else max(0.0, 100.0 - 20.0 * sev["minor"])

    inspections = by_kind.get("quality", [])
    results = {r: sum(1 for q in inspections if q["result"] == r) for r in ("excellent", "pass", "fail")}

    schedule = _schedule(by_kind)

    issued = by_kind.get("permit_issued", [])
    issued_ids = {p["permit_id"] for p in issued}
    breaches = by_kind.get("sla_breach", [])
    never_issued = [b for b in breaches if b["permit_id"] not in issued_ids]
    within = sum(1 for p in issued if p["within_sla"])
    cycles = [p["cycle_minutes"] for p in issued]

    improvements = by_kind.get("improvement", [])
    return {
        "party_building": {
            "score": _pct(met, len(rules)),
            "figures": {
                "rules_evaluated": len(rules),
                "rules_met": met,
                "attendance": attendance,
                "activities": len(activities),
            },
        },
        "safety": {
            "score": safety,
            "figures": {"incidents": sum(sev.values()), **sev, "environmental": environmental},
        },
        "quality": {
            "score": _pct(results["excellent"], len(inspections)),
            "figures": {"inspected": len(inspections), **results},
        },
        "schedule": schedule,
        "efficiency": {
            "score": _pct(within, len(issued) + len(never_issued)),
            "figures": {
                "permits_issued": len(issued),
                "within_sla": within,
                "sla_breaches": len(breaches),
                "median_cycle_minutes": round(statistics.median(cycles), 1) if cycles else None,
            },
        },
        "benefit": {
            "score": None,
            "figures": {
                "problems_resolved": len(by_kind.get("problem_resolved", [])),
                "cost_saved_cny": round(sum(i["cost_saved_cny"] for i in improvements), 2),
                "days_saved": round(sum(i["days_saved"] for i in improvements), 2),
            },
        },
    }


def _schedule(by_kind: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Milestones on time and drawing reviews within their SLA (issue 15: apart from permits)."""
    milestones = by_kind.get("milestone", [])
    on_time = sum(1 for m in milestones if m["on_time"])
    reviews = by_kind.get("drawing_review", [])
    review_ids = {r["permit_id"] for r in reviews}
    review_breaches = by_kind.get("drawing_sla_breach", [])
    open_late = [b for b in review_breaches if b["permit_id"] not in review_ids]
    in_time = sum(1 for r in reviews if r["within_sla"])
    days = [r["cycle_minutes"] / 1440 for r in reviews]
    return {
        "score": _pct(on_time + in_time, len(milestones) + len(reviews) + len(open_late)),
        "figures": {
            "milestones": len(milestones),
            "on_time": on_time,
            "drawing_reviews": len(reviews),
            "drawing_reviews_within_sla": in_time,
            "drawing_review_breaches": len(review_breaches),
            "median_drawing_review_days": round(statistics.median(days), 2) if days else None,
        },
    }


def evaluation(ratings: dict[str, float], w: Weights = Weights()) -> dict[str, Any]:
    """The "2+1" score: mean of the two mutual ratings × 0.5 + management × 0.5."""
    out: dict[str, Any] = {
        "host_rates_construction": ratings.get("host"),
        "construction_rates_host": ratings.get("construction"),
        "management": ratings.get("management"),
        "score": None,
        "complete": all(r in ratings for r in ROLES),
    }
    if out["complete"]:
        mutual = (ratings["host"] + ratings["construction"]) / 2
        out["score"] = round(mutual * w.mutual + ratings["management"] * w.management, 2)
    return out


def assess(facts: list[dict[str, Any]], ratings: dict[str, float], w: Weights = Weights()) -> dict[str, Any]:
    inds = indicators(facts)
    scored = [inds[name]["score"] for name in INDICATORS if inds[name]["score"] is not None]
    base = statistics.mean(scored) if scored else 0.0
    ev = evaluation(ratings, w)
    score = base if ev["score"] is None else w.indicators * base + w.evaluation * ev["score"]
    score = round(score, 2)
    return {
        "indicators": inds,
        "evaluation": ev,
        "evaluation_missing": ev["score"] is None,
        "not_applicable": [name for name in INDICATORS if inds[name]["score"] is None],
        "score": score,
        "grade": grade(score),
    }


def rank(scores: dict[str, float]) -> list[dict[str, Any]]:
    """Best first; equal scores share a rank; ties listed by zone id."""
    ordered = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    out: list[dict[str, Any]] = []
    for i, (zone_id, score) in enumerate(ordered):
        r = out[-1]["rank"] if out and out[-1]["score"] == score else i + 1
        out.append({"zone_id": zone_id, "score": score, "rank": r})
    return out


# A zone of the old sequential sign-off: compared with, not assessed beside the collaboration
# zones (the zone copy carries its ``settings`` from every ``zone.*``). The rule is the contract's.
is_comparison = is_comparison_zone


def comparison_ids(zones: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """The comparison zones among these zone copies (by ``_id``, or ``zone_id``)."""
    return frozenset(z.get("_id") or z["zone_id"] for z in zones if is_comparison(z))


def evaluator_refusals(actor: Actor | None, zone: dict[str, Any] | None, evaluator_unit_id: str) -> list[str]:
    """Who may rate for a unit: a member of the zone employed by that unit, the party office,
    or a trusted system; a command that names nobody is refused."""
    if actor is None:
        return [ActorRefusal.ACTOR_UNKNOWN.value]
    if zone is None or actor.type == AuthType.SYSTEM or actor.has_role("party_office"):
        return []
    entry = next((m for m in zone.get("members", []) if m.get("member_id") == actor.id), None)
    if entry is None:
        return [ActorRefusal.ACTOR_NOT_ON_ROSTER.value]
    if entry.get("employer_unit_id") != evaluator_unit_id:
        return [ActorRefusal.EVALUATOR_NOT_OF_UNIT.value]
    return []


def evaluation_refusals(
    *,
    zone: dict[str, Any] | None,
    evaluator_role: str,
    evaluator_unit_id: str,
    score: float,
    already: bool,
) -> list[str]:
    reasons: list[str] = []
    if zone is None:
        reasons.append("unknown_zone")
    if evaluator_role not in ROLES:
        reasons.append("unknown_evaluator_role")
    elif zone is not None and not any(
        u["unit_id"] == evaluator_unit_id and u["role"] == UNIT_ROLE_OF[evaluator_role]
        for u in zone.get("units", [])
    ):
        reasons.append("evaluator_role_mismatch")
    if not 0 <= score <= 100:
        reasons.append("score_out_of_range")
    if already:
        reasons.append("duplicate_evaluation")
    return reasons


def explain(result: dict[str, Any]) -> dict[str, str]:
    """One plain sentence per indicator: why it is what it is."""
    i = {k: v["figures"] for k, v in result["indicators"].items()}
    s = {k: v["score"] for k, v in result["indicators"].items()}

    def score(name: str) -> str:
        return "not applicable yet" if s[name] is None else f"{s[name]:.0f}"

    return {
        "party_building": f"{i['party_building']['rules_met']} of {i['party_building']['rules_evaluated']} cadence rules met → {score('party_building')}",
        "safety": (
            f"{i['safety']['minor']} minor, {i['safety']['major']} major, {i['safety']['fatal']} fatal, "
            f"{i['safety']['environmental']} environmental incident(s); near misses {i['safety']['near_miss']} do not count → {score('safety')}"
        ),
        "quality": f"{i['quality']['excellent']} of {i['quality']['inspected']} inspected procedures excellent → {score('quality')}",
        "schedule": (
            f"{i['schedule']['on_time']} of {i['schedule']['milestones']} milestones on or before plan, "
            f"{i['schedule'].get('drawing_reviews_within_sla', 0)} of {i['schedule'].get('drawing_reviews', 0)} "
            f"drawing reviews within SLA → {score('schedule')}"
        ),
        "efficiency": (
            f"{i['efficiency']['within_sla']} of {i['efficiency']['permits_issued']} issued permits within SLA, "
            f"{i['efficiency']['sla_breaches']} escalated → {score('efficiency')}"
        ),
        "benefit": (
            f"{i['benefit']['problems_resolved']} problems resolved, CNY {i['benefit']['cost_saved_cny']:,.0f} and "
            f"{i['benefit']['days_saved']:.0f} days saved (reported, not scored)"
        ),
        "evaluation": "2+1 evaluation incomplete: indicators alone"
        if result["evaluation_missing"]
        else f"2+1 evaluation {result['evaluation']['score']:.1f}",
    }
