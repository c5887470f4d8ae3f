"""Work on site as the simulator plans it: the work plan with GB 30871-2022's facts (height, load,
location, isolations, guardian), the permits the standard gives it (one per special work), the
grades it expects them to get, and the site life each work will have (an interruption, an
extension, a shift handover, completion acceptance, a re-plan, a cancellation). Pure.

The expected grades are the simulator's own reading of the standard for the facts it planned
(§5.1, §8.1.1, §9.1): the ground truth the report holds the service to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

GAS_RISKS = {"hot_work", "confined_space"}
CODE = {
    "hot_work": "HW",
    "confined_space": "CS",
    "blind_plate": "BP",
    "work_at_height": "WH",
    "lifting": "LF",
    "temp_electricity": "TP",
    "excavation": "EX",
    "road_breaking": "RC",
}
ORDER = list(CODE)
# Public holidays the demo's months hold (国务院办公厅 2026): 清明 and 劳动节.
HOLIDAYS = {date(2026, 4, d) for d in (4, 5, 6)} | {date(2026, 5, d) for d in range(1, 6)}
UP = {"second": "first", "first": "special", "special": "special"}


@dataclass
class Work:
    work_id: str
    zone_key: str
    project_id: str
    area: str
    risk_types: list[str]
    contractor_unit_id: str
    planned_at: datetime
    planned_start: datetime
    planned_end: datetime
    close_at: datetime | None  # None: left open, so it expires
    fresh_gas_after_close_of: str | None = None
    reject_by_supervision: bool = False
    suspend_at: datetime | None = None
    # GB 30871-2022 facts of the plan
    height_m: float | None = None
    load_t: float | None = None
    hot_work_grade: str | None = None
    location: dict[str, Any] | None = None
    isolation_kind: str | None = None  # one isolation, applied before the signatures
    guardian_in_plan: str | None = None
    # site life
    interrupt: tuple[datetime, datetime] | None = None
    extend: tuple[datetime, datetime] | None = None  # (asked at, new end)
    extend_beyond_cap_first: bool = False
    handover: bool = False  # runs across the 08:00 shift change
    miss_handover: bool = False
    miss_monitoring: bool = False
    refuse_completion: bool = False
    replan_at: datetime | None = None  # moved one hour later after approval
    water_seal_replan_at: datetime | None = None  # planned with a water seal, re-planned with a blind plate
    cancel_at: datetime | None = None
    readings: list[datetime] = field(default_factory=list)  # continuous monitoring
    gas_at: datetime | None = None
    gas_fail_first: bool = False
    scenario: bool = False  # part of a planned scene (SIMOPS, incident, conflict...): no other life

    @property
    def permit_id(self) -> str:
        """The first permit of the work."""
        return self.permit_ids[0]

    @property
    def classes(self) -> list[str]:
        out = [r for r in ORDER if r in self.risk_types]
        return out or ["general"]

    @property
    def permit_ids(self) -> list[str]:
        return [self.pid(c) for c in self.classes]

    def pid(self, cls: str) -> str:
        return f"WP-{self.work_id}-{CODE.get(cls, 'GW')}"

    @property
    def needs_gas(self) -> bool:
        return bool(GAS_RISKS & set(self.risk_types))

    def gas_permits(self) -> list[str]:
        return [self.pid(c) for c in self.classes if c in GAS_RISKS]

    @property
    def monitored(self) -> bool:
        """Continuous monitoring: a confined space, or 特级 hot work (§5.3.1 d, §6.5)."""
        return "confined_space" in self.risk_types or self.expected_grade("hot_work") == "special"

    @property
    def isolation_id(self) -> str:
        return f"ISO-{self.work_id}"

    def expected_grade(self, cls: str) -> str | None:
        if cls == "hot_work":
            return self._hot_work_grade()
        if cls == "work_at_height":
            h = self.height_m
            return None if h is None else "I" if h <= 5 else "II" if h <= 15 else "III" if h <= 30 else "IV"
        if cls == "lifting":
            m = self.load_t
            return None if m is None else "first" if m > 100 else "second" if m >= 40 else "third"
        return None

    def _hot_work_grade(self) -> str:
        loc = self.location or {}
        base = self.hot_work_grade or (
            "special"
            if loc.get("fire_explosion_area") and loc.get("running_equipment")
            else "first"
            if loc.get("fire_explosion_area") or loc.get("pipe_rack")
            else "second"
        )
        day = self.planned_start.date()
        rest = day.weekday() >= 5 or day in HOLIDAYS
        return UP[base] if rest else base

    def plan_data(self, isolation_kind: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "work_id": self.work_id,
            "project_id": self.project_id,
            "title": {
                "hot_work": "管线动火焊接",
                "confined_space": "储罐受限空间清理",
                "lifting": "设备吊装",
            }.get(self.risk_types[0] if self.risk_types else "", "现场施工作业"),
            "area": self.area,
            "risk_types": self.risk_types,
            "contractor_unit_id": self.contractor_unit_id,
            "planned_start": self.planned_start.isoformat(),
            "planned_end": self.planned_end.isoformat(),
        }
        for key in ("height_m", "load_t", "hot_work_grade", "location"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.guardian_in_plan:
            data["guardian_member_id"] = self.guardian_in_plan
        kind = isolation_kind or self.isolation_kind
        if kind:
            data["isolations"] = [
                {"isolation_id": self.isolation_id, "kind": kind, "point": "进出料管线法兰"}
            ]
        return data


def monitoring_times(
    start: datetime, end: datetime, every: timedelta = timedelta(minutes=100)
) -> list[datetime]:
    """Readings every 100 minutes while a monitored work runs (the standard asks every 2 h)."""
    out, t = [], start + every
    while t < end:
        out.append(t)
        t += every
    return out


def gas_data(w: Work, when: datetime, lel: float = 0.0, suffix: str = "") -> dict[str, Any]:
    return {
        "test_id": f"GT-{w.work_id}-{when.strftime('%d%H%M')}{suffix}",
        "project_id": w.project_id,
        "area": w.area,
        "tested_at": when.isoformat(),
        "o2_pct": 20.8,
        "lel_pct": lel,
        "h2s_mg_m3": 0.0,
        "co_mg_m3": 1.0,
        "tester": "HSE检测员",
    }
