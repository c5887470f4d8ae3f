"""The conflict matrix (交叉作业, GB 30871-2022 §4.7) between a permit about to be issued and the
issued permits of the same project whose windows overlap it. Each conflict names the other
permit and the rule (``ConflictRule``):

- where both plans carry site coordinates, distances decide: hot work within 30 m of blind-plate
  work (§7.6); flammable gas discharged within 30 m, flammable liquid within 15 m, solvent
  cleaning, painting or dust sweeping within 10 m of hot work (§5.2.9);
- where either has none, SPEC §3.3's rule stands: one area, either of them hot work (the
  discharges of §5.2.9 count as well when they share the area);
- whatever the coordinates: two blind-plate jobs on one pipeline (§7.10), painting or coating in
  a confined space where there is hot work (§6.7, same area).

Permits of one job (linked) are planned together and do not conflict, except §6.7, which forbids
the combination within one job as much as between two.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.events.catalog import ConflictRule, SideActivity, WorkClass

from .rules import Rules


@dataclass(frozen=True)
class Placed:
    """What the matrix needs of a permit."""

    permit_id: str
    work_id: str
    work_class: str
    area: str | None
    x_m: float | None
    y_m: float | None
    pipeline_id: str | None
    side_activities: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime

    @property
    def has_xy(self) -> bool:
        return self.x_m is not None and self.y_m is not None


def distance(a: Placed, b: Placed) -> float | None:
    if not (a.has_xy and b.has_xy):
        return None
    return math.hypot(float(a.x_m) - float(b.x_m), float(a.y_m) - float(b.y_m))  # type: ignore[arg-type]


def _overlap(a: Placed, b: Placed) -> bool:
    return a.valid_from < b.valid_until and b.valid_from < a.valid_until


_DISCHARGES = (
    (SideActivity.FLAMMABLE_GAS_DISCHARGE, ConflictRule.GAS_DISCHARGE_NEAR_HOT_WORK, "gas_discharge_m"),
    (
        SideActivity.FLAMMABLE_LIQUID_DISCHARGE,
        ConflictRule.LIQUID_DISCHARGE_NEAR_HOT_WORK,
        "liquid_discharge_m",
    ),
    (SideActivity.SOLVENT_CLEANING, ConflictRule.SOLVENT_NEAR_HOT_WORK, "solvent_m"),
    (SideActivity.PAINTING, ConflictRule.SOLVENT_NEAR_HOT_WORK, "solvent_m"),
    (SideActivity.DUST_SWEEPING, ConflictRule.SOLVENT_NEAR_HOT_WORK, "solvent_m"),
)


def pair_rules(a: Placed, b: Placed, rules: Rules) -> list[tuple[ConflictRule, float | None]]:
    """Every rule the pair breaks (either order), with the distance where measured."""
    out: list[tuple[ConflictRule, float | None]] = []
    d = distance(a, b)
    same_area = a.area is not None and a.area == b.area
    linked = a.work_id == b.work_id
    for x, y in ((a, b), (b, a)):
        coating = x.work_class == WorkClass.CONFINED_SPACE and SideActivity.PAINTING in x.side_activities
        if coating and y.work_class == WorkClass.HOT_WORK and same_area:
            out.append((ConflictRule.COATING_IN_CONFINED_SPACE_WITH_HOT_WORK, d))
    if linked:
        return out[:1]
    classes = {a.work_class, b.work_class}
    if classes == {WorkClass.BLIND_PLATE} and a.pipeline_id and a.pipeline_id == b.pipeline_id:
        out.append((ConflictRule.BLIND_PLATES_ON_ONE_PIPELINE, d))
    if WorkClass.HOT_WORK not in classes:
        return out
    if d is None:
        if same_area:
            out.append((ConflictRule.SAME_AREA_HOT_WORK, None))
        return out
    if classes == {WorkClass.HOT_WORK, WorkClass.BLIND_PLATE} and d <= rules.hot_work_blind_plate_m:
        out.append((ConflictRule.HOT_WORK_NEAR_BLIND_PLATE, d))
    for hot, other in ((a, b), (b, a)):
        if hot.work_class != WorkClass.HOT_WORK:
            continue
        for activity, rule, limit in _DISCHARGES:
            if activity in other.side_activities and d <= getattr(rules, limit):
                out.append((rule, d))
    return list(dict.fromkeys(out))


def conflicts(me: Placed, others: list[Placed], rules: Rules) -> list[dict[str, Any]]:
    """The conflicts of issuing ``me`` now, one detail per (other permit, rule)."""
    found: list[dict[str, Any]] = []
    for other in others:
        if other.permit_id == me.permit_id or not _overlap(me, other):
            continue
        for rule, d in pair_rules(me, other, rules):
            detail: dict[str, Any] = {
                "reason": "simops_conflict",
                "permit_id": other.permit_id,
                "rule": rule.value,
            }
            if d is not None:
                detail["distance_m"] = round(d, 1)
            found.append(detail)
    return found
