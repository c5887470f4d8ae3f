"""The month as the enterprise systems and the people on site would live it: every event
the simulator will publish at its time, and the ground truth of what it did. Pure.

Actions that depend on the services' answers (signatures after a signature request,
closing an issued permit, resuming a suspended one, filling a new zone's roster) are
decided by the player as those answers arrive; this module plans everything else.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.periods import month_of, period_days

from .life import assign_life, review_rounds
from .twin import TWIN_TAIL_DAYS, establish_data, twin_work
from .works import Work, gas_data
from .world import PlannedZone, Project, World

TZ = ZoneInfo("Asia/Shanghai")
RISK_SETS: list[list[str]] = [
    ["hot_work"],
    ["hot_work", "work_at_height"],
    ["confined_space"],
    ["lifting"],
    ["lifting", "work_at_height"],
    ["work_at_height"],
    ["temp_electricity"],
    ["excavation"],
    ["road_breaking"],
    ["blind_plate"],
]
MILESTONES = ["foundation_completed", "pipeline_welded", "equipment_installed", "pressure_tested"]


def at(d: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(d, time(hh, mm), TZ)


@dataclass(order=True)
class Action:
    """One event to publish. ``zone_key`` is resolved to the zone id the service assigned."""

    at: datetime
    seq: int
    type: str = field(compare=False)
    data: dict[str, Any] = field(compare=False)
    key: str | None = field(compare=False, default=None)
    zone_key: str | None = field(compare=False, default=None)
    note: str = field(compare=False, default="")
    # Who sends it (a member id, PO0001, a publisher's client id); None: the player decides.
    actor: str | None = field(compare=False, default=None)


@dataclass
class GroundTruth:
    """What the simulator did and what the services must therefore say."""

    key_projects: list[str] = field(default_factory=list)
    non_key_projects: list[str] = field(default_factory=list)
    zones_by_mode: dict[str, int] = field(default_factory=dict)
    # zone key -> rules that must be unmet (every other rule must be met)
    unmet_rules: dict[str, set[str]] = field(default_factory=dict)
    # zone key -> rules of 三会一课 / organisational life judged at the month's close, and the
    # ones it must have missed (issue 19; they count in the party-building indicator)
    org_life_due: dict[str, set[str]] = field(default_factory=dict)
    org_life_unmet: dict[str, set[str]] = field(default_factory=dict)
    # permit id -> reasons it must have been blocked with at some point (empty: never blocked)
    blocked_reasons: dict[str, set[str]] = field(default_factory=dict)
    rejected_permits: set[str] = field(default_factory=set)  # rejected, then resubmitted
    suspended_permits: dict[str, str] = field(default_factory=dict)  # permit id -> cause
    grades: dict[str, str | None] = field(default_factory=dict)  # permit id -> expected grade
    revised: dict[str, bool] = field(default_factory=dict)  # permit id -> approvals voided
    cancelled: set[str] = field(default_factory=set)
    interrupted: dict[str, bool] = field(default_factory=dict)  # permit id -> gas re-test needed
    extended: set[str] = field(default_factory=set)
    extension_refused: set[str] = field(default_factory=set)
    handovers: set[str] = field(default_factory=set)  # acknowledged in time
    completion_refused: set[str] = field(default_factory=set)
    conflicts: dict[str, str] = field(default_factory=dict)  # permit id -> conflict rule
    drawing_rounds: dict[str, int] = field(default_factory=dict)
    drawing_comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    drawing_last_revision: dict[str, datetime] = field(default_factory=dict)
    perfect_zones: list[str] = field(default_factory=list)
    troubled_zones: list[str] = field(default_factory=list)
    inspections: int = 0
    excellent: int = 0
    incidents: dict[str, int] = field(default_factory=dict)
    cost_saved_cny: float = 0.0
    days_saved: float = 0.0
    problems_raised: int = 0
    problems_resolved: int = 0
    activities: int = 0
    members: int = 0
    floating_members: int = 0
    units: int = 0
    works: dict[str, Work] = field(default_factory=dict)
    drawings: dict[str, str] = field(default_factory=dict)  # permit id -> zone key
    # The old route played (issue 19): twin works signed sequentially, twin zone key -> zone key
    twin_works: dict[str, Work] = field(default_factory=dict)
    twin_zones: dict[str, str] = field(default_factory=dict)
    # Improvements as the simulator made them: (cost before, after, days before, after) each
    improvements: list[tuple[float, float, float, float]] = field(default_factory=list)


@dataclass
class Plan:
    world: World
    start: date
    days: int
    actions: list[Action]
    truth: GroundTruth
    period: str

    @property
    def first_day(self) -> date:
        return self.start

    @property
    def last_day(self) -> date:
        return self.start + timedelta(days=self.days - 1)

    @property
    def clock_start(self) -> datetime:
        return at(self.start, 5, 0)

    @property
    def twin_end(self) -> datetime:
        """How long the clock may run on for the old route's permits still at a desk."""
        return at(self.last_day + timedelta(days=TWIN_TAIL_DAYS + 1), 0, 0)

    @property
    def clock_end(self) -> datetime:
        """Far enough past the month's end for the cadence check (24 h grace) and the assessment close."""
        _, month_end = period_days(month_of(self.last_day))
        return at(month_end + timedelta(days=4), 0, 0)


