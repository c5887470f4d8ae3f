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
    def clock_end(self) -> datetime:
        """Far enough past the month's end for the cadence check (24 h grace) and the assessment close."""
        _, month_end = period_days(month_of(self.last_day))
        return at(month_end + timedelta(days=4), 0, 0)


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
    rng = random.Random(seed * 7919 + 1)
    seq = iter(range(1, 10**9))
    actions: list[Action] = []
    truth = GroundTruth()
    check_days(start, days)
    last = start + timedelta(days=days - 1)
    played = [start + timedelta(days=i) for i in range(days)]
    period = f"{last.year:04d}-{last.month:02d}"

    def add(
        when: datetime,
        type_: str,
        data: dict[str, Any],
        key: str | None,
        zone_key: str | None = None,
        note: str = "",
    ) -> None:
        actions.append(Action(when, next(seq), type_, data, key, zone_key, note))

    # ---------------------------------------------------------------- projects
    for z in world.zones:
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
    for approver in world.register:
        add(
            at(start, 5, 30),
            "authorization.registered",
            approver.as_event(at(start, 5, 30)),
            approver.member_id,
        )
    for p in world.non_key_projects:
        add(at(start, 6), "project.registered", _registered(p, p.units), p.project_id)
        truth.non_key_projects.append(p.project_id)
    truth.units = len({u.unit_id for z in world.zones for p in z.projects for u in p.units})

    weeks: dict[tuple[int, int], list[date]] = {}
    for d in played:
        iso = d.isocalendar()
        weeks.setdefault((iso.year, iso.week), []).append(d)
    week_keys = sorted(weeks)

    work_n = 0
    drawing_n = 0
    problem_n = 0
    first_cobuild = next((i for i, z in enumerate(world.zones) if z.mode == "project_cobuild"), -1)
    for zi, z in enumerate(world.zones):
        zk = z.key
        first = start + timedelta(days=1) if z.supervision_joins_late else start
        if z.supervision_joins_late:
            day2 = start + timedelta(days=1)
            add(
                at(day2, 6),
                "zone.add-unit",
                {**z.supervision.as_event(), "zone_id": None},
                None,
                zk,
                "supervision joins",
            )
        active_days = [d for d in played if d >= first]
        unmet: set[str] = set()
        if z.miss_weekly_week is not None and len(week_keys) > 0:
            z.miss_weekly_week = week_keys[len(week_keys) // 2]
            unmet.add("weekly_meeting")
        if z.miss_theme_day:
            unmet.add("theme_party_day")
        truth.unmet_rules[zk] = unmet
        (truth.perfect_zones if z.perfect else truth.troubled_zones if z.troubled else []).append(zk)
        secretary = z.holders("secretary")[0]

        def attendees(z: PlannedZone = z) -> list[str]:
            everyone = [
                m.member_id
                for m in z.people
                if not (z.supervision_joins_late and m.zone_role == "supervision_engineer")
            ]
            if z.perfect:
                return everyone
            keep = [m for m in everyone if rng.random() < 0.75]
            return sorted(set(keep) | {z.holders("secretary")[0].member_id})

        open_problems: list[tuple[datetime, str]] = []  # (raised at, problem id)

        def activity(
            d: date,
            kind: str,
            h: int,
            m: int,
            minutes: int,
            topic: str,
            slot: str | None = None,
            raise_n: int = 0,
            resolve: bool = False,
            z: PlannedZone = z,
            zk: str = zk,
            open_problems: list[tuple[datetime, str]] = open_problems,
            organizer: str = secretary.member_id,
        ) -> None:
            nonlocal problem_n
            raised = []
            for _ in range(raise_n):
                problem_n += 1
                raised.append({"problem_id": f"PR{problem_n:05d}", "title": rng.choice(PROBLEMS)})
            resolved: list[str] = []
            start = at(d, h, m)
            # Only problems raised before this activity can be resolved at it.
            earlier = [p for p in open_problems if p[0] < start]
            if resolve and earlier:
                done = earlier[: rng.randint(1, len(earlier))]
                resolved = [pid for _, pid in done]
                for p in done:
                    open_problems.remove(p)
            open_problems.extend((start, p["problem_id"]) for p in raised)
            truth.problems_raised += len(raised)
            truth.problems_resolved += len(resolved)
            truth.activities += 1
            data: dict[str, Any] = {
                "activity_id": f"A-{zk}-{d.isoformat()}-{kind}-{slot or h}",
                "zone_id": None,
                "kind": kind,
                "started_at": at(d, h, m).isoformat(),
                "ended_at": (at(d, h, m) + timedelta(minutes=minutes)).isoformat(),
                "location": f"{z.region}项目部",
                "topic": topic,
                "organizer_member_id": organizer,
                "attendee_member_ids": attendees(),
                "problems_raised": raised,
                "problems_resolved": resolved,
            }
            if slot:
                data["slot"] = slot
            add(at(d, h, m) + timedelta(minutes=minutes), "activity.record", data, None, zk)

        for d in active_days:
            if d.weekday() < 6:
                activity(d, "daily_checkin", 7, 30, 15, "早碰头：安全交底", slot="morning")
                activity(d, "daily_checkin", 17, 30, 15, "晚碰头：当日复盘", slot="evening")
        for wk in week_keys:
            if wk == z.miss_weekly_week:
                continue
            days_ = [d for d in weeks[wk] if d >= first]
            if not days_:
                continue
            day = next((d for d in days_ if d.weekday() == 3), days_[0])
            activity(day, "weekly_meeting", 16, 0, 60, "周例会", raise_n=1, resolve=True)
        if active_days:
            if len(active_days) > 1:
                activity(active_days[1], "joint_meeting", 10, 0, 90, "联席会议：协调施工与生产", raise_n=2)
            if not z.miss_theme_day:
                activity(
                    active_days[len(active_days) // 2],
                    "theme_party_day",
                    14,
                    0,
                    120,
                    "主题党日：重温入党誓词",
                )
            activity(active_days[-1], "monthly_analysis", 15, 0, 60, "月分析会", resolve=True)
            if len(active_days) > 4:
                activity(active_days[4], "party_history_class", 19, 0, 60, "党史小课堂")

        # ------------------------------------------------------------ permits
        workdays = [d for d in active_days if d.weekday() < 6]
        chance = 0.5 if z.mode == "project_cobuild" else 0.3
        planned_days = [d for d in workdays if rng.random() < chance]
        if z.minor_incident and workdays and workdays[len(workdays) // 2] not in planned_days:
            planned_days.append(workdays[len(workdays) // 2])
        if z.rejected_permit and not planned_days and workdays:
            planned_days.append(workdays[0])
        rejected_done = False
        for d in sorted(planned_days):
            work_n += 1
            project = rng.choice(z.projects)
            risks = list(rng.choice(RISK_SETS))
            incident_day = z.minor_incident and workdays and d == workdays[len(workdays) // 2]
            if incident_day:
                risks = ["hot_work"]
            elif z.rejected_permit and not rejected_done:
                risks = ["work_at_height"]  # rejected, resubmitted and signed again the same morning
            w = _work(work_n, zk, project, z, d, risks, rng)
            if incident_day:
                w.scenario = True
                w.suspend_at = at(d, 11)
                w.close_at = at(d, 15, 30)
            if z.rejected_permit and not rejected_done:
                w.reject_by_supervision = True
                rejected_done = True
            _plan_work(w, add, truth, rng)
        if z.simops_pair and len(workdays) > 2:
            d = workdays[2]
            project = z.projects[0]
            work_n += 1
            a = _work(work_n, zk, project, z, d, ["hot_work"], rng)
            a.close_at, a.scenario = at(d, 12), True
            _plan_work(a, add, truth, rng, fail_first=False)
            work_n += 1
            b = _work(work_n, zk, project, z, d, ["hot_work"], rng, area=a.area)
            b.planned_at = at(d, 9, 30)
            b.planned_start = at(d, 10)
            b.planned_end = at(d, 14)
            b.close_at = at(d, 13, 30)
            b.fresh_gas_after_close_of, b.scenario = a.work_id, True
            _plan_work(b, add, truth, rng, fail_first=False, gas_at=at(d, 9, 50))
            truth.blocked_reasons[b.permit_id].add("simops_conflict")
            truth.conflicts[b.permit_id] = "same_area_hot_work"
        if zi == first_cobuild and len(workdays) > 3:
            work_n = _conflict_at_distance(work_n, zk, z, workdays[3], add, truth, rng)
        if zi % 5 == 1 and workdays:
            work_n += 1
            _early_work(work_n, zk, z, workdays[min(1, len(workdays) - 1)], truth, rng, miss=zi == 1)
        if z.sunday_work:
            sunday = next((d for d in active_days if d.weekday() == 6), None)
            if sunday is not None:
                work_n += 1
                w = _work(work_n, zk, z.projects[0], z, sunday, ["lifting"], rng)
                w.scenario = True
                _plan_work(w, add, truth, rng)
                truth.blocked_reasons[w.permit_id] = {"no_morning_checkin"}
                # The site holds an extra check-in at noon once the block is noticed.
                activity(sunday, "daily_checkin", 13, 0, 15, "临时碰头：周日作业", slot="morning")
        if z.supervision_joins_late:
            work_n += 1
            w = _work(work_n, zk, z.projects[0], z, start + timedelta(days=1), ["lifting"], rng)
            w.planned_at, w.scenario = at(start, 7), True
            _plan_work(w, add, truth, rng)
            truth.blocked_reasons[w.permit_id] = {"no_active_zone"}
        if z.mode == "project_cobuild":
            for d in active_days:
                if d.weekday() == 1:
                    drawing_n += 1
                    drawing_id = f"DWG{drawing_n:04d}"
                    add(
                        at(d, 10),
                        "drawing.submitted",
                        {
                            "drawing_id": drawing_id,
                            "project_id": z.projects[0].project_id,
                            "title": rng.choice(["工艺管线图", "设备基础图", "电气接线图", "结构施工图"]),
                            "submitted_by_unit_id": z.construction.unit_id,
                        },
                        z.projects[0].project_id,
                    )
                    truth.drawings[f"DR-{drawing_id}"] = zk
                    truth.blocked_reasons[f"DR-{drawing_id}"] = set()
                    rounds = rng.choice([1, 2, 2, 3])
                    review_rounds(drawing_id, z, d, rounds, add, truth, z.projects[0].project_id)

        # ------------------------------------------------------------ HSE, quality, schedule, benefit
        for d in workdays:
            for _ in range(rng.choice([0, 1, 1, 2])):
                project = rng.choice(z.projects)
                truth.inspections += 1
                result = "excellent"
                if z.quality_slip and rng.random() < 0.35:
                    result = "pass"
                if result == "excellent":
                    truth.excellent += 1
                add(
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
        if z.minor_incident and workdays:
            d = workdays[len(workdays) // 2]
            w = next(w for w in truth.works.values() if w.zone_key == zk and w.planned_start.date() == d)
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
                d = rng.choice(workdays)
                late = z.late_milestone and p is z.projects[0]
                planned_date = d - timedelta(days=3) if late and d - timedelta(days=3) >= start else d
                if late and planned_date == d:
                    planned_date = d - timedelta(days=1)
                add(
                    at(d, 10),
                    "project.milestone-reached",
                    {
                        "project_id": p.project_id,
                        "milestone": rng.choice(MILESTONES),
                        "planned_date": planned_date.isoformat()
                        if late
                        else (d + timedelta(days=rng.randint(0, 5))).isoformat(),
                        "actual_date": d.isoformat(),
                    },
                    p.project_id,
                )
        if zi % 6 == 0 and workdays:
            big = zi == 0
            cny, saved = (
                (550_000.0, 60.0) if big else (float(rng.randint(2, 30) * 10_000), float(rng.randint(1, 10)))
            )
            truth.cost_saved_cny += cny
            truth.days_saved += saved
            add(
                at(rng.choice(workdays), 11),
                "improvement.recorded",
                {
                    "project_id": z.projects[0].project_id,
                    "title": "施工方法优化：预制化管段" if big else "工序优化",
                    "cost_saved_cny": cny,
                    "days_saved": saved,
                },
                z.projects[0].project_id,
            )
        # "2+1": host rates construction, construction rates host, management overall.
        if active_days:
            lo, hi = (90, 98) if z.perfect else (70, 85)
            roles = [("host", z.host), ("construction", z.construction)]
            if not z.missing_management_evaluation:
                roles.append(("management", z.management))
            for role, unit in roles:
                add(
                    at(last, 18),
                    "evaluation.submit",
                    {
                        "evaluation_id": f"EV-{zk}-{period}-{role}",
                        "zone_id": None,
                        "period": period,
                        "evaluator_unit_id": unit.unit_id,
                        "evaluator_role": role,
                        "score": float(rng.randint(lo, hi)),
                    },
                    None,
                    zk,
                )
    assign_life(list(truth.works.values()), truth, random.Random(seed * 104723 + 11))
    for w in truth.works.values():
        publish_work(w, add)
    actions.sort()
    return Plan(world, start, days, actions, truth, period)


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
