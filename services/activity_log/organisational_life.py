"""三会一课 and organisational life by the rules, pure: the cadence of each rule per zone,
its evaluation for a period, and the reminders due before a period closes (issue 19).

The rules and their sources, 《中国共产党支部工作条例（试行）》 (中共中央, 2018):
- 党员大会 (``party_members_meeting``): 一般每季度召开1次 — 第十一条. Only a meeting whose
  quorum held counts by default (第十一条: 表决必须有半数以上有表决权的党员到会方可进行): a
  meeting that could not vote did not do a 党员大会's work.
- 支委会 (``branch_committee_meeting``): 一般每月召开1次 — 第十二条.
- 党小组会 (``party_group_meeting``): 一般每月召开1次 — 第十三条. A zone without party groups
  (第十三条: only branches with many or scattered members form them) sets its minimum to 0.
- 党课 (``party_class``): 按期上党课 — 第十五条; the default here is at least once a quarter.
- 主题党日 (``theme_party_day_on_fixed_day``): 每月相对固定1天 — 第十六条; the zone sets the day.
- 组织生活会 (``organisational_life_meeting``): 每年至少召开1次 — 第十七条.
- 民主评议党员 (``member_appraisal``): 一般每年开展1次 — 第十八条.

Choices where the rules leave room, stated once:
- Like the six systems' cadence (``domain.evaluate``), a rule is judged on the days the zone
  was active: required when the zone was active on at least ``min_active_days`` days of the
  period (default 1, as SPEC §3.2 does for the monthly rules), not evaluated otherwise.
- A rule whose minimum is 0 is not evaluated at all (a met rule that does not exist would
  raise the party-building score for nothing).
- 主题党日 on the fixed day: a theme party day counts when held on the zone's day or up to
  ``theme_day_tolerance_days`` after it (postponed for a holiday). A day past a short month's
  end falls on its last day. When the zone set no day, or was not active on any day of that
  window, any theme party day of the month counts (it could not have kept the day).
- An activity counts for the period of its local start date (SPEC §3.2).
- A reminder falls due ``days_before`` days before the period's last day, for every rule still
  unmet on the days so far; it names the zone's secretaries.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from shared.events.catalog import ActivityKind, Cadence, Member, OrgLifeRule, ZoneRole
from shared.periods import month_of, period_bounds, period_days, periods_closed_between, quarter_of

from .domain import Window, active_days

ARTICLES: dict[OrgLifeRule, str] = {
    OrgLifeRule.PARTY_MEMBERS_MEETING: "《中国共产党支部工作条例（试行）》第十一条",
    OrgLifeRule.BRANCH_COMMITTEE_MEETING: "《中国共产党支部工作条例（试行）》第十二条",
    OrgLifeRule.PARTY_GROUP_MEETING: "《中国共产党支部工作条例（试行）》第十三条",
    OrgLifeRule.PARTY_CLASS: "《中国共产党支部工作条例（试行）》第十五条",
    OrgLifeRule.THEME_PARTY_DAY_ON_FIXED_DAY: "《中国共产党支部工作条例（试行）》第十六条",
    OrgLifeRule.ORGANISATIONAL_LIFE_MEETING: "《中国共产党支部工作条例（试行）》第十七条",
    OrgLifeRule.MEMBER_APPRAISAL: "《中国共产党支部工作条例（试行）》第十八条",
}

CADENCE: dict[OrgLifeRule, Cadence] = {
    OrgLifeRule.PARTY_MEMBERS_MEETING: Cadence.QUARTERLY,
    OrgLifeRule.BRANCH_COMMITTEE_MEETING: Cadence.MONTHLY,
    OrgLifeRule.PARTY_GROUP_MEETING: Cadence.MONTHLY,
    OrgLifeRule.PARTY_CLASS: Cadence.QUARTERLY,
    OrgLifeRule.THEME_PARTY_DAY_ON_FIXED_DAY: Cadence.MONTHLY,
    OrgLifeRule.ORGANISATIONAL_LIFE_MEETING: Cadence.YEARLY,
    OrgLifeRule.MEMBER_APPRAISAL: Cadence.YEARLY,
}

KIND_OF: dict[OrgLifeRule, str] = {
    OrgLifeRule.PARTY_MEMBERS_MEETING: ActivityKind.PARTY_MEMBERS_MEETING,
    OrgLifeRule.BRANCH_COMMITTEE_MEETING: ActivityKind.BRANCH_COMMITTEE_MEETING,
    OrgLifeRule.PARTY_GROUP_MEETING: ActivityKind.PARTY_GROUP_MEETING,
    OrgLifeRule.PARTY_CLASS: ActivityKind.PARTY_CLASS,
    OrgLifeRule.THEME_PARTY_DAY_ON_FIXED_DAY: ActivityKind.THEME_PARTY_DAY,
    OrgLifeRule.ORGANISATIONAL_LIFE_MEETING: ActivityKind.ORGANISATIONAL_LIFE_MEETING,
    OrgLifeRule.MEMBER_APPRAISAL: ActivityKind.MEMBER_APPRAISAL,
}


@dataclass(frozen=True)
class OrgLifeRequirements:
    """Minimums per period of each rule's cadence (defaults: the 条例), per zone configurable."""

    party_members_meeting: int = 1  # per quarter
    branch_committee_meeting: int = 1  # per month
    party_group_meeting: int = 1  # per month
    party_class: int = 1  # per quarter
    theme_party_day_on_fixed_day: int = 1  # per month
    organisational_life_meeting: int = 1  # per year
    member_appraisal: int = 1  # per year
    theme_party_day: int | None = None  # the zone's fixed day of the month (zone.configure)
    theme_day_tolerance_days: int = 0
    meeting_needs_quorum: bool = True
    min_active_days: int = 1

    def minimum(self, rule: OrgLifeRule) -> int:
        return int(getattr(self, rule.value))

    def with_overrides(self, **overrides: int | bool | None) -> OrgLifeRequirements:
        """A zone's own requirements: these defaults with its overrides (unknown keys raise)."""
        return replace(self, **overrides)  # type: ignore[arg-type]