MONTHLY_ORG_LIFE = {"branch_committee_meeting", "party_group_meeting", "theme_party_day_on_fixed_day"}
QUARTERLY_ORG_LIFE = {"party_members_meeting", "party_class"}
YEARLY_ORG_LIFE = {"organisational_life_meeting", "member_appraisal"}


def org_life_due(period: str) -> set[str]:
    """The rules of 《中国共产党支部工作条例（试行）》 judged when a month closes: the monthly
    ones, the quarterly ones at a quarter's end, the yearly ones in December."""
    month = int(period[5:7])
    return (
        MONTHLY_ORG_LIFE
        | (QUARTERLY_ORG_LIFE if month % 3 == 0 else set())
        | (YEARLY_ORG_LIFE if month == 12 else set())
    )


def check_days(start: date, days: int) -> None:
    """The played days must end on the last day of a month: the clock then closes that month,
    and days left unplayed would count as activities nobody held (the ground truth knows
    only the played ones). ValueError names a start that works."""
    if days < 1:
        raise ValueError(f"at least one simulated day is needed, got {days}")
    last = start + timedelta(days=days - 1)
    _, month_end = period_days(month_of(last))
    if last != month_end:
        raise ValueError(
            f"the played days must end on a month's last day (the month is closed and checked): "
            f"{start.isoformat()} + {days} days ends on {last.isoformat()}; "
            f"for {days} days start on {(month_end - timedelta(days=days - 1)).isoformat()}"
        )


def build_plan(world: World, start: date, days: int, seed: int) -> Plan:
    check_days(start, days)
    month = _Month(world, start, days, random.Random(seed * 7919 + 1))
    month.projects()
    first_cobuild = next((i for i, z in enumerate(world.zones) if z.mode == "project_cobuild"), -1)
    for zi, z in enumerate(world.zones):
        zm = month.zone_month(z)
        month.cadence(zm)
        month.permits(zm, zi, first_cobuild)
        month.drawings(zm)
        month.site_facts(zm)
        if zi % 6 == 0 and zm.workdays:
            _improvement(zi, z, month.rng.choice(zm.workdays), month.add, month.truth, month.rng)
        month.evaluations(zm)
    truth = month.truth
    assign_life(list(truth.works.values()), truth, random.Random(seed * 104723 + 11))
    for w in truth.works.values():
        publish_work(w, month.add)
    plan_twins(world, start, month.last, month.add, truth)
    month.actions.sort()
    return Plan(world, start, days, month.actions, truth, month.period)


@dataclass
class _ZoneMonth:
    """One zone's month while it is planned."""

    z: PlannedZone
    first: date  # its first active day
    active_days: list[date]
    secretary: str
    open_problems: list[tuple[datetime, str]] = field(default_factory=list)  # (raised at, problem id)

    @property
    def key(self) -> str:
        return self.z.key

    @property
    def workdays(self) -> list[date]:
        return [d for d in self.active_days if d.weekday() < 6]


