"""The web app's view-model rules (pure: no I/O): the figures a page shows, made from what the
services answered — coverage by host unit and region, the cadence heat map, the permit funnel,
cycle times against the SLA and against the old sequential sign-off, the ranking's sums, the
zone's activity calendar, the SLA left on an inbox item.

A zone signing ``sequential`` (``SigningMode``: the old route the zones replaced, played by the
demo's twins) is a comparison, not a party-building collaboration zone: the dashboard counts it
apart (``Comparison``) and leaves it out of the zone counts, the heat map and the ranking; its
permits stay the measured column of the old sign-off (``distribution``)."""

from __future__ import annotations

import calendar
import re
import statistics
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from shared.events.catalog import SigningMode, is_comparison_zone

# Request-to-issue cycle time bins, in hours (the last is open-ended).
CYCLE_BINS_H = (1, 2, 4, 8, 24, 72, 168)
DRAWING_BINS_D = (1, 2, 5, 10, 20)
DRAWING_REVIEW_OLD_DAYS = 10  # SPEC §1: drawing review took 10 days on the old route
FUNNEL = ("requested", "approved", "issued", "closed")
SEVERITIES = ("near_miss", "minor", "major", "fatal", "environmental")


class Share(BaseModel):
    key: str = Field(description="A host unit id or a region")
    label: str
    covered: int
    total: int


class CoverageView(BaseModel):
    key_projects: int
    covered: int
    share: float
    by_host_unit: list[Share]
    by_region: list[Share]


class HeatMap(BaseModel):
    """Zones × cadence rules: each cell the share of the requirement met (0–1) and the counts."""

    period: str
    zones: list[str]
    rules: list[str]
    cells: list[list[float | int | None]] = Field(
        description="[rule index, zone index, share 0–1 (null: nothing required), actual, required]"
    )


class Distribution(BaseModel):
    bins: list[str] = Field(description="Upper bounds of the bins; the last is open-ended ('>N')")
    fast_track_within_sla: list[int]
    fast_track_late: list[int]
    sequential: list[int] = Field(description="The same permits on the old sequential sign-off")
    median_hours: float | None
    sequential_median_hours: float | None
    sequential_measured: bool = Field(
        False,
        description="True: the old route's figures are the cycle times of permits signed sequentially "
        "(zones set to `signing: sequential`, the demo's twins); False: estimated, one working day "
        "per office in turn, from the fast-track permits",
    )
    within_sla_share: float | None


class DrawingDays(BaseModel):
    bins: list[str]
    counts: list[int]
    median_days: float | None
    old_route_days: int = DRAWING_REVIEW_OLD_DAYS


class Ranked(BaseModel):
    zone_id: str
    name: str
    rank: int
    score: float
    grade: str


class Comparison(BaseModel):
    """The zones of the old sequential sign-off, kept apart from every other figure."""

    zones: int
    members: int = Field(description="On the rosters of those not closed")
    zone_ids: list[str]


class Dashboard(BaseModel):
    """Every figure of the party office's dashboard, as the services answered them."""

    period: str
    months: tuple[str, str] | None = Field(description="The months before and after the period")
    zone_names: dict[str, str]
    coverage: CoverageView
    zones_by_mode: dict[str, int] = Field(description="Collaboration zones, the comparison zones apart")
    members: int
    floating_members: int
    comparison: Comparison = Field(description="Zones signing `sequential`: the old route, compared with")
    heatmap: HeatMap
    funnel: dict[str, int] = Field(
        description="requested → approved → issued → closed (the fast track's work permits, the old route apart)"
    )
    cycle: Distribution
    blocked_reasons: dict[str, int]
    drawing_days: DrawingDays
    incidents: dict[str, int] = Field(description="By severity, the period's, all zones")
    quality: dict[str, int] = Field(description="Procedures inspected and rated excellent")
    benefit: dict[str, float]
    ranking: list[Ranked]
    updated_at: datetime


# --------------------------------------------------------------------------- coverage


