"""GB 30871-2022's special work classes: one permit per class, grades, approvers, validity caps.

- One permit per special work of a job (§4.6); a job with no special risk gets one ``general``
  permit (SPEC §3.3's work permit).
- Hot work (§5.1): 特级 for running equipment in a fire/explosion area or inside a major-hazard
  tank farm's dike (§5.1.2), 一级 for other work in a fire/explosion area and on pipe racks
  (§5.1.3), else 二级 (§5.1.4); raised one grade when the window touches the night, a rest day or
  a public holiday (§5.1.1) or outdoors in wind of force 5 or more (§5.2.15).
- Work at height (§8.1.1): Ⅰ 2 ≤ h ≤ 5 m, Ⅱ 5 < h ≤ 15, Ⅲ 15 < h ≤ 30, Ⅳ h > 30; under 2 m it is not
  work at height (§3.8). Without ``height_m`` the plan is taken as Ⅰ (the least it can be).
- Lifting (§9.1): 一级 m > 100 t, 二级 40 ≤ m ≤ 100, 三级 m < 40; under 10 t no lifting permit
  (Appendix B note 3). Without ``load_t``: 三级.
- The approver of Table B.1: 特级 hot work the enterprise's leader in charge, 一级 the safety
  department, 二级 / confined space / blind plate / height Ⅰ the unit where the work is (the host
  unit's representative on the roster); height Ⅱ–Ⅲ, lifting 二/三级, excavation and road closure
  the unit's professional department; height Ⅳ and lifting 一级 the plant manager or chief
  engineer; temporary power the power supply unit.
- Validity caps (§5.1.5, §6.10, §8.2.11, §10.8): 特级/一级 hot work 8 h, 二级 72 h, confined
  space 24 h, height 7 days, temporary power 15 days (30 with the extended approval) and no
  longer than the hot work or confined space of the same job; others 24 h (SPEC).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from shared.events.catalog import (
    HotWorkGrade,
    PermitGrade,
    PermitKind,
    WorkClass,
    WorkPlanned,
)

from .rules import Rules

BASE_ROLES = ["host_rep", "construction_lead", "supervision_engineer"]
HIGH_RISK = {WorkClass.HOT_WORK, WorkClass.CONFINED_SPACE, WorkClass.LIFTING, WorkClass.BLIND_PLATE}
DRAWING_ROLES = ["host_rep", "supervision_engineer", "management_safety"]
# Approver roles held in the enterprise's authorization register (Table B.1), not on a roster.
REGISTER_ROLES = frozenset(
    {
        "enterprise_leader",
        "safety_department",
        "plant_manager",
        "professional_department",
        "power_supply_unit",
    }
)
RISK_CLASS = {
    "hot_work": WorkClass.HOT_WORK,
    "confined_space": WorkClass.CONFINED_SPACE,
    "blind_plate": WorkClass.BLIND_PLATE,
    "work_at_height": WorkClass.WORK_AT_HEIGHT,
    "lifting": WorkClass.LIFTING,
    "temp_electricity": WorkClass.TEMPORARY_POWER,
    "excavation": WorkClass.EXCAVATION,
    "road_breaking": WorkClass.ROAD_CLOSURE,
}
CLASS_ORDER = [*RISK_CLASS.values(), WorkClass.GENERAL]
SPECIAL_CLASSES = frozenset(RISK_CLASS.values())
CLASS_CODE = {
    WorkClass.HOT_WORK: "HW",
    WorkClass.CONFINED_SPACE: "CS",
    WorkClass.BLIND_PLATE: "BP",
    WorkClass.WORK_AT_HEIGHT: "WH",
    WorkClass.LIFTING: "LF",
    WorkClass.TEMPORARY_POWER: "TP",
    WorkClass.EXCAVATION: "EX",
    WorkClass.ROAD_CLOSURE: "RC",
    WorkClass.GENERAL: "GW",
}
# Table A.1–A.8: the form of each class.
FORM = {
    WorkClass.HOT_WORK: "动火安全作业票（GB 30871-2022 表A.1）",
    WorkClass.CONFINED_SPACE: "受限空间安全作业票（表A.2）",
    WorkClass.BLIND_PLATE: "盲板抽堵安全作业票（表A.3）",
    WorkClass.WORK_AT_HEIGHT: "高处安全作业票（表A.4）",
    WorkClass.LIFTING: "吊装安全作业票（表A.5）",
    WorkClass.TEMPORARY_POWER: "临时用电安全作业票（表A.6）",
    WorkClass.EXCAVATION: "动土安全作业票（表A.7）",
    WorkClass.ROAD_CLOSURE: "断路安全作业票（表A.8）",
    WorkClass.GENERAL: "施工作业许可证",
}


def permit_id_for(work_id: str, work_class: str) -> str:
    return f"WP-{work_id}-{CLASS_CODE[WorkClass(work_class)]}"


def drawing_permit_id(drawing_id: str) -> str:
    return f"DR-{drawing_id}"


def all_permit_ids(work_id: str) -> list[str]:
    return [permit_id_for(work_id, c) for c in CLASS_ORDER]


def classes_of(plan: WorkPlanned, rules: Rules) -> list[WorkClass]:
    """The permits a work plan needs, in a fixed order (§4.6)."""
    out: list[WorkClass] = []
    for risk in plan.risk_types:
        cls = RISK_CLASS[str(risk)]
        if (
            cls == WorkClass.WORK_AT_HEIGHT
            and plan.height_m is not None
            and plan.height_m < rules.height_bands_m[0]
        ):
            continue  # §3.8: under 2 m is not work at height
        if cls == WorkClass.LIFTING and plan.load_t is not None and plan.load_t < rules.lifting_permit_t:
            continue  # Appendix B note 3: no lifting permit under 10 t
        if cls not in out:
            out.append(cls)
    if not out:
        out = [WorkClass.GENERAL]
    return sorted(out, key=CLASS_ORDER.index)


# --------------------------------------------------------------------------- grades


def base_hot_work_grade(plan: WorkPlanned) -> tuple[HotWorkGrade, str]:
    if plan.hot_work_grade is not None:
        return HotWorkGrade(plan.hot_work_grade), "planned"
    loc = plan.location
    if loc is not None and ((loc.fire_explosion_area and loc.running_equipment) or loc.tank_farm_dike):
        return HotWorkGrade.SPECIAL, "running_equipment_in_hazard_area"  # §5.1.2
    if loc is not None and (loc.fire_explosion_area or loc.pipe_rack):
        return HotWorkGrade.FIRST, "hazard_area_or_pipe_rack"  # §5.1.3
    return HotWorkGrade.SECOND, "elsewhere"  # §5.1.4


def _touches_night(start: datetime, end: datetime, rules: Rules) -> bool:
    tz = start.tzinfo
    day = start.astimezone(tz).date() - timedelta(days=1)
    while datetime.combine(day, time(0), tz) < end:
        n_start = datetime.combine(day, rules.night_start, tz)
        n_end_day = day + timedelta(days=1) if rules.night_start > rules.night_end else day
        n_end = datetime.combine(n_end_day, rules.night_end, tz)
        if n_start < end and start < n_end:
            return True
        day += timedelta(days=1)
    return False


def _days(start: datetime, end: datetime) -> list[date]:
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def upgrade_triggers(plan: WorkPlanned, rules: Rules, tz: object) -> list[str]:
    """Why hot work is managed one grade higher (§5.1.1, §5.2.15): ``night``, ``rest_day``,
    ``public_holiday``, ``wind``."""
    start = plan.planned_start.astimezone(tz)  # type: ignore[arg-type]
    end = plan.planned_end.astimezone(tz)  # type: ignore[arg-type]
    out = []
    if _touches_night(start, end, rules):
        out.append("night")
    days = _days(start, end) if end > start else [start.date()]
    if any(d.weekday() in rules.rest_weekdays for d in days):
        out.append("rest_day")
    if any(d in rules.public_holidays for d in days):
        out.append("public_holiday")
    outdoor = plan.location is None or plan.location.outdoor
    if outdoor and plan.wind_force is not None and plan.wind_force >= rules.wind_upgrade_force:
        out.append("wind")
    return out


_UP = {HotWorkGrade.SECOND: HotWorkGrade.FIRST, HotWorkGrade.FIRST: HotWorkGrade.SPECIAL}


def hot_work_grade(plan: WorkPlanned, rules: Rules, tz: object) -> tuple[PermitGrade, list[str]]:
    """The grade and what it rests on: the base reason, then each upgrade trigger (one grade up
    whatever their number: "升级管理")."""
    grade, basis = base_hot_work_grade(plan)
    triggers = upgrade_triggers(plan, rules, tz)
    if triggers:
        grade = _UP.get(grade, grade)
    return PermitGrade(grade.value), [basis, *triggers]


def height_grade(height_m: float | None, rules: Rules) -> tuple[PermitGrade, list[str]]:
    if height_m is None:
        return PermitGrade.I, ["height_not_given"]
    _, five, fifteen, thirty = rules.height_bands_m
    if height_m <= five:
        return PermitGrade.I, [f"{height_m:g} m"]
    if height_m <= fifteen:
        return PermitGrade.II, [f"{height_m:g} m"]
    if height_m <= thirty:
        return PermitGrade.III, [f"{height_m:g} m"]
    return PermitGrade.IV, [f"{height_m:g} m"]


def lifting_grade(load_t: float | None, rules: Rules) -> tuple[PermitGrade, list[str]]:
    if load_t is None:
        return PermitGrade.THIRD, ["load_not_given"]
    if load_t > rules.lifting_first_t:
        return PermitGrade.FIRST, [f"{load_t:g} t"]
    if load_t >= rules.lifting_second_t:
        return PermitGrade.SECOND, [f"{load_t:g} t"]
    return PermitGrade.THIRD, [f"{load_t:g} t"]


def grade_of(
    cls: WorkClass, plan: WorkPlanned, rules: Rules, tz: object
) -> tuple[PermitGrade | None, list[str]]:
    if cls == WorkClass.HOT_WORK:
        return hot_work_grade(plan, rules, tz)
    if cls == WorkClass.WORK_AT_HEIGHT:
        return height_grade(plan.height_m, rules)
    if cls == WorkClass.LIFTING:
        return lifting_grade(plan.load_t, rules)
    return None, []


# --------------------------------------------------------------------------- approvers and roles


def approver_role(cls: str | None, grade: str | None) -> str | None:
    """Table B.1's approver for a class and grade (None: the SPEC roles suffice)."""
    if cls == WorkClass.HOT_WORK:
        return {
            PermitGrade.SPECIAL: "enterprise_leader",
            PermitGrade.FIRST: "safety_department",
        }.get(PermitGrade(grade) if grade else PermitGrade.SECOND, "host_rep")
    if cls in (WorkClass.CONFINED_SPACE, WorkClass.BLIND_PLATE):
        return "host_rep"
    if cls == WorkClass.WORK_AT_HEIGHT:
        if grade == PermitGrade.IV:
            return "plant_manager"
        return "professional_department" if grade in (PermitGrade.II, PermitGrade.III) else "host_rep"
    if cls == WorkClass.LIFTING:
        return "plant_manager" if grade == PermitGrade.FIRST else "professional_department"
    if cls == WorkClass.TEMPORARY_POWER:
        return "power_supply_unit"
    if cls in (WorkClass.EXCAVATION, WorkClass.ROAD_CLOSURE):
        return "professional_department"
    return None