class _Month:
    """The month being planned: its calendar, the actions so far, the ground truth and the
    counters of works, drawings and problems (one seeded randomness, drawn in a fixed order)."""

    def __init__(self, world: World, start: date, days: int, rng: random.Random) -> None:
        self.world, self.start, self.rng = world, start, rng
        self.last = start + timedelta(days=days - 1)
        self.played = [start + timedelta(days=i) for i in range(days)]
        self.period = f"{self.last.year:04d}-{self.last.month:02d}"
        self.actions: list[Action] = []
        self.truth = GroundTruth()
        self._seq = iter(range(1, 10**9))
        self.work_n = self.drawing_n = self.problem_n = 0
        self.weeks: dict[tuple[int, int], list[date]] = {}
        for d in self.played:
            iso = d.isocalendar()
            self.weeks.setdefault((iso.year, iso.week), []).append(d)
        self.week_keys = sorted(self.weeks)

    def add(
        self,
        when: datetime,
        type_: str,
        data: dict[str, Any],
        key: str | None,
        zone_key: str | None = None,
        note: str = "",
    ) -> None:
        self.actions.append(Action(when, next(self._seq), type_, data, key, zone_key, note))

    def projects(self) -> None:
        """The projects (a late supervisor left out), the authorization register, the non-key projects."""
        start, truth, add = self.start, self.truth, self.add
        for z in self.world.zones:
            for p in z.projects:
                units = [u for u in p.units if not (z.supervision_joins_late and u.role == "supervision")]
                add(
                    at(start, 6),
                    "project.registered",
                    _registered(p, units),
                    p.project_id,
                    note=f"{p.name} registered",
                )
                truth.key_projects.append(p.project_id)
            truth.zones_by_mode[z.mode] = truth.zones_by_mode.get(z.mode, 0) + 1
            truth.members += len(z.people)
            truth.floating_members += sum(1 for m in z.people if m.floating)
        for approver in self.world.register:
            add(
                at(start, 5, 30),
                "authorization.registered",
                approver.as_event(at(start, 5, 30)),
                approver.member_id,
            )
        for p in self.world.non_key_projects:
            add(at(start, 6), "project.registered", _registered(p, p.units), p.project_id)
            truth.non_key_projects.append(p.project_id)
        truth.units = len({u.unit_id for z in self.world.zones for p in z.projects for u in p.units})

    def zone_month(self, z: PlannedZone) -> _ZoneMonth:
        """The zone's calendar and the rules it will miss on purpose."""
        first = self.start + timedelta(days=1) if z.supervision_joins_late else self.start
        if z.supervision_joins_late:
            supervision = {**z.supervision.as_event(), "zone_id": None}
            self.add(at(first, 6), "zone.add-unit", supervision, None, z.key, "supervision joins")
        unmet: set[str] = set()
        if z.miss_weekly_week is not None and len(self.week_keys) > 0:
            z.miss_weekly_week = self.week_keys[len(self.week_keys) // 2]
            unmet.add("weekly_meeting")
        if z.miss_theme_day:
            unmet.add("theme_party_day")
        self.truth.unmet_rules[z.key] = unmet
        t = self.truth
        (t.perfect_zones if z.perfect else t.troubled_zones if z.troubled else []).append(z.key)
        active = [d for d in self.played if d >= first]
        return _ZoneMonth(z, first, active, z.holders("secretary")[0].member_id)

    def attendees(self, z: PlannedZone) -> list[str]:
        everyone = [
            m.member_id
            for m in z.people
            if not (z.supervision_joins_late and m.zone_role == "supervision_engineer")
        ]
        if z.perfect:
            return everyone
        keep = [m for m in everyone if self.rng.random() < 0.75]
        return sorted(set(keep) | {z.holders("secretary")[0].member_id})

    def activity(
        self,
        zm: _ZoneMonth,
        d: date,
        kind: str,
        hm: tuple[int, int, int],
        topic: str,
        slot: str | None = None,
        raise_n: int = 0,
        resolve: bool = False,
    ) -> None:
        """One activity of the zone (``hm``: hour, minute, minutes long), the problems it raises
        and resolves (only problems raised before it)."""
        h, m, minutes = hm
        raised = []
        for _ in range(raise_n):
            self.problem_n += 1
            raised.append({"problem_id": f"PR{self.problem_n:05d}", "title": self.rng.choice(PROBLEMS)})
        resolved: list[str] = []
        begins = at(d, h, m)
        earlier = [p for p in zm.open_problems if p[0] < begins]
        if resolve and earlier:
            done = earlier[: self.rng.randint(1, len(earlier))]
            resolved = [pid for _, pid in done]
            for p in done:
                zm.open_problems.remove(p)
        zm.open_problems.extend((begins, p["problem_id"]) for p in raised)
        self.truth.problems_raised += len(raised)
        self.truth.problems_resolved += len(resolved)
        self.truth.activities += 1
        data: dict[str, Any] = {
            "activity_id": f"A-{zm.key}-{d.isoformat()}-{kind}-{slot or h}",
            "zone_id": None,
            "kind": kind,
            "started_at": begins.isoformat(),
            "ended_at": (begins + timedelta(minutes=minutes)).isoformat(),
            "location": f"{zm.z.region}项目部",
            "topic": topic,
            "organizer_member_id": zm.secretary,
            "attendee_member_ids": self.attendees(zm.z),
            "problems_raised": raised,
            "problems_resolved": resolved,
        }
        if slot:
            data["slot"] = slot
        self.add(begins + timedelta(minutes=minutes), "activity.record", data, None, zm.key)

    def cadence(self, zm: _ZoneMonth) -> None:
        """The six systems' activities, the ones the zone misses on purpose left out."""
        for d in zm.active_days:
            if d.weekday() < 6:
                self.activity(zm, d, "daily_checkin", (7, 30, 15), "早碰头：安全交底", slot="morning")
                self.activity(zm, d, "daily_checkin", (17, 30, 15), "晚碰头：当日复盘", slot="evening")
        for wk in self.week_keys:
            if wk == zm.z.miss_weekly_week:
                continue
            days_ = [d for d in self.weeks[wk] if d >= zm.first]
            if not days_:
                continue
            day = next((d for d in days_ if d.weekday() == 3), days_[0])
            self.activity(zm, day, "weekly_meeting", (16, 0, 60), "周例会", raise_n=1, resolve=True)
        active = zm.active_days
        if not active:
            return
        if len(active) > 1:
            self.activity(zm, active[1], "joint_meeting", (10, 0, 90), "联席会议：协调施工与生产", raise_n=2)
        if not zm.z.miss_theme_day:
            self.activity(
                zm, active[len(active) // 2], "theme_party_day", (14, 0, 120), "主题党日：重温入党誓词"
            )
        self.activity(zm, active[-1], "monthly_analysis", (15, 0, 60), "月分析会", resolve=True)
        if len(active) > 4:
            self.activity(zm, active[4], "party_history_class", (19, 0, 60), "党史小课堂")
        self.organisational_life(zm)

    def organisational_life(self, zm: _ZoneMonth) -> None:
        """The joint branch's 支委会 and 党小组会 of the month; its 主题党日 is the six systems' one
        (no fixed day set, so any day of the month keeps it). Quarterly and yearly rules falling
        due at this month's close are not played: missed, and the ground truth says so."""
        active = zm.active_days
        self.activity(zm, active[min(2, len(active) - 1)], "branch_committee_meeting", (19, 30, 60), "支委会")
        self.activity(zm, active[min(3, len(active) - 1)], "party_group_meeting", (20, 0, 45), "党小组会")
        due = org_life_due(self.period)
        played = {"branch_committee_meeting", "party_group_meeting"}
        if not zm.z.miss_theme_day:
            played.add("theme_party_day_on_fixed_day")
        self.truth.org_life_due[zm.key] = due
        self.truth.org_life_unmet[zm.key] = due - played

    def _next_work(self) -> int:
        self.work_n += 1
        return self.work_n

    def permits(self, zm: _ZoneMonth, zi: int, first_cobuild: int) -> None:
        """The zone's works, and the scenes some zones play (SIMOPS, a conflict at a distance, early
        work across the shift change, Sunday work, work before the zone is active)."""
        z, zk, workdays, rng, truth = zm.z, zm.key, zm.workdays, self.rng, self.truth
        self.daily_works(zm)
        if z.simops_pair and len(workdays) > 2:
            self.simops_pair(zm, workdays[2])
        if zi == first_cobuild and len(workdays) > 3:
            self.work_n = _conflict_at_distance(self.work_n, zk, z, workdays[3], self.add, truth, rng)
        if zi % 5 == 1 and workdays:
            _early_work(
                self._next_work(), zk, z, workdays[min(1, len(workdays) - 1)], truth, rng, miss=zi == 1
            )
        if z.sunday_work:
            sunday = next((d for d in zm.active_days if d.weekday() == 6), None)
            if sunday is not None:
                w = _work(self._next_work(), zk, z.projects[0], z, sunday, ["lifting"], rng)
                w.scenario = True
                _plan_work(w, self.add, truth, rng)
                truth.blocked_reasons[w.permit_id] = {"no_morning_checkin"}
                # The site holds an extra check-in at noon once the block is noticed.
                self.activity(zm, sunday, "daily_checkin", (13, 0, 15), "临时碰头：周日作业", slot="morning")
        if z.supervision_joins_late:
            w = _work(
                self._next_work(), zk, z.projects[0], z, self.start + timedelta(days=1), ["lifting"], rng
            )
            w.planned_at, w.scenario = at(self.start, 7), True
            _plan_work(w, self.add, truth, rng)
            truth.blocked_reasons[w.permit_id] = {"no_active_zone"}

    def daily_works(self, zm: _ZoneMonth) -> None:
        """Works on about half (co-build) or a third (alliance) of the working days; the incident's
        and the rejected permit's among them."""
        z, workdays, rng = zm.z, zm.workdays, self.rng
        chance = 0.5 if z.mode == "project_cobuild" else 0.3
        planned_days = [d for d in workdays if rng.random() < chance]
        incident = workdays[len(workdays) // 2] if z.minor_incident and workdays else None
        if incident is not None and incident not in planned_days:
            planned_days.append(incident)
        if z.rejected_permit and not planned_days and workdays:
            planned_days.append(workdays[0])
        rejected_done = False
        for d in sorted(planned_days):
            n = self._next_work()
            project = rng.choice(z.projects)
            risks = list(rng.choice(RISK_SETS))
            if d == incident:
                risks = ["hot_work"]
            elif z.rejected_permit and not rejected_done:
                risks = ["work_at_height"]  # rejected, resubmitted and signed again the same morning
            w = _work(n, zm.key, project, z, d, risks, rng)
            if d == incident:
                w.scenario, w.suspend_at, w.close_at = True, at(d, 11), at(d, 15, 30)
            if z.rejected_permit and not rejected_done:
                w.reject_by_supervision = rejected_done = True
            _plan_work(w, self.add, self.truth, rng)

    def simops_pair(self, zm: _ZoneMonth, d: date) -> None:
        """Two hot works in one area: the second waits for the first to close, then a fresh gas test."""
        z, rng, truth = zm.z, self.rng, self.truth
        project = z.projects[0]
        a = _work(self._next_work(), zm.key, project, z, d, ["hot_work"], rng)
        a.close_at, a.scenario = at(d, 12), True
        _plan_work(a, self.add, truth, rng, fail_first=False)
        b = _work(self._next_work(), zm.key, project, z, d, ["hot_work"], rng, area=a.area)
        b.planned_at, b.planned_start, b.planned_end, b.close_at = (
            at(d, 9, 30),
            at(d, 10),
            at(d, 14),
            at(d, 13, 30),
        )
        b.fresh_gas_after_close_of, b.scenario = a.work_id, True
        _plan_work(b, self.add, truth, rng, fail_first=False, gas_at=at(d, 9, 50))
        truth.blocked_reasons[b.permit_id].add("simops_conflict")
        truth.conflicts[b.permit_id] = "same_area_hot_work"

    def drawings(self, zm: _ZoneMonth) -> None:
        """A co-build zone's drawing review each Tuesday, of one to three rounds."""
        z = zm.z
        if z.mode != "project_cobuild":
            return
        project_id = z.projects[0].project_id
        for d in zm.active_days:
            if d.weekday() != 1:
                continue
            self.drawing_n += 1
            drawing_id = f"DWG{self.drawing_n:04d}"
            submitted = {
                "drawing_id": drawing_id,
                "project_id": project_id,
                "title": self.rng.choice(["工艺管线图", "设备基础图", "电气接线图", "结构施工图"]),
                "submitted_by_unit_id": z.construction.unit_id,
            }
            self.add(at(d, 10), "drawing.submitted", submitted, project_id)
            self.truth.drawings[f"DR-{drawing_id}"] = zm.key
            self.truth.blocked_reasons[f"DR-{drawing_id}"] = set()
            rounds = self.rng.choice([1, 2, 2, 3])
            review_rounds(drawing_id, z, d, rounds, self.add, self.truth, project_id)

    def site_facts(self, zm: _ZoneMonth) -> None:
        """Quality inspections, the incident and the near miss, the projects' milestones."""
        z, workdays, rng, truth, add = zm.z, zm.workdays, self.rng, self.truth, self.add
        for d in workdays:
            for _ in range(rng.choice([0, 1, 1, 2])):
                self.inspection(z, d)
        if z.minor_incident and workdays:
            d = workdays[len(workdays) // 2]
            w = next(w for w in truth.works.values() if w.zone_key == zm.key and w.planned_start.date() == d)
            truth.suspended_permits[w.permit_id] = "incident"
            _incident(
                add, truth, w.project_id, w.area, "minor", "injury", at(d, 11), "高处作业人员手部轻微划伤"
            )
        if z.near_miss and workdays:
            d = workdays[min(3, len(workdays) - 1)]
            _incident(
                add,
                truth,
                z.projects[0].project_id,
                "库房",
                "near_miss",
                "equipment",
                at(d, 15),
                "吊装索具磨损，及时发现更换",
            )
        if workdays:
            for p in z.projects:
                self.milestone(z, p, rng.choice(workdays))

    def inspection(self, z: PlannedZone, d: date) -> None:
        rng, truth = self.rng, self.truth
        project = rng.choice(z.projects)
        truth.inspections += 1
        result = "excellent"
        if z.quality_slip and rng.random() < 0.35:
            result = "pass"
        if result == "excellent":
            truth.excellent += 1
        self.add(
            at(d, 14, rng.choice([0, 15, 30, 45])),
            "quality.procedure-inspected",
            {
                "inspection_id": f"QI{truth.inspections:05d}",
                "project_id": project.project_id,
                "procedure_code": rng.choice(["WELD", "NDT", "COAT", "PRESS", "CIVIL"])
                + f"-{rng.randint(1, 40):02d}",
                "result": result,
                "inspected_at": at(d, 14).isoformat(),
            },
            project.project_id,
        )

    def milestone(self, z: PlannedZone, p: Project, d: date) -> None:
        late = z.late_milestone and p is z.projects[0]
        planned_date = d - timedelta(days=3) if late and d - timedelta(days=3) >= self.start else d
        if late and planned_date == d:
            planned_date = d - timedelta(days=1)
        data = {
            "project_id": p.project_id,
            "milestone": self.rng.choice(MILESTONES),
            "planned_date": planned_date.isoformat()
            if late
            else (d + timedelta(days=self.rng.randint(0, 5))).isoformat(),
            "actual_date": d.isoformat(),
        }
        self.add(at(d, 10), "project.milestone-reached", data, p.project_id)

    def evaluations(self, zm: _ZoneMonth) -> None:
        """ "2+1": host rates construction, construction rates host, management overall."""
        z = zm.z
        if not zm.active_days:
            return
        lo, hi = (90, 98) if z.perfect else (70, 85)
        roles = [("host", z.host), ("construction", z.construction)]
        if not z.missing_management_evaluation:
            roles.append(("management", z.management))
        for role, unit in roles:
            self.add(
                at(self.last, 18),
                "evaluation.submit",
                {
                    "evaluation_id": f"EV-{zm.key}-{self.period}-{role}",
                    "zone_id": None,
                    "period": self.period,
                    "evaluator_unit_id": unit.unit_id,
                    "evaluator_role": role,
                    "score": float(self.rng.randint(lo, hi)),
                },
                None,
                zm.key,
            )


PROBLEMS = [
    "施工占道影响生产巡检",
    "临时用电接入点不足",
    "管线交叉需停产配合",
    "材料堆放场地紧张",
    "夜间施工噪声影响驻地",
    "外雇工入场安全培训排期",
]


def _registered(p: Project, units: list[Any]) -> dict[str, Any]:
    return {
        "project_id": p.project_id,
        "name": p.name,
        "category": p.category,
        "scale": p.scale,
        "key_project": p.key_project,
        "region": p.region,
        "planned_start": p.planned_start.isoformat(),
        "planned_end": p.planned_end.isoformat(),
        "units": [u.as_event() for u in units],
    }


def _work(
    n: int,
    zk: str,
    project: Project,
    z: PlannedZone,
    d: date,
    risks: list[str],
    rng: random.Random,
    area: str | None = None,
) -> Work:
    contractor = rng.choice(z.subcontractors) if z.subcontractors and rng.random() < 0.3 else z.construction
    gas = bool({"hot_work", "confined_space"} & set(risks))
    end = at(d, 16) if gas else at(d, 17)
    w = Work(
        work_id=f"W{n:05d}",
        zone_key=zk,
        project_id=project.project_id,
        area=area or f"{project.project_id}-{rng.choice('ABCDEFGH')}{n}区",
        risk_types=risks,
        contractor_unit_id=contractor.unit_id,
        planned_at=at(d, 7),
        planned_start=at(d, 9),
        planned_end=end,
        close_at=end - timedelta(minutes=30) if rng.random() < 0.85 else None,
    )
    # GB 30871-2022's facts: heights and loads grade the permits (§8.1.1, §9.1); a hot work now and
    # then in a fire/explosion area (一级) or on running equipment there (特级, §5.1.2–5.1.3).
    if "work_at_height" in risks:
        w.height_m = float(rng.choice([3, 4, 8, 12, 18, 35]))
    if "lifting" in risks:
        w.load_t = float(rng.choice([15, 25, 35, 50, 80, 120]))
    if "hot_work" in risks:
        roll = rng.random()
        if roll < 0.08:
            w.location = {"area": w.area, "fire_explosion_area": True, "running_equipment": True}
        elif roll < 0.25:
            w.location = {"area": w.area, "fire_explosion_area": True}
    if {"blind_plate", "confined_space"} & set(risks):
        w.isolation_kind = "blind_plate"  # §4.2 b, §6.1: isolated by a blind plate, confirmed before the work
    if rng.random() < 0.7:
        w.guardian_in_plan = z.guardians[0].member_id  # else the lead names one on site
    return w


def _plan_work(
    w: Work,
    add: Any,
    truth: GroundTruth,
    rng: random.Random,
    fail_first: bool | None = None,
    gas_at: datetime | None = None,
) -> None:
    """Register a work and what its permits must go through; published later (``publish_work``),
    once the site life of every work is decided."""
    truth.works[w.work_id] = w
    for cls in w.classes:
        truth.blocked_reasons[w.pid(cls)] = set()
        truth.grades[w.pid(cls)] = w.expected_grade(cls)
    if w.reject_by_supervision:
        truth.rejected_permits.add(w.permit_id)
    if not w.needs_gas:
        return
    w.gas_at = gas_at or w.planned_start - timedelta(minutes=15)
    w.gas_fail_first = rng.random() < 0.12 if fail_first is None else fail_first
    # Signatures come 40-100 minutes after the 07:00 request: the gas test at 08:45 is later, so
    # every gas-tested permit waits on it first.
    for pid in w.gas_permits():
        if not (w.reject_by_supervision and pid == w.permit_id):
            truth.blocked_reasons[pid].add("gas_test_missing")
            if w.gas_fail_first:
                truth.blocked_reasons[pid].add("gas_test_failed")


def publish_work(w: Work, add: Any) -> None:
    """The enterprise's events of one work: the plan, its isolation, gas tests and monitoring
    readings, a re-plan or a cancellation."""
    water_seal = w.water_seal_replan_at is not None
    add(w.planned_at, "work.planned", w.plan_data("water_seal" if water_seal else None), w.project_id)
    if w.isolation_kind:
        _isolation(
            w, add, w.planned_at + timedelta(minutes=20), "water_seal" if water_seal else "blind_plate"
        )
    if w.water_seal_replan_at is not None:
        add(w.water_seal_replan_at, "work.planned", w.plan_data(), w.project_id)
        _isolation(w, add, w.water_seal_replan_at + timedelta(minutes=10), "blind_plate", lock="B")
    if w.replan_at is not None:
        moved = {**w.plan_data(), "planned_start": (w.planned_start + timedelta(hours=1)).isoformat()}
        add(w.replan_at, "work.planned", moved, w.project_id)
    if w.cancel_at is not None:
        add(
            w.cancel_at,
            "work.cancelled",
            {
                "work_id": w.work_id,
                "project_id": w.project_id,
                "reason": "方案调整",
                "cancelled_at": w.cancel_at.isoformat(),
            },
            w.project_id,
        )
    if w.isolation_kind and w.close_at is not None:
        add(
            w.close_at - timedelta(minutes=10),
            "isolation.removed",
            {
                "isolation_id": w.isolation_id,
                "project_id": w.project_id,
                "removed_by": "属地操作工",
                "removed_at": (w.close_at - timedelta(minutes=10)).isoformat(),
            },
            w.project_id,
        )
    if w.interrupt is not None and w.needs_gas and w.interrupt[1] - w.interrupt[0] > timedelta(minutes=60):
        back = w.interrupt[1] - timedelta(minutes=20)  # the new analysis before the work goes on
        add(back, "safety.gas-test-recorded", gas_data(w, back, suffix="R"), w.project_id)
    if w.extend is not None and w.needs_gas:
        when = w.extend[0] - timedelta(minutes=20)
        add(when, "safety.gas-test-recorded", gas_data(w, when, suffix="X"), w.project_id)
    if not w.needs_gas or w.gas_at is None:
        return
    if w.gas_fail_first:
        add(w.gas_at, "safety.gas-test-recorded", gas_data(w, w.gas_at, lel=15.0), w.project_id)
        add(
            w.gas_at + timedelta(minutes=30),
            "safety.gas-test-recorded",
            gas_data(w, w.gas_at + timedelta(minutes=30)),
            w.project_id,
        )
    else:
        add(w.gas_at, "safety.gas-test-recorded", gas_data(w, w.gas_at), w.project_id)
    for i, when in enumerate(w.readings):
        if w.miss_monitoring and i == 0:
            continue  # the reading that was not taken (§6.5): the permit is suspended
        add(when, "safety.gas-test-recorded", gas_data(w, when), w.project_id)


def _conflict_at_distance(
    work_n: int, zk: str, z: PlannedZone, d: date, add: Any, truth: GroundTruth, rng: random.Random
) -> int:
    """A blind-plate job and, 20 m away, a hot work (GB 30871-2022 §7.6: none within 30 m): the hot
    work waits until the blind plate is back, then a fresh gas test and it goes."""
    project = z.projects[0]
    bp = _work(work_n + 1, zk, project, z, d, ["blind_plate"], rng)
    bp.location = {"area": bp.area, "x_m": 100.0, "y_m": 50.0, "pipeline_id": f"PL-{project.project_id}"}
    bp.close_at, bp.scenario = at(d, 12), True
    _plan_work(bp, add, truth, rng)
    hw = _work(work_n + 2, zk, project, z, d, ["hot_work"], rng)
    hw.location = {"area": hw.area, "x_m": 120.0, "y_m": 50.0}
    hw.planned_at, hw.planned_start, hw.planned_end = at(d, 9, 30), at(d, 10), at(d, 14)
    hw.close_at, hw.scenario = at(d, 13, 30), True
    hw.fresh_gas_after_close_of = bp.work_id
    _plan_work(hw, add, truth, rng, fail_first=False, gas_at=at(d, 9, 50))
    truth.blocked_reasons[hw.permit_id].add("simops_conflict")
    truth.conflicts[hw.permit_id] = "hot_work_near_blind_plate"
    return work_n + 2


def _early_work(
    n: int, zk: str, z: PlannedZone, d: date, truth: GroundTruth, rng: random.Random, miss: bool
) -> None:
    """Work at height from 06:00 across the 08:00 shift change: the outgoing and incoming work lead
    and guardian acknowledge the handover (or, once, nobody does and the permit is suspended)."""
    w = _work(n, zk, z.projects[0], z, d, ["work_at_height"], rng)
    w.height_m = 4.0
    w.planned_at, w.planned_start, w.planned_end = at(d, 5), at(d, 6), at(d, 11)
    w.close_at = at(d, 10, 30)
    w.handover, w.miss_handover, w.scenario = True, miss, True
    _plan_work(w, None, truth, rng)
    truth.blocked_reasons[w.permit_id] = {"no_morning_checkin"}  # the check-in is at 07:30
    if miss:
        truth.suspended_permits[w.permit_id] = "handover_missing"
    else:
        truth.handovers.add(w.permit_id)


def _isolation(w: Work, add: Any, when: datetime, kind: str, lock: str = "A") -> None:
    add(
        when,
        "isolation.applied",
        {
            "isolation_id": w.isolation_id,
            "project_id": w.project_id,
            "kind": kind,
            "point": "进出料管线法兰",
            "lock_id": f"LOCK-{w.work_id}-{lock}",
            "applied_by": "属地操作工",
            "applied_at": when.isoformat(),
        },
        w.project_id,
    )


def _incident(
    add: Any,
    truth: GroundTruth,
    project_id: str,
    area: str,
    severity: str,
    kind: str,
    when: datetime,
    text: str,
) -> None:
    truth.incidents[severity] = truth.incidents.get(severity, 0) + 1
    add(
        when,
        "safety.incident-reported",
        {
            "incident_id": f"INC-{project_id}-{when.strftime('%m%d%H')}",
            "project_id": project_id,
            "area": area,
            "severity": severity,
            "kind": kind,
            "occurred_at": when.isoformat(),
            "description": text,
        },
        project_id,
    )


def plan_twins(world: World, start: date, last: date, add: Any, truth: GroundTruth) -> None:
    """The old route's twin (``twin.py``): its projects (not key projects), its zones established
    by the party office with ``signing: sequential``, a morning check-in every day while its
    permits may still be at a desk (a permit needs the check-in of its work's planned start day,
    Sunday work included), and a twin of every work planned at the same moment."""
    days = [start + timedelta(days=i) for i in range((last - start).days + TWIN_TAIL_DAYS + 1)]
    for real, twin in zip(world.zones, world.twins, strict=True):
        truth.twin_zones[twin.key] = real.key
        for p in twin.projects:
            add(at(start, 6), "project.registered", _registered(p, p.units), p.project_id)
        data = establish_data(twin, real.key)
        add(at(start, 6, 10), "zone.establish", data, data["zone_id"], note=f"{data['name']} established")
        for d in days:
            add(at(d, 7, 45), "activity.record", _twin_check_in(twin, d), None, twin.key)
    twins = {real.key: twin for real, twin in zip(world.zones, world.twins, strict=True)}
    for w in list(truth.works.values()):
        tw = twin_work(w, twins[w.zone_key])
        truth.twin_works[tw.work_id] = tw
        add(tw.planned_at, "work.planned", tw.plan_data(), tw.project_id)
        if tw.isolation_kind:
            _isolation(tw, add, tw.planned_at + timedelta(minutes=20), tw.isolation_kind)


# Method changes on site (issue 19): what was done before, what is done now, at what cost and in
# how many days each way. The first is the seed's own: glued mesh instead of chipping the
# plaster down to the brick, CNY 550,000 and 60 days saved.
METHODS = [
    ("砸皮露砖", "胶粘挂网", 1_180_000.0, 630_000.0, 95.0, 35.0),
    ("现场焊接管段", "预制化管段", 420_000.0, 300_000.0, 28.0, 20.0),
    ("砌筑围堰", "装配式围堰", 160_000.0, 90_000.0, 12.0, 5.0),
    ("人工开挖", "机械开挖配合人工清底", 240_000.0, 170_000.0, 18.0, 10.0),
]


def _improvement(zi: int, z: PlannedZone, d: date, add: Any, truth: GroundTruth, rng: random.Random) -> None:
    """An improvement fact with its cost and days before and after: the assessment derives the
    saving from them (the declared result agrees), so the benefit is not an input read back."""
    before, after, cost_before, cost_after, days_before, days_after = METHODS[
        0 if zi == 0 else rng.randrange(1, 4)
    ]
    if zi:
        scale = rng.randint(5, 15) / 10  # the same change on a smaller or larger job
        cost_before, cost_after = round(cost_before * scale), round(cost_after * scale)
    saved, days = cost_before - cost_after, days_before - days_after
    truth.cost_saved_cny += saved
    truth.days_saved += days
    truth.improvements.append((cost_before, cost_after, days_before, days_after))
    add(
        at(d, 11),
        "improvement.recorded",
        {
            "improvement_id": f"IMP-{z.key}-{d.isoformat()}",
            "project_id": z.projects[0].project_id,
            "title": f"施工方法优化：{after}替代{before}",
            "cost_saved_cny": saved,
            "days_saved": days,
            "method_before": before,
            "method_after": after,
            "cost_before_cny": cost_before,
            "cost_after_cny": cost_after,
            "days_before": days_before,
            "days_after": days_after,
        },
        z.projects[0].project_id,
    )


def _twin_check_in(twin: PlannedZone, d: date) -> dict[str, Any]:
    return {
        "activity_id": f"A-{twin.key}-{d.isoformat()}-daily_checkin-morning",
        "zone_id": None,
        "kind": "daily_checkin",
        "slot": "morning",
        "started_at": at(d, 7, 30).isoformat(),
        "ended_at": at(d, 7, 45).isoformat(),
        "location": f"{twin.region}项目部",
        "topic": "早碰头：安全交底",
        "organizer_member_id": twin.holders("secretary")[0].member_id,
        "attendee_member_ids": [m.member_id for m in twin.people],
        "problems_raised": [],
        "problems_resolved": [],
    }
