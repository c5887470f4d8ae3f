"""Activity-log rules (SPEC §3.2), pure: activity refusals and the cadence of the six systems.

Choices where the SPEC leaves room, stated once:
- "now" for ``starts_in_future`` is the moment of the check: the later of the clock's now
  and the command's own time (before the first tick an event clock is at the epoch, and a
  command's time keeps the check sensible).
- A zone counts as active on a local day if it was active at any moment of that day
  ("a zone activated on the 20th is judged from the 20th").
- An ISO week belongs to the month of its Thursday; it is required when the zone was
  active on at least one of its days inside the month, and met by a weekly meeting whose
  start date lies in that week and in the month (an activity counts for the period of its
  ``started_at`` date).
- Daily check-ins: required 2 × active workdays (Mon–Sat); actual = distinct (day, slot)
  pairs recorded on those days.
- The monthly rules require 1 whenever the zone was active on any day of the month.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.actor import Actor, may_act_in
from shared.events.catalog import ActivityKind, ActorRefusal, CheckinSlot
from shared.periods import days, iso_weeks_of_month, period_days

KINDS = {k.value for k in ActivityKind}
SLOTS = {s.value for s in CheckinSlot}
RULES = ("theme_party_day", "joint_meeting", "monthly_analysis", "weekly_meeting", "daily_checkin")
MONTHLY_RULES = ("theme_party_day", "joint_meeting", "monthly_analysis")
FUTURE_TOLERANCE = timedelta(hours=24)

Window = tuple[datetime, datetime | None]  # an interval during which the zone was active


@dataclass(frozen=True)
class Requirements:
    """Per-month minimums; defaults from SPEC §3.2 (configurable)."""

    theme_party_day: int = 1
    joint_meeting: int = 1
    monthly_analysis: int = 1
    weekly_meetings_per_week: int = 1
    checkins_per_workday: int = 2


@dataclass(frozen=True)
class RuleResult:
    rule: str
    required: int
    actual: int

    @property
    def met(self) -> bool:
        return self.actual >= self.required

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "required": self.required, "actual": self.actual, "met": self.met}


# --------------------------------------------------------------------------- refusals


def actor_refusals(actor: Actor | None, zone: dict[str, Any] | None) -> list[str]:
    """Who may record an activity: a member on the zone's roster, the party office, or a
    trusted system; a command that names nobody is refused."""
    if actor is None:
        return [ActorRefusal.ACTOR_UNKNOWN.value]
    if zone is not None and not may_act_in(zone, actor):
        return [ActorRefusal.ACTOR_NOT_ON_ROSTER.value]
    return []


def refusal_reasons(
    *,
    zone: dict[str, Any] | None,
    kind: str,
    slot: str | None,
    started_at: datetime,
    ended_at: datetime,
    organizer: str,
    attendees: list[str],
    resolved: list[str],
    known_problems: set[str],
    now: datetime,
) -> list[str]:
    """Every reason an ``activity.record`` command cannot be recorded (empty: record it)."""
    reasons: list[str] = []
    roster = {m["member_id"] for m in (zone or {}).get("members", [])}
    if zone is None:
        reasons.append("unknown_zone")
    elif zone.get("status") != "active":
        reasons.append("zone_not_active")
    if kind not in KINDS:
        reasons.append("unknown_kind")
    if kind == ActivityKind.DAILY_CHECKIN and slot not in SLOTS:
        reasons.append("checkin_slot_missing")
    if ended_at < started_at:
        reasons.append("ends_before_start")
    if started_at > now + FUTURE_TOLERANCE:
        reasons.append("starts_in_future")
    if zone is not None:
        if organizer not in roster:
            reasons.append("organizer_not_on_roster")
        if any(a not in roster for a in attendees):
            reasons.append("attendee_not_on_roster")
    if any(p not in known_problems for p in resolved):
        reasons.append("unknown_problem")
    return reasons


# --------------------------------------------------------------------------- activity windows


def open_window(windows: list[Window], at: datetime) -> list[Window]:
    if windows and windows[-1][1] is None:
        return windows
    return [*windows, (at, None)]


def close_window(windows: list[Window], at: datetime) -> list[Window]:
    if not windows or windows[-1][1] is not None:
        return windows
    return [*windows[:-1], (windows[-1][0], at)]


def windows_to_doc(windows: list[Window]) -> list[dict[str, datetime | None]]:
    # Stored as documents: the Mongo-protocol server here refuses nested arrays.
    return [{"start": s, "end": e} for s, e in windows]


def windows_from_doc(docs: list[dict[str, Any]]) -> list[Window]:
    return [(d["start"], d["end"]) for d in docs]


def active_days(windows: list[Window], first: date, last: date, tz: ZoneInfo) -> set[date]:
    """Local days in [first, last] on which the zone was active at some moment."""
    out: set[date] = set()
    for start, end in windows:
        s = start.astimezone(tz).date()
        e = end.astimezone(tz).date() if end is not None else last
        if end is not None and end.astimezone(tz).time() == datetime.min.time() and e > s:
            e -= timedelta(days=1)  # closed exactly at midnight: not active that day
        for d in days(max(s, first), min(e, last)):
            out.add(d)
    return out


# --------------------------------------------------------------------------- cadence


def evaluate(
    period: str,
    windows: list[Window],
    activities: list[dict[str, Any]],
    tz: ZoneInfo,
    req: Requirements = Requirements(),
    until: date | None = None,
) -> list[RuleResult]:
    """The five cadence rules of a zone for a month. ``activities`` are dicts with ``kind``,
    ``slot`` and ``local_date`` (ISO date). ``until`` cuts a running month at today.
    Empty when the zone was not active in the period."""
    first, last = period_days(period)
    if until is not None:
        last = min(last, until)
    active = active_days(windows, first, last, tz)
    if not active:
        return []
    in_period = [a for a in activities if first.isoformat() <= a["local_date"] <= last.isoformat()]
    count = {k: sum(1 for a in in_period if a["kind"] == k) for k in MONTHLY_RULES}
    results = [RuleResult(rule, getattr(req, rule), count[rule]) for rule in MONTHLY_RULES]

    weeks = [wk for wk in iso_weeks_of_month(period) if any(d.isocalendar()[:2] == wk for d in active)]
    meeting_weeks = Counter(
        tuple(date.fromisoformat(a["local_date"]).isocalendar()[:2])
        for a in in_period
        if a["kind"] == ActivityKind.WEEKLY_MEETING
    )
    met_weeks = sum(1 for wk in weeks if meeting_weeks.get(wk, 0) >= req.weekly_meetings_per_week)
    results.append(RuleResult("weekly_meeting", len(weeks), met_weeks))

    workdays = {d for d in active if d.weekday() < 6}
    slots = {
        (a["local_date"], a["slot"])
        for a in in_period
        if a["kind"] == ActivityKind.DAILY_CHECKIN and date.fromisoformat(a["local_date"]) in workdays
    }
    results.append(RuleResult("daily_checkin", req.checkins_per_workday * len(workdays), len(slots)))
    return results
