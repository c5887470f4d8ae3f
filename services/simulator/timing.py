"""Request→issue times and SLA breaches as the simulator itself knows them (issue 19): it knows
when it asked (the work plan or drawing it published) and when each permit was first issued (the
``permit.issued`` it saw), so the report's cycle times, breaches and the efficiency indicator are
checked against its own arithmetic. Pure.

The SLAs are SPEC §3.3's: a work permit within 4 hours of the request, a drawing review within
2 days. A permit breaches when it is not issued by its deadline — unless it ended unissued
(cancelled, lapsed) before it, or the run ended first. The p90 is the nearest-rank value the
report prints everywhere (``report._p90``).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.periods import month_of

from .plan import Plan
from .twin import is_twin_permit

WORK_SLA = timedelta(hours=4)
DRAWING_SLA = timedelta(days=2)


@dataclass(frozen=True)
class Timing:
    permit_id: str
    zone_key: str
    drawing: bool
    requested: datetime
    issued: datetime | None
    ended_unissued: datetime | None = None

    @property
    def sequential(self) -> bool:
        return is_twin_permit(self.permit_id)

    @property
    def deadline(self) -> datetime:
        return self.requested + (DRAWING_SLA if self.drawing else WORK_SLA)

    @property
    def cycle_minutes(self) -> float | None:
        return None if self.issued is None else (self.issued - self.requested).total_seconds() / 60

    @property
    def within_sla(self) -> bool:
        return self.issued is not None and self.issued <= self.deadline

    def breached(self, run_end: datetime) -> bool:
        if self.within_sla or self.deadline >= run_end:
            return False
        return self.ended_unissued is None or self.ended_unissued > self.deadline


def timings(plan: Plan, issued: dict[str, datetime], ended: dict[str, datetime]) -> list[Timing]:
    """Every permit the simulator asked for: the works' (and their twins') and the drawings'."""
    out = []
    works = [*plan.truth.works.values(), *plan.truth.twin_works.values()]
    for w in works:
        for pid in w.permit_ids:
            out.append(Timing(pid, w.zone_key, False, w.planned_at, issued.get(pid), ended.get(pid)))
    submitted = {f"DR-{a.data['drawing_id']}": a.at for a in plan.actions if a.type == "drawing.submitted"}
    for pid, zone_key in plan.truth.drawings.items():
        out.append(Timing(pid, zone_key, True, submitted[pid], issued.get(pid), ended.get(pid)))
    return out


def p90(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, round(0.9 * (len(s) - 1)))]


@dataclass(frozen=True)
class RouteFigures:
    """One sign-off route's work permits: how many, issued, request→issue median and p90 (minutes),
    issued within SLA, SLA breaches."""

    permits: int
    issued: int
    median_minutes: float | None
    p90_minutes: float | None
    within_sla: int
    breaches: int


def route_figures(ts: list[Timing], sequential: bool, run_end: datetime) -> RouteFigures:
    mine = [t for t in ts if not t.drawing and t.sequential == sequential]
    cycles = [c for t in mine if (c := t.cycle_minutes) is not None]
    return RouteFigures(
        permits=len(mine),
        issued=len(cycles),
        median_minutes=statistics.median(cycles) if cycles else None,
        p90_minutes=p90(cycles),
        within_sla=sum(t.within_sla for t in mine),
        breaches=sum(t.breached(run_end) for t in mine),
    )


@dataclass(frozen=True)
class ZoneTimes:
    """A zone-period's permit facts for the assessment's efficiency and schedule indicators."""

    permits_issued: int = 0
    within_sla: int = 0
    escalated_unissued: int = 0
    reviews: int = 0
    reviews_within_sla: int = 0
    reviews_open_late: int = 0


def zone_times(ts: list[Timing], zone_key: str, period: str, run_end: datetime) -> ZoneTimes:
    """Work permits issued in the period (first issue), those within SLA, those escalated in the
    period and never issued in it; drawing reviews likewise (they count in the schedule)."""
    mine = [t for t in ts if t.zone_key == zone_key]
    out: dict[str, int] = {}
    for drawing, names in (
        (False, ("permits_issued", "within_sla", "escalated_unissued")),
        (True, ("reviews", "reviews_within_sla", "reviews_open_late")),
    ):
        kind = [t for t in mine if t.drawing == drawing]
        issued = [t for t in kind if t.issued is not None and month_of(t.issued) == period]
        issued_ids = {t.permit_id for t in issued}
        late = [
            t
            for t in kind
            if t.breached(run_end) and month_of(t.deadline) == period and t.permit_id not in issued_ids
        ]
        out[names[0]], out[names[1]], out[names[2]] = (
            len(issued),
            sum(t.within_sla for t in issued),
            len(late),
        )
    return ZoneTimes(**out)