def coverage_view(
    coverage: dict[str, Any], projects: list[dict[str, Any]], zones: list[dict[str, Any]]
) -> CoverageView:
    """Key projects covered by an active zone, by host unit and by region (as ``/coverage``
    counts them: a project in an active zone)."""
    active = {z["zone_id"] for z in zones if z["status"] == "active"}
    names = unit_names(zones)
    by_host: dict[str, list[bool]] = {}
    by_region: dict[str, list[bool]] = {}
    for p in projects:
        if not p.get("key_project"):
            continue
        covered = p.get("zone_id") in active
        by_host.setdefault(p.get("host_unit_id") or "—", []).append(covered)
        by_region.setdefault(p.get("region") or "—", []).append(covered)
    return CoverageView(
        key_projects=coverage["key_projects"],
        covered=coverage["covered"],
        share=coverage["share"],
        by_host_unit=[_share(k, names.get(k, k), v) for k, v in sorted(by_host.items())],
        by_region=[_share(k, k, v) for k, v in sorted(by_region.items())],
    )


def _share(key: str, label: str, covered: list[bool]) -> Share:
    return Share(key=key, label=label, covered=sum(covered), total=len(covered))


def unit_names(zones: Iterable[dict[str, Any]]) -> dict[str, str]:
    return {u["unit_id"]: u["name"] for z in zones for u in z.get("units", [])}


# --------------------------------------------------------------------------- the old route, apart


# A zone of the old sequential sign-off (as zone-registry's ``/zones`` gives its settings): the
# contract's rule, as the assessment service applies it.
is_comparison = is_comparison_zone


def comparison(zones: Iterable[dict[str, Any]]) -> Comparison:
    apart = [z for z in zones if is_comparison(z)]
    return Comparison(
        zones=len(apart),
        members=sum(z["member_count"] for z in apart if z["status"] != "closed"),
        zone_ids=sorted(z["zone_id"] for z in apart),
    )


class ZoneCounts(BaseModel):
    zones_by_mode: dict[str, int]
    members: int
    floating_members: int


def zone_counts(stats: dict[str, Any]) -> ZoneCounts:
    """zone-registry's ``/stats``: it counts the collaboration zones, the comparison zones apart."""
    return ZoneCounts(
        zones_by_mode=dict(stats["zones_by_mode"]),
        members=stats["members"],
        floating_members=stats["floating_members"],
    )


def without_comparison(ranking: dict[str, Any], apart: Iterable[str]) -> dict[str, Any]:
    """The assessment's ranking without comparison zones (it leaves them out itself; a ranking
    published before it did still lists them)."""
    out = set(apart)
    return {**ranking, "ranking": [z for z in ranking["ranking"] if z["zone_id"] not in out]}


# --------------------------------------------------------------------------- cadence


def heatmap(
    compliance: dict[str, Any], zone_names: dict[str, str], rules: Iterable[str], apart: Iterable[str] = ()
) -> HeatMap:
    """Zones × rules, the comparison zones (``apart``) left out: the old route holds no party
    activities by design, so its rows would only be red."""
    order = list(rules)
    out = set(apart)
    kept = [z for z in compliance["zones"] if z["zone_id"] not in out]
    zones = sorted(kept, key=lambda z: zone_names.get(z["zone_id"], z["zone_id"]))
    cells: list[list[float | int | None]] = []
    for y, z in enumerate(zones):
        for r in z["rules"]:
            if r["rule"] not in order:
                order.append(r["rule"])
            share = None if r["required"] <= 0 else round(min(1.0, r["actual"] / r["required"]), 3)
            cells.append([order.index(r["rule"]), y, share, r["actual"], r["required"]])
    return HeatMap(period=compliance["period"], zones=[z["zone_id"] for z in zones], rules=order, cells=cells)


# --------------------------------------------------------------------------- permits


def reached(permit: dict[str, Any]) -> set[str]:
    """The stages of the funnel a permit reached, from its history and state."""
    types = {h["type"] for h in permit.get("history", [])}
    stages = {"requested"}
    issued = permit.get("issued_at") is not None or "permit.issued" in types
    if issued or "permit.approved" in types:
        stages.add("approved")
    if issued:
        stages.add("issued")
    if permit["status"] == "closed":
        stages.add("closed")
    return stages