def required_roles(kind: str, cls: str | None = None, grade: str | None = None) -> list[str]:
    """SPEC §3.3's roles (management_safety for the high-risk classes) and Table B.1's approver."""
    if kind == PermitKind.DRAWING_REVIEW:
        return list(DRAWING_ROLES)
    roles = list(BASE_ROLES)
    if cls in HIGH_RISK:
        roles.append("management_safety")
    approver = approver_role(cls, grade)
    if approver is not None and approver not in roles:
        roles.append(approver)
    return roles


# --------------------------------------------------------------------------- validity and gas


def validity_cap(
    cls: str | None,
    grade: str | None,
    rules: Rules,
    extended: bool = False,
    served: tuple[tuple[str, str | None], ...] = (),
) -> timedelta:
    """The longest validity of a class and grade. ``served``: the (class, grade) of the job's other
    permits; temporary power lasts no longer than the hot work or confined space it serves (§10.8)."""
    if cls == WorkClass.HOT_WORK:
        return rules.hot_work_second_cap if grade == PermitGrade.SECOND else rules.hot_work_cap
    if cls == WorkClass.CONFINED_SPACE:
        return rules.confined_space_cap
    if cls == WorkClass.WORK_AT_HEIGHT:
        return rules.height_cap
    if cls == WorkClass.TEMPORARY_POWER:
        cap = rules.temporary_power_extended_cap if extended else rules.temporary_power_cap
        for other, other_grade in served:
            if other in (WorkClass.HOT_WORK, WorkClass.CONFINED_SPACE):
                cap = min(cap, validity_cap(other, other_grade, rules))
        return cap
    return rules.other_cap


def needs_gas(cls: str | None, fire_explosion_area: bool = False) -> bool:
    """Gas analysis before the work: hot work (§5.3), confined space (§6.3), temporary power in a
    fire/explosion area (§10.1)."""
    if cls in (WorkClass.HOT_WORK, WorkClass.CONFINED_SPACE):
        return True
    return cls == WorkClass.TEMPORARY_POWER and fire_explosion_area


def monitored(cls: str | None, grade: str | None) -> bool:
    """Continuous monitoring with a reading at least every 2 h: 特级 hot work (§5.3.1 d),
    confined space (§6.5)."""
    return cls == WorkClass.CONFINED_SPACE or (cls == WorkClass.HOT_WORK and grade == PermitGrade.SPECIAL)


def pause_retest_limit(cls: str | None, grade: str | None, rules: Rules) -> timedelta | None:
    """How long a pause may last before a new gas analysis (§5.3.1 d, §6.3 f); None: no rule."""
    if cls == WorkClass.HOT_WORK:
        return rules.pause_retest_low if grade == PermitGrade.SECOND else rules.pause_retest_high
    if cls == WorkClass.CONFINED_SPACE:
        return rules.pause_retest_low
    return None