@dataclass(frozen=True)
class HeldActivity:
    """An activity as the rules see it: its kind, local start date and (for a 党员大会) whether
    its quorum held."""

    kind: str
    local_date: date
    quorum_held: bool | None = None


@dataclass(frozen=True)
class OrgLifeResult:
    rule: OrgLifeRule
    cadence: Cadence
    period: str
    required: int
    actual: int

    @property
    def met(self) -> bool:
        return self.actual >= self.required

    @property
    def article(self) -> str:
        return ARTICLES[self.rule]


# --------------------------------------------------------------------------- periods


def period_of(cadence: Cadence, d: date) -> str:
    """The period of a cadence that holds a day: ``YYYY-MM``, ``YYYY-Qn`` or ``YYYY``."""
    if cadence is Cadence.MONTHLY:
        return month_of(d)
    if cadence is Cadence.QUARTERLY:
        return quarter_of(d)
    return f"{d.year:04d}"


def days_of(period: str) -> tuple[date, date]:
    """First and last day of a month, quarter or year."""
    if len(period) == 4:
        year = int(period)
        return date(year, 1, 1), date(year, 12, 31)
    return period_days(period)


def cadence_of(period: str) -> Cadence:
    if len(period) == 4:
        return Cadence.YEARLY
    return Cadence.QUARTERLY if "Q" in period else Cadence.MONTHLY


def closed_periods(
    after: datetime, until: datetime, tz: ZoneInfo, grace: timedelta
) -> list[tuple[Cadence, str]]:
    """The months, quarters and years whose end + grace falls in (after, until]: what a clock
    move closes, oldest end first (months before the quarter and year that end with them)."""
    out = [(cadence_of(p), p) for p in periods_closed_between(after, until, tz, grace, quarters=True)]
    if until > after:
        for year in range((after - grace).astimezone(tz).year, until.astimezone(tz).year + 1):
            due = datetime(year + 1, 1, 1, tzinfo=tz) + grace
            if after < due <= until:
                out.append((Cadence.YEARLY, f"{year:04d}"))
    order = {Cadence.MONTHLY: 0, Cadence.QUARTERLY: 1, Cadence.YEARLY: 2}
    return sorted(out, key=lambda cp: (days_of(cp[1])[1], order[cp[0]]))


# --------------------------------------------------------------------------- evaluation


def _theme_window(period: str, day: int, tolerance: int) -> set[date]:
    first, last = days_of(period)
    start = first.replace(day=min(day, calendar.monthrange(first.year, first.month)[1]))
    return {start + timedelta(days=i) for i in range(tolerance + 1) if start + timedelta(days=i) <= last}