def signed_the_old_way(permit: dict[str, Any]) -> bool:
    """A permit of a comparison zone (``sequential``): the old route's column, never counted in
    the fast track's figures."""
    return bool(permit.get("signing") == SigningMode.SEQUENTIAL)


def fast_track(permits: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The permits of the collaboration zones."""
    return [p for p in permits if not signed_the_old_way(p)]


def fast_track_blocks(stats: dict[str, Any]) -> dict[str, int]:
    """Blocks by reason of the fast track's work permits, from the permit service's ``/stats``
    (its ``by_signing`` split when permits were signed both ways)."""
    by_signing = stats.get("by_signing") or {}
    figures = by_signing.get("parallel") if SigningMode.SEQUENTIAL in by_signing else None
    figures = figures or stats.get("work_permits") or stats["overall"]
    return dict(figures["blocked_reasons"])


def funnel(permits: Iterable[dict[str, Any]]) -> dict[str, int]:
    """requested → approved → issued → closed, over the fast track's work permits."""
    counts = Counter(stage for p in fast_track(permits) for stage in reached(p))
    return {stage: counts.get(stage, 0) for stage in FUNNEL}


def cycle_hours(permit: dict[str, Any]) -> float | None:
    issued, requested = _time(permit.get("issued_at")), _time(permit.get("requested_at"))
    if issued is None or requested is None:
        return None
    return (issued - requested).total_seconds() / 3600


def working_days_span(start: date, working_days: int) -> int:
    """Calendar days the old route takes: each office signs in turn, one working day
    (Monday–Saturday) each, from the day the work was submitted."""
    d, left = start, working_days
    while left > 0:
        if d.weekday() < 6:
            left -= 1
        d += timedelta(days=1)
    return (d - start).days


def sequential_hours(permit: dict[str, Any], tz: ZoneInfo) -> float | None:
    """The same permit on the old sequential sign-off: its required roles and the approver,
    one after another."""
    requested = _time(permit.get("requested_at"))
    if requested is None:
        return None
    offices = len(permit.get("required_roles") or ()) + 1
    return 24.0 * working_days_span(requested.astimezone(tz).date(), offices)


def _bin_labels(bounds: tuple[int, ...]) -> list[str]:
    return [*(f"≤{b}" for b in bounds), f">{bounds[-1]}"]


def _bin(value: float, bounds: tuple[int, ...]) -> int:
    return next((i for i, b in enumerate(bounds) if value <= b), len(bounds))


def distribution(permits: Iterable[dict[str, Any]], tz: ZoneInfo) -> Distribution:
    """Request→issue of the fast track against its SLA, beside the old sequential sign-off:
    measured on permits signed sequentially when there are any, estimated otherwise."""
    n = len(CYCLE_BINS_H) + 1
    within, late, old = [0] * n, [0] * n, [0] * n
    hours: list[float] = []
    seq: list[float] = []
    fast: list[dict[str, Any]] = []
    played: list[dict[str, Any]] = []
    for p in permits:
        (played if signed_the_old_way(p) else fast).append(p)
    for p in fast:
        if (h := cycle_hours(p)) is None:
            continue
        hours.append(h)
        issued, deadline = _time(p.get("issued_at")), _time(p.get("sla_deadline"))
        on_time = deadline is None or (issued is not None and issued <= deadline)
        (within if on_time else late)[_bin(h, CYCLE_BINS_H)] += 1
        if not played and (s := sequential_hours(p, tz)) is not None:
            seq.append(s)
    if played:
        seq = [h for p in played if (h := cycle_hours(p)) is not None]
    for s in seq:
        old[_bin(s, CYCLE_BINS_H)] += 1
    return Distribution(
        bins=_bin_labels(CYCLE_BINS_H),
        fast_track_within_sla=within,
        fast_track_late=late,
        sequential=old,
        median_hours=_median(hours),
        sequential_median_hours=_median(seq),
        sequential_measured=bool(played),
        within_sla_share=round(sum(within) / len(hours), 4) if hours else None,
    )


def drawing_days(drawings: Iterable[dict[str, Any]]) -> DrawingDays:
    counts = [0] * (len(DRAWING_BINS_D) + 1)
    days: list[float] = []
    for p in drawings:
        h = cycle_hours(p)
        if h is None:
            continue
        days.append(h / 24)
        counts[_bin(h / 24, DRAWING_BINS_D)] += 1
    return DrawingDays(bins=_bin_labels(DRAWING_BINS_D), counts=counts, median_days=_median(days, 2))


def half_up(value: float | int, digits: int = 0) -> Decimal:
    """A figure rounded as people round it (98.65 → 98.7; Babel alone rounds half to even), from
    its shortest decimal form (the one the services' JSON carries)."""
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def _median(values: list[float], digits: int = 1) -> float | None:
    return float(half_up(statistics.median(values), digits)) if values else None


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


# --------------------------------------------------------------------------- assessment


def period_sums(ranking: dict[str, Any]) -> tuple[dict[str, int], dict[str, int], dict[str, float]]:
    """Incidents by severity, procedures inspected/excellent, and the benefit's figures, over
    every zone of the period's ranking."""
    incidents = dict.fromkeys(SEVERITIES, 0)
    quality = {"inspected": 0, "excellent": 0}
    benefit = {"problems_resolved": 0.0, "cost_saved_cny": 0.0, "days_saved": 0.0}
    for z in ranking["ranking"]:
        ind = z["indicators"]
        for s in SEVERITIES:
            incidents[s] += int(ind.get("safety", {}).get("figures", {}).get(s, 0) or 0)
        for k in quality:
            quality[k] += int(ind.get("quality", {}).get("figures", {}).get(k, 0) or 0)
        for k in benefit:
            benefit[k] += float(ind.get("benefit", {}).get("figures", {}).get(k, 0) or 0)
    return incidents, quality, {k: round(v, 2) for k, v in benefit.items()}


def ranked(ranking: dict[str, Any], zone_names: dict[str, str]) -> list[Ranked]:
    return [
        Ranked(
            zone_id=z["zone_id"],
            name=zone_names.get(z["zone_id"], z["zone_id"]),
            rank=z["rank"],
            score=z["score"],
            grade=z["grade"],
        )
        for z in ranking["ranking"]
    ]


# --------------------------------------------------------------------------- the zone page


class Day(BaseModel):
    day: date | None = Field(description="None: a blank cell before the first or after the last")
    activities: list[dict[str, Any]] = Field(default_factory=list)


def month_calendar(period: str, activities: Iterable[dict[str, Any]], tz: ZoneInfo) -> list[list[Day]]:
    """The month's weeks (Monday first), each day with the activities that started on it."""
    year, month = (int(x) for x in period.split("-"))
    by_day: dict[date, list[dict[str, Any]]] = {}
    for a in activities:
        start = _time(a["started_at"])
        if start is not None:
            by_day.setdefault(start.astimezone(tz).date(), []).append(a)
    weeks = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
        weeks.append(
            [Day(day=d, activities=by_day.get(d, [])) if d.month == month else Day(day=None) for d in week]
        )
    return weeks


def neighbour_months(period: str) -> tuple[str, str]:
    """The months before and after ``period`` (YYYY-MM)."""
    first, last = month_bounds(period)
    before, after = first - timedelta(days=1), last + timedelta(days=1)
    return f"{before.year:04d}-{before.month:02d}", f"{after.year:04d}-{after.month:02d}"


PERIOD = re.compile(r"^(19|20|21)\d{2}-(0[1-9]|1[0-2])$")


def month_bounds(period: str) -> tuple[date, date]:
    year, month = (int(x) for x in period.split("-"))
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


# --------------------------------------------------------------------------- the signer's inbox


def sla_state(minutes_left: float | None) -> str:
    """How urgent an inbox item is: ``late``, ``due`` (within the hour), ``ok``, ``none``."""
    if minutes_left is None:
        return "none"
    if minutes_left < 0:
        return "late"
    return "due" if minutes_left <= 60 else "ok"


def my_roles(permit: dict[str, Any], member_id: str, inbox: Iterable[dict[str, Any]]) -> list[str]:
    """The roles this person is asked to sign this permit in (from their inbox)."""
    return sorted(
        {
            i["role"]
            for i in inbox
            if i["permit_id"] == permit["permit_id"] and i.get("what", "signature") == "signature"
        }
    )


def accepting_completion(permit: dict[str, Any], inbox: Iterable[dict[str, Any]]) -> bool:
    """Is this person asked to accept the permit's completion (完工验收)? From their inbox."""
    return any(
        i["permit_id"] == permit["permit_id"] and i.get("what") == "completion_acceptance" for i in inbox
    )


def latest_block_details(permit: dict[str, Any]) -> list[dict[str, Any]]:
    """Why the permit is blocked now, in the words of its latest ``permit.blocked``."""
    for h in reversed(permit.get("history", [])):
        if h["type"] == "permit.blocked":
            details: list[dict[str, Any]] = h.get("detail", {}).get("details", [])
            return details
    return []


# --------------------------------------------------------------------------- the permit's preconditions

# GB 30871-2022's special works: a guardian, the briefing and the ticket check before the work.
SPECIAL = {
    "hot_work",
    "confined_space",
    "blind_plate",
    "work_at_height",
    "lifting",
    "temporary_power",
    "excavation",
    "road_closure",
}
GASSED = {"hot_work", "confined_space"}  # a gas test before the work (§5.2, §6.4)
# Once the last approval is in, the permit service checks every precondition: these statuses
# mean it did (a blocked permit says which failed; the others passed when it was issued).
CHECKED = {"blocked", "issued", "interrupted", "suspended", "completing", "closed", "expired"}


class Precondition(BaseModel):
    """One precondition of issue as the signer's card shows it."""

    code: str = Field(description="The block reason it prevents (BlockReason)")
    state: str = Field(description="met | unmet | pending (not checked yet)")
    reason: str | None = Field(None, description="Unmet: the service's reason (missing or failed)")
    details: list[dict[str, Any]] = Field(default_factory=list, description="Why, from the service")


def preconditions(permit: dict[str, Any]) -> list[Precondition]:
    """Each precondition of issue, met or not and why: what the permit service found at its
    last check where it checked (a blocked permit's reasons and details), else what the record
    already shows (the guardian on site, the briefing, the ticket check, the isolations, the
    gas readings), else not checked yet."""
    cls = permit.get("work_class") or "general"
    codes = ["no_active_zone", "contractor_safety_not_adopted"]
    if "subcontractor_safety_not_adopted" in permit.get("blocked_reasons", []):
        codes.append("subcontractor_safety_not_adopted")
    if permit.get("kind") == "work_permit" and cls in SPECIAL:
        codes += ["no_morning_checkin", "guardian_not_on_site", "briefing_missing", "ticket_not_checked"]
        if permit.get("isolations"):
            codes.append("isolation_not_applied")
        if cls in GASSED or permit.get("gas_readings"):
            codes.append("gas_test_failed")
        codes.append("simops_conflict")
    reasons = set(permit.get("blocked_reasons", []))
    details = latest_block_details(permit)
    checked = permit.get("status") in CHECKED or permit.get("issued_at") is not None
    out = []
    for code in codes:
        group = GROUPS.get(code, {code})
        mine = [d for d in details if d.get("reason") in group]
        unmet = sorted(group & reasons)
        if unmet:
            out.append(Precondition(code=code, state="unmet", reason=unmet[0], details=mine))
        elif checked:
            out.append(Precondition(code=code, state="met"))
        else:
            out.append(Precondition(code=code, state=_seen(permit, code)))
    return out


# --------------------------------------------------------------------------- steps on site

# The permit service's stages: before issue (OPEN_UNISSUED), running (RUNNING), and those in
# which its guardian checks in (both) and out (also while completing).
BEFORE_ISSUE = {"pending_signatures", "approved", "blocked"}
CHECK_IN = BEFORE_ISSUE | {"issued", "suspended", "interrupted"}
CHECK_OUT = CHECK_IN | {"completing"}


class SiteSteps(BaseModel):
    """What the card offers this person to record on site (GB 30871-2022 §4.4, Table A.1,
    §4.10 f). Who may is the permit service's decision (the roster's employers are not shown
    to a plain member): a refused step comes back on the card with its reasons."""

    briefing: bool = Field(description="The safety briefing (安全交底) can be recorded")
    ticket_check: bool = Field(description="The shift leader's ticket check (验票) can be recorded")
    check_in: bool = Field(description="This person, the guardian not on site, can check in")
    check_out: bool = Field(description="This person, the guardian on site, can check out")
    receivers: list[tuple[str, str]] = Field(description="Who may receive the briefing: (member id, name)")


def site_steps(permit: dict[str, Any], member_id: str, roster: dict[str, str]) -> SiteSteps:
    """The briefing and the ticket check of a special work not issued yet, offered to the zone's
    roster members while missing; the check-in and check-out to the guardian, off and on site."""
    special = permit.get("kind") == "work_permit" and (permit.get("work_class") or "general") in SPECIAL
    status = permit.get("status")
    open_step = special and status in BEFORE_ISSUE and member_id in roster
    guardian = permit.get("guardian_member_id") == member_id
    on_site = bool(permit.get("guardian_on_site"))
    return SiteSteps(
        briefing=open_step and not permit.get("briefing"),
        ticket_check=open_step and not permit.get("ticket_check"),
        check_in=guardian and not on_site and status in CHECK_IN,
        check_out=guardian and on_site and status in CHECK_OUT,
        receivers=sorted(((m, n) for m, n in roster.items() if m != member_id), key=lambda mn: mn[1]),
    )


class Refused(BaseModel):
    """One of this person's commands the permit service refused, with its reasons."""

    command_type: str
    reasons: list[str]
    at: datetime


def refused(permit: dict[str, Any], member_id: str, newest: int = 3) -> list[Refused]:
    """This person's refused commands on the permit since their last step that went through
    (its history), the newest first: what they still have to put right."""
    mine: list[dict[str, Any]] = []
    for h in permit.get("history", []):
        if h.get("type") == "permit.command-rejected":
            if member_id in (h.get("actor"), h.get("detail", {}).get("member_id")):
                mine.append(h)
        elif h.get("actor") == member_id:
            mine = []  # a step of theirs went through since: those are behind them
    return [
        Refused(
            command_type=str(h["detail"].get("command_type") or ""),
            reasons=list(h["detail"].get("reasons") or []),
            at=h["at"],
        )
        for h in reversed(mine[-newest:])
    ]


# Reasons that are one precondition seen from two sides (missing or failed).
GROUPS = {
    "guardian_not_on_site": {"guardian_missing", "guardian_not_on_site"},
    "isolation_not_applied": {"isolation_not_applied", "isolation_inadequate"},
    "gas_test_failed": {"gas_test_missing", "gas_test_failed"},
}


def _seen(permit: dict[str, Any], code: str) -> str:
    """Before the service's check: what the record shows already (``pending`` where it cannot)."""
    if code == "guardian_not_on_site":
        return "met" if permit.get("guardian_on_site") else "unmet"
    if code == "briefing_missing":
        return "met" if permit.get("briefing") else "unmet"
    if code == "ticket_not_checked":
        return "met" if permit.get("ticket_check") else "unmet"
    if code == "isolation_not_applied":
        isolations = permit.get("isolations", [])
        ok = all(
            i.get("applied") and not i.get("removed") and i.get("kind") not in INADEQUATE for i in isolations
        )
        return "met" if ok else "unmet"
    if code == "gas_test_failed":
        readings = permit.get("gas_readings", [])
        if not readings:
            return "unmet"
        latest = max(readings, key=lambda r: str(r.get("tested_at")))
        return "unmet" if latest.get("passed") is False else "pending"
    return "pending"


INADEQUATE = {"water_seal", "closed_valve"}  # §5.2.2, §6.1 a: not an isolation
