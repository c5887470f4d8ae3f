"""The figures ``GET /stats`` answers, from stored permits (pure): work permits and drawing reviews
counted apart (issue 15), by status, by class and grade, cycle time (request → first issue), SLA,
block reasons, suspensions by cause, conflicts by rule; drawing review rounds and comments."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from pydantic import BaseModel, Field

FINISHED = {"rejected", "expired", "closed", "cancelled", "lapsed"}


class PermitStats(BaseModel):
    count: int
    by_status: dict[str, int]
    median_cycle_minutes: float | None = Field(description="Request to first issue")
    p90_cycle_minutes: float | None
    issued_within_sla_share: float | None = Field(
        description="Of the permits issued, the share issued by their SLA deadline"
    )
    open_sla_breaches: int = Field(description="Breached and still not issued")
    sla_breaches: int
    blocked_reasons: dict[str, int] = Field(description="Permits ever blocked for each reason")


class WorkPermitStats(PermitStats):
    by_class_grade: dict[str, int] = Field(description="'<class>' or '<class>/<grade>' → permits")
    suspensions_by_cause: dict[str, int]
    conflicts_by_rule: dict[str, int] = Field(description="Permits ever blocked by each conflict rule")
    revisions: int = Field(description="Re-plans (permit.revised)")
    approvals_voided: int
    resubmissions: int
    interruptions: int
    extensions: int
    handovers: int = Field(description="Shift handovers completed")
    completion_refusals: int
    lapsed: int
    cancelled: int


class DrawingStats(PermitStats):
    rounds: dict[str, int] = Field(description="Review rounds (revisions) → drawings")
    median_rounds: float | None
    comments: int
    open_comments: int
    median_cycle_days: float | None


class Stats(BaseModel):
    overall: PermitStats = Field(description="Every permit, work permits and drawing reviews together")
    work_permits: WorkPermitStats
    drawing_reviews: DrawingStats
    zones: dict[str, PermitStats]


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, round(0.9 * (len(s) - 1)))], 1)


def _types(p: dict[str, Any]) -> Counter[str]:
    return Counter(h["type"] for h in p.get("history", []))


def base(permits: list[dict[str, Any]]) -> dict[str, Any]:
    by_status: Counter[str] = Counter()
    cycles: list[float] = []
    within = 0
    blocked: Counter[str] = Counter()
    for p in permits:
        by_status[p["status"]] += 1
        if p.get("issued_at") is not None:
            cycles.append((p["issued_at"] - p["requested_at"]).total_seconds() / 60)
            within += p["issued_at"] <= p["sla_deadline"]
        reasons = {
            r
            for h in p.get("history", [])
            if h["type"] == "permit.blocked"
            for r in h["detail"].get("reasons", [])
        }
        blocked.update(reasons)
    return {
        "count": len(permits),
        "by_status": dict(sorted(by_status.items())),
        "median_cycle_minutes": round(statistics.median(cycles), 1) if cycles else None,
        "p90_cycle_minutes": _p90(cycles),
        "issued_within_sla_share": round(within / len(cycles), 4) if cycles else None,
        "open_sla_breaches": sum(
            1
            for p in permits
            if p.get("sla_breached") and p.get("issued_at") is None and p["status"] not in FINISHED
        ),
        "sla_breaches": sum(1 for p in permits if p.get("sla_breached")),
        "blocked_reasons": dict(sorted(blocked.items())),
    }


def work_figures(permits: list[dict[str, Any]]) -> WorkPermitStats:
    by_class: Counter[str] = Counter()
    suspensions: Counter[str] = Counter()
    conflicts: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for p in permits:
        cls = p.get("work_class") or "general"
        by_class[f"{cls}/{p['grade']}" if p.get("grade") else cls] += 1
        types = _types(p)
        counts.update(types)
        for h in p.get("history", []):
            if h["type"] == "permit.suspended":
                suspensions[h["detail"].get("cause") or "incident"] += 1
            if h["type"] == "permit.revised" and h["detail"].get("approvals_void"):
                counts["approvals_voided"] += 1
            if h["type"] == "permit.updated" and h["detail"].get("change") == "handover_completed":
                counts["handovers"] += 1
        rules = {
            d.get("rule")
            for h in p.get("history", [])
            if h["type"] == "permit.blocked"
            for d in h["detail"].get("details", [])
            if d.get("reason") == "simops_conflict"
        }
        conflicts.update(r for r in rules if r)
    return WorkPermitStats(
        **base(permits),
        by_class_grade=dict(sorted(by_class.items())),
        suspensions_by_cause=dict(sorted(suspensions.items())),
        conflicts_by_rule=dict(sorted(conflicts.items())),
        revisions=counts["permit.revised"],
        approvals_voided=counts["approvals_voided"],
        resubmissions=counts["permit.resubmitted"],
        interruptions=counts["permit.interrupted"],
        extensions=counts["permit.extended"],
        handovers=counts["handovers"],
        completion_refusals=counts["permit.completion-refused"],
        lapsed=sum(1 for p in permits if p["status"] == "lapsed"),
        cancelled=sum(1 for p in permits if p["status"] == "cancelled"),
    )


def drawing_figures(permits: list[dict[str, Any]]) -> DrawingStats:
    rounds = Counter(str(p.get("drawing_revision", 1)) for p in permits)
    comments = [c for p in permits for c in p.get("comments", [])]
    figures = base(permits)
    cycle = figures["median_cycle_minutes"]
    return DrawingStats(
        **figures,
        rounds=dict(sorted(rounds.items(), key=lambda kv: int(kv[0]))),
        median_rounds=statistics.median([p.get("drawing_revision", 1) for p in permits]) if permits else None,
        comments=len(comments),
        open_comments=sum(1 for c in comments if c.get("resolved_in_revision") is None),
        median_cycle_days=None if cycle is None else round(cycle / 1440, 2),
    )


def stats(permits: list[dict[str, Any]]) -> Stats:
    work = [p for p in permits if p["kind"] == "work_permit"]
    drawings = [p for p in permits if p["kind"] == "drawing_review"]
    zones: dict[str, list[dict[str, Any]]] = {}
    for p in permits:
        zones.setdefault(p.get("zone_id") or "(no zone)", []).append(p)
    return Stats(
        overall=PermitStats(**base(permits)),
        work_permits=work_figures(work),
        drawing_reviews=drawing_figures(drawings),
        zones={z: PermitStats(**base(ps)) for z, ps in sorted(zones.items())},
    )