def _actual(
    rule: OrgLifeRule,
    period: str,
    in_period: list[HeldActivity],
    active: set[date],
    req: OrgLifeRequirements,
) -> int:
    held = [a for a in in_period if a.kind == KIND_OF[rule]]
    if rule is OrgLifeRule.PARTY_MEMBERS_MEETING and req.meeting_needs_quorum:
        held = [a for a in held if a.quorum_held]
    if rule is OrgLifeRule.THEME_PARTY_DAY_ON_FIXED_DAY and req.theme_party_day is not None:
        window = _theme_window(period, req.theme_party_day, req.theme_day_tolerance_days)
        if window & active:
            held = [a for a in held if a.local_date in window]
    return len(held)


def evaluate_period(
    period: str,
    windows: list[Window],
    activities: Iterable[HeldActivity],
    tz: ZoneInfo,
    req: OrgLifeRequirements = OrgLifeRequirements(),
    until: date | None = None,
) -> list[OrgLifeResult]:
    """Every rule whose cadence has this period (a month, a quarter or a year), on the days the
    zone was active. ``until`` cuts a running period at today. Empty when the zone was not
    active long enough in the period."""
    cadence = cadence_of(period)
    first, last = days_of(period)
    if until is not None:
        last = min(last, until)
    active = active_days(windows, first, last, tz)
    if len(active) < max(1, req.min_active_days):
        return []
    in_period = [a for a in activities if first <= a.local_date <= last]
    return [
        OrgLifeResult(rule, cadence, period, req.minimum(rule), _actual(rule, period, in_period, active, req))
        for rule in OrgLifeRule
        if CADENCE[rule] is cadence and req.minimum(rule) > 0
    ]


# --------------------------------------------------------------------------- reminders


@dataclass(frozen=True)
class ReminderDays:
    """How many days before a period's last day the reminders fall due, per cadence."""

    monthly: int = 5
    quarterly: int = 10
    yearly: int = 30

    def of(self, cadence: Cadence) -> int:
        return int(getattr(self, cadence.value))


@dataclass(frozen=True)
class Reminder:
    reminder_id: str
    zone_id: str
    period: str
    cadence: Cadence
    rule: str
    required: int
    actual: int
    period_closes_on: date
    days_left: int
    secretary_member_ids: tuple[str, ...]
    secretary_names: tuple[str, ...]
    article: str | None


def reminder_day(period: str, days: ReminderDays) -> date:
    """The day a period's reminders fall due."""
    last = days_of(period)[1]
    return max(days_of(period)[0], last - timedelta(days=days.of(cadence_of(period))))


def reminder_periods(after: date, until: date, days: ReminderDays) -> list[str]:
    """Periods whose reminder day falls in (after, until]: what a clock move brings to the
    reminder check (each once, so a zone gets one follow-up per period, R4)."""
    out: list[str] = []
    d = after + timedelta(days=1)
    seen: set[str] = set()
    while d <= until + timedelta(days=max(days.monthly, days.quarterly, days.yearly)):
        for cadence in Cadence:
            p = period_of(cadence, d)
            if p not in seen and after < reminder_day(p, days) <= until:
                seen.add(p)
                out.append(p)
        d += timedelta(days=1)
    return sorted(out, key=lambda p: (reminder_day(p, days), days_of(p)[1]))


def secretaries(members: Iterable[Member]) -> list[Member]:
    return sorted((m for m in members if m.zone_role == ZoneRole.SECRETARY), key=lambda m: m.member_id)


def reminders_due(
    zone_id: str,
    results: Iterable[OrgLifeResult],
    members: Iterable[Member],
    today: date,
    days: ReminderDays = ReminderDays(),
) -> list[Reminder]:
    """A reminder for every rule still unmet, once the period's reminder day has come and
    until its last day. ``results`` are the running period's evaluation up to today."""
    names = secretaries(members)
    out: list[Reminder] = []
    for r in results:
        last = days_of(r.period)[1]
        if r.met or not reminder_day(r.period, days) <= today <= last:
            continue
        out.append(
            Reminder(
                reminder_id=f"{zone_id}|{r.period}|{r.rule.value}",
                zone_id=zone_id,
                period=r.period,
                cadence=r.cadence,
                rule=r.rule.value,
                required=r.required,
                actual=r.actual,
                period_closes_on=last,
                days_left=(last - today).days,
                secretary_member_ids=tuple(m.member_id for m in names),
                secretary_names=tuple(m.name for m in names),
                article=r.article,
            )
        )
    return out


def period_end(period: str, tz: ZoneInfo) -> datetime:
    """The end of a period as an aware datetime (its close is this plus the grace)."""
    if len(period) == 4:
        return datetime(int(period) + 1, 1, 1, tzinfo=tz)
    return period_bounds(period, tz)[1]
