"""Every number the permit rules use, with the standard's value as its default.

SPEC §3.3 gives the SLAs and the caps of work it does not grade; GB 30871-2022 gives the rest
(the clause is named beside each). A site may be stricter, never laxer: :func:`laxer_than_standard`
names every setting that would relax a rule of the standard, and the service refuses to start
with it (``app.Settings``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

# 2026 public holidays (国务院办公厅关于2026年部分节假日安排的通知): the calendar the hot-work
# grade upgrade reads (GB 30871-2022 §5.1.1). A year's list is a setting; the built-in years
# must stay whole when a site configures them (dropping a holiday would relax the rule).
HOLIDAYS: dict[int, tuple[date, ...]] = {
    2026: (
        *(date(2026, 1, d) for d in (1, 2, 3)),
        *(date(2026, 2, d) for d in range(15, 24)),
        *(date(2026, 4, d) for d in (4, 5, 6)),
        *(date(2026, 5, d) for d in range(1, 6)),
        *(date(2026, 6, d) for d in (19, 20, 21)),
        *(date(2026, 9, d) for d in (25, 26, 27)),
        *(date(2026, 10, d) for d in range(1, 8)),
    ),
}
DEFAULT_HOLIDAYS: frozenset[date] = frozenset(d for days in HOLIDAYS.values() for d in days)


@dataclass(frozen=True)
class GasLimits:
    """Gas analysis pass criteria (GB 30871-2022 §5.3.2, §6.4; SPEC §3.3)."""

    o2_min: float = 19.5  # §6.4 a, SPEC
    o2_max: float = 23.5  # hot work and other gas-tested work (SPEC; §5.2.7 at most 23.5)
    o2_max_confined: float = 21.0  # §6.4 a
    o2_max_enriched: float = 23.5  # §6.4 a, an oxygen-enriched confined space
    lel_max: float = 10.0  # SPEC: below this % of the LEL (kept beside §5.3.2)
    flammable_max_high_lel: float = 0.5  # §5.3.2 a: % vol where the LEL is ≥ 4 %
    flammable_max_low_lel: float = 0.2  # §5.3.2 b: % vol where the LEL is < 4 %
    lel_threshold: float = 4.0  # §5.3.2: the LEL (% vol) that separates a) from b)
    default_lel: float = 5.0  # methane, when a test names no LEL (the oilfield's gas)
    h2s_max: float = 10.0  # mg/m3, GBZ 2.1 MAC (§6.4 b)
    co_max: float = 30.0  # mg/m3, GBZ 2.1 PC-STEL (§6.4 b), when measured


@dataclass(frozen=True)
class Rules:
    # SPEC §3.3
    work_permit_sla: timedelta = timedelta(hours=4)
    drawing_review_sla: timedelta = timedelta(days=2)
    other_cap: timedelta = timedelta(hours=24)  # classes the standard does not cap, and general
    drawing_validity: timedelta = timedelta(days=30)
    # GB 30871-2022 §5.3.1 c, §6.3 a: the sample at most this long before the work starts
    gas_test_window: timedelta = timedelta(minutes=30)
    # §5.3.1 d: a pause longer than this needs a new analysis (特级/一级 hot work)
    pause_retest_high: timedelta = timedelta(minutes=30)
    # §5.3.1 d (二级 hot work), §6.3 f (confined space)
    pause_retest_low: timedelta = timedelta(minutes=60)
    # §6.5 (confined space), §5.3.1 d (特级 hot work, continuous monitoring): a reading at least this often
    monitoring_interval: timedelta = timedelta(hours=2)
    # validity caps: §5.1.5, §6.10, §8.2.11, §10.8
    hot_work_cap: timedelta = timedelta(hours=8)  # 特级, 一级
    hot_work_second_cap: timedelta = timedelta(hours=72)  # 二级
    confined_space_cap: timedelta = timedelta(hours=24)
    height_cap: timedelta = timedelta(days=7)
    temporary_power_cap: timedelta = timedelta(days=15)
    temporary_power_extended_cap: timedelta = timedelta(days=30)
    # conflict distances: §7.6, §5.2.9
    hot_work_blind_plate_m: float = 30.0
    gas_discharge_m: float = 30.0
    liquid_discharge_m: float = 15.0
    solvent_m: float = 10.0
    # grades: §5.2.15 (wind), §8.1.1 (height bands), §9.1 and Appendix B note 3 (lifting)
    wind_upgrade_force: int = 5
    height_bands_m: tuple[float, float, float, float] = (2.0, 5.0, 15.0, 30.0)
    lifting_first_t: float = 100.0  # above: 一级
    lifting_second_t: float = 40.0  # from here to the first: 二级
    lifting_permit_t: float = 10.0  # under: no lifting permit
    # §5.1.1: night, rest days and public holidays raise hot work one grade
    night_start: time = time(22, 0)  # 夜间 22:00–06:00 (the national definition of night)
    night_end: time = time(6, 0)
    rest_weekdays: frozenset[int] = frozenset({5, 6})  # 公休日: Saturday, Sunday
    public_holidays: frozenset[date] = DEFAULT_HOLIDAYS
    # handover (issue 15): shift changes and how long after one the handover may be acknowledged
    shift_changes: tuple[time, ...] = (time(8, 0), time(20, 0))
    handover_ack: timedelta = timedelta(minutes=30)
    # Appendix B.3: permits are kept at least one year
    retention: timedelta = timedelta(days=365)
    gas: GasLimits = field(default_factory=GasLimits)
    timezone: str = "Asia/Shanghai"  # the site's (dates, nights, shift changes are local)

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


STANDARD = Rules()

# (attribute, clause, "more" or "less": which direction relaxes the rule)
_LIMITS: list[tuple[str, str, str]] = [
    ("gas_test_window", "§5.3.1 c, §6.3 a", "more"),
    ("pause_retest_high", "§5.3.1 d", "more"),
    ("pause_retest_low", "§5.3.1 d, §6.3 f", "more"),
    ("monitoring_interval", "§6.5", "more"),
    ("hot_work_cap", "§5.1.5", "more"),
    ("hot_work_second_cap", "§5.1.5", "more"),
    ("confined_space_cap", "§6.10", "more"),
    ("height_cap", "§8.2.11", "more"),
    ("temporary_power_cap", "§10.8", "more"),
    ("temporary_power_extended_cap", "§10.8", "more"),
    ("hot_work_blind_plate_m", "§7.6", "less"),
    ("gas_discharge_m", "§5.2.9", "less"),
    ("liquid_discharge_m", "§5.2.9", "less"),
    ("solvent_m", "§5.2.9", "less"),
    ("wind_upgrade_force", "§5.2.15", "more"),
    ("lifting_first_t", "§9.1", "more"),
    ("lifting_second_t", "§9.1", "more"),
    ("lifting_permit_t", "Appendix B note 3", "more"),
    ("retention", "Appendix B.3", "less"),
]
_GAS_LIMITS: list[tuple[str, str, str]] = [
    ("o2_min", "§6.4 a", "less"),
    ("o2_max", "§5.2.7", "more"),
    ("o2_max_confined", "§6.4 a", "more"),
    ("o2_max_enriched", "§6.4 a", "more"),
    ("flammable_max_high_lel", "§5.3.2 a", "more"),
    ("flammable_max_low_lel", "§5.3.2 b", "more"),
    ("lel_threshold", "§5.3.2", "less"),
    ("h2s_max", "§6.4 b (GBZ 2.1)", "more"),
    ("co_max", "§6.4 b (GBZ 2.1)", "more"),
]


def _show(value: object) -> str:
    if isinstance(value, timedelta):
        hours = value.total_seconds() / 3600
        return f"{hours / 24:g} days" if hours >= 48 and hours % 24 == 0 else f"{hours:g} h"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _laxer(value: object, standard: object, direction: str) -> bool:
    return bool(value > standard) if direction == "more" else bool(value < standard)  # type: ignore[operator]


def laxer_than_standard(rules: Rules) -> list[str]:
    """One sentence per setting that would make a rule of GB 30871-2022 laxer (empty: none)."""
    out: list[str] = []
    for attr, clause, direction in _LIMITS:
        value, std = getattr(rules, attr), getattr(STANDARD, attr)
        if _laxer(value, std, direction):
            word = "longer/larger" if direction == "more" else "shorter/smaller"
            out.append(f"{attr} {_show(value)} is {word} than GB 30871-2022 {clause} allows ({_show(std)})")
    for attr, clause, direction in _GAS_LIMITS:
        value, std = getattr(rules.gas, attr), getattr(STANDARD.gas, attr)
        if _laxer(value, std, direction):
            out.append(f"gas {attr} {_show(value)} is laxer than GB 30871-2022 {clause} ({_show(std)})")
    bands = STANDARD.height_bands_m
    if any(v > s for v, s in zip(rules.height_bands_m, bands, strict=True)):
        out.append(f"height bands {rules.height_bands_m} m are higher than GB 30871-2022 §8.1.1 ({bands})")
    if not STANDARD.rest_weekdays <= rules.rest_weekdays:
        out.append(
            f"rest weekdays {sorted(rules.rest_weekdays)} leave out Saturday or Sunday (§5.1.1 公休日)"
        )
    if not _covers_night(rules):
        out.append(
            f"night {rules.night_start:%H:%M}–{rules.night_end:%H:%M} does not cover 22:00–06:00 (§5.1.1 夜间)"
        )
    for year, days in HOLIDAYS.items():
        if any(d.year == year for d in rules.public_holidays) and not set(days) <= rules.public_holidays:
            missing = sorted(set(days) - rules.public_holidays)
            out.append(f"public holidays of {year} leave out {', '.join(map(str, missing))} (§5.1.1 节假日)")
    return out


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _covers_night(rules: Rules) -> bool:
    """The configured night contains 22:00–06:00 (it may start earlier and end later)."""
    start, end = _minutes(rules.night_start), _minutes(rules.night_end)
    if start <= end:
        return False  # a night that does not cross midnight cannot hold 22:00–06:00
    return start <= _minutes(STANDARD.night_start) and end >= _minutes(STANDARD.night_end)
