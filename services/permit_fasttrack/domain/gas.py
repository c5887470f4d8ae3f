"""Gas analysis (GB 30871-2022 §5.3, §6.3–6.5; SPEC §3.3's limits beside them).

- Pass criteria (§5.3.2): a flammable gas or vapour whose LEL is ≥ 4 % vol at most 0.5 % vol; one
  whose LEL is < 4 % at most 0.2 % vol. A reading given as % of the LEL (``lel_pct``, the base
  contract) is converted with the gas's LEL, or methane's (5 % vol) when the test names none, and
  is also held to the SPEC's "below 10 %LEL" (the stricter of the two decides).
- Oxygen (§6.4 a): 19.5–21 % vol in a confined space, at most 23.5 % where it is oxygen-enriched;
  elsewhere 19.5–23.5 % (SPEC; §5.2.7). Toxics (§6.4 b): H₂S, CO by the configured limits.
- The sample counts when taken at most 30 min before the work starts (§5.3.1 c, §6.3 a) — the
  work's start, not the check: a 06:20 test does not issue a 14:00 hot work.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.events.catalog import WorkClass

from .rules import GasLimits


class GasReading(BaseModel):
    """One gas test as a permit keeps it."""

    model_config = ConfigDict(extra="ignore")

    test_id: str
    area: str
    tested_at: datetime
    o2_pct: float
    lel_pct: float | None = None
    flammable_vol_pct: float | None = None
    lel_vol_pct: float | None = None
    gas: str | None = None
    h2s_mg_m3: float = 0.0
    co_mg_m3: float | None = None
    oxygen_enriched: bool = False
    tester: str | None = None
    passed: bool | None = None  # as judged for the permit that keeps it


def flammable_vol(r: GasReading, limits: GasLimits) -> tuple[float, float]:
    """(reading in % vol, the LEL used)."""
    lel = r.lel_vol_pct or limits.default_lel
    if r.flammable_vol_pct is not None:
        return r.flammable_vol_pct, lel
    return (r.lel_pct or 0.0) * lel / 100.0, lel


def failures(r: GasReading, cls: str | None, limits: GasLimits) -> list[dict[str, Any]]:
    """Each reading that breaks a limit: the reading, its value, the limit and the clause."""
    out: list[dict[str, Any]] = []
    o2_max = limits.o2_max
    clause = "§5.2.7"
    if cls == WorkClass.CONFINED_SPACE:
        o2_max = limits.o2_max_enriched if r.oxygen_enriched else limits.o2_max_confined
        clause = "§6.4 a"
    if r.o2_pct < limits.o2_min or r.o2_pct > o2_max:
        out.append(_fail("o2_pct", r.o2_pct, f"{limits.o2_min}–{o2_max} %vol", clause))
    vol, lel = flammable_vol(r, limits)
    cap = limits.flammable_max_high_lel if lel >= limits.lel_threshold else limits.flammable_max_low_lel
    if vol > cap + 1e-12:
        which = "a" if lel >= limits.lel_threshold else "b"
        name = "flammable_vol_pct" if r.flammable_vol_pct is not None else "lel_pct"
        shown = r.flammable_vol_pct if r.flammable_vol_pct is not None else r.lel_pct
        out.append(_fail(name, shown, f"≤ {cap} %vol (LEL {lel:g} %vol)", f"§5.3.2 {which}"))
    # A reading in % of the LEL (the base contract) is also held to the SPEC's "below 10 %LEL".
    spec_lel = r.flammable_vol_pct is None and r.lel_pct is not None and r.lel_pct >= limits.lel_max
    if spec_lel and not any(f["reading"] == "lel_pct" for f in out):
        out.append(_fail("lel_pct", r.lel_pct, f"< {limits.lel_max} %LEL", "SPEC §3.3"))
    if r.h2s_mg_m3 > limits.h2s_max:
        out.append(_fail("h2s_mg_m3", r.h2s_mg_m3, f"≤ {limits.h2s_max} mg/m³", "§6.4 b"))
    if r.co_mg_m3 is not None and r.co_mg_m3 > limits.co_max:
        out.append(_fail("co_mg_m3", r.co_mg_m3, f"≤ {limits.co_max} mg/m³", "§6.4 b"))
    return out


def _fail(reading: str, value: float | None, limit: str, clause: str) -> dict[str, Any]:
    return {"reading": reading, "value": value, "limit": limit, "clause": clause}


def sample_counts(r: GasReading, work_starts: datetime, at: datetime, window: timedelta) -> bool:
    """Taken by now and at most ``window`` before the work starts (§5.3.1 c, §6.3 a)."""
    return r.tested_at <= at and work_starts - r.tested_at <= window


def latest(readings: list[GasReading], at: datetime) -> GasReading | None:
    taken = [r for r in readings if r.tested_at <= at]
    return max(taken, key=lambda r: r.tested_at) if taken else None
