"""Permit fast-track rules (SPEC §3.3), pure: routing, preconditions, validity, SLA.

A permit is one plain dict (its document). Choices where the SPEC leaves room:
- A drawing review has no planned window: once issued it is valid for
  ``drawing_validity`` (30 days by default) and checked only for the zone and the
  contractor-safety system (the other preconditions concern work on site).
- The gas test that counts is the latest one of the project and area taken at or before
  the check; older than the window (30 min) it counts as missing.
- A signature from someone who is not on the zone roster with that role is refused;
  so is one before the permit has a zone to route it (``signatures_not_requested``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.events.catalog import PermitKind, PermitStatus, System

Permit = dict[str, Any]

BASE_ROLES = ["host_rep", "construction_lead", "supervision_engineer"]
HIGH_RISK = {"hot_work", "confined_space", "lifting", "blind_plate"}
GAS_RISKS = {"hot_work", "confined_space"}
DRAWING_ROLES = ["host_rep", "supervision_engineer", "management_safety"]
FINISHED = {PermitStatus.REJECTED, PermitStatus.EXPIRED, PermitStatus.CLOSED, PermitStatus.CANCELLED}
LIVE = {PermitStatus.ISSUED, PermitStatus.SUSPENDED}  # a window is running


@dataclass(frozen=True)
class GasLimits:
    o2_min: float = 19.5
    o2_max: float = 23.5
    lel_max: float = 10.0  # below this %LEL
    h2s_max: float = 10.0  # mg/m3, at most
    co_max: float = 30.0  # mg/m3, at most, when measured


@dataclass(frozen=True)
class Rules:
    """Limits of SPEC §3.3, configurable."""

    work_permit_sla: timedelta = timedelta(hours=4)
    drawing_review_sla: timedelta = timedelta(days=2)
    gas_test_window: timedelta = timedelta(minutes=30)
    hot_work_cap: timedelta = timedelta(hours=8)
    confined_space_cap: timedelta = timedelta(hours=8)
    other_cap: timedelta = timedelta(hours=24)
    drawing_validity: timedelta = timedelta(days=30)
    gas: GasLimits = field(default_factory=GasLimits)


def permit_id(kind: str, source_id: str) -> str:
    return f"{'WP' if kind == PermitKind.WORK_PERMIT else 'DR'}-{source_id}"


def required_roles(kind: str, risk_types: list[str]) -> list[str]:
    if kind == PermitKind.DRAWING_REVIEW:
        return list(DRAWING_ROLES)
    return BASE_ROLES + (["management_safety"] if HIGH_RISK & set(risk_types) else [])


def sla_deadline(kind: str, requested_at: datetime, rules: Rules) -> datetime:
    return requested_at + (
        rules.drawing_review_sla if kind == PermitKind.DRAWING_REVIEW else rules.work_permit_sla
    )


def approved_roles(permit: Permit) -> set[str]:
    return {s["role"] for s in permit["signatures"] if s["decision"] == "approve"}


def waiting_on(permit: Permit) -> list[str]:
    done = {s["role"] for s in permit["signatures"]}
    return [r for r in permit["required_roles"] if r not in done]


def snapshot(p: Permit) -> dict[str, Any]:
    return {
        "permit_id": p["_id"],
        "kind": p["kind"],
        "zone_id": p.get("zone_id"),
        "project_id": p["project_id"],
        "source_id": p["source_id"],
        "area": p.get("area"),
        "risk_types": list(p.get("risk_types", [])),
        "status": p["status"],
        "requested_at": p["requested_at"],
        "sla_deadline": p["sla_deadline"],
        "signatures": [dict(s) for s in p["signatures"]],
        "blocked_reasons": list(p.get("blocked_reasons", [])),
        "valid_from": p.get("valid_from"),
        "valid_until": p.get("valid_until"),
    }


# --------------------------------------------------------------------------- signatures


def sign_refusals(permit: Permit | None, zone: dict[str, Any] | None, member_id: str, role: str) -> list[str]:
    """Every reason a signature cannot be taken (empty: take it)."""
    if permit is None:
        return ["unknown_permit"]
    reasons: list[str] = []
    if permit["status"] in FINISHED:
        reasons.append("permit_finished")
    if not permit.get("signatures_requested"):
        reasons.append("signatures_not_requested")
    if role not in permit["required_roles"]:
        reasons.append("role_not_required")
    elif role in {s["role"] for s in permit["signatures"]}:
        reasons.append("role_already_signed")
    if zone is None or not any(
        m["member_id"] == member_id and m.get("zone_role") == role for m in zone.get("members", [])
    ):
        reasons.append("signer_lacks_role")
    return reasons


# --------------------------------------------------------------------------- preconditions


def gas_failures(test: dict[str, Any], limits: GasLimits) -> list[dict[str, Any]]:
    """Which readings of a gas test break which limit."""
    out = []
    o2 = test["o2_pct"]
    if o2 < limits.o2_min or o2 > limits.o2_max:
        out.append({"reading": "o2_pct", "value": o2, "limit": f"{limits.o2_min}–{limits.o2_max} %vol"})
    if test["lel_pct"] >= limits.lel_max:
        out.append({"reading": "lel_pct", "value": test["lel_pct"], "limit": f"< {limits.lel_max} %LEL"})
    if test["h2s_mg_m3"] > limits.h2s_max:
        out.append({"reading": "h2s_mg_m3", "value": test["h2s_mg_m3"], "limit": f"≤ {limits.h2s_max} mg/m³"})
    if test.get("co_mg_m3") is not None and test["co_mg_m3"] > limits.co_max:
        out.append({"reading": "co_mg_m3", "value": test["co_mg_m3"], "limit": f"≤ {limits.co_max} mg/m³"})
    return out


def window(permit: Permit, at: datetime, rules: Rules) -> tuple[datetime, datetime]:
    """The validity an issue at ``at`` would give: from the later of the check and the
    planned start, until the planned end, capped by the riskiest kind of work."""
    if permit["kind"] == PermitKind.DRAWING_REVIEW:
        return at, at + rules.drawing_validity
    start = max(at, permit["planned_start"])
    risks = set(permit.get("risk_types", []))
    cap = rules.other_cap
    if "hot_work" in risks:
        cap = min(cap, rules.hot_work_cap)
    if "confined_space" in risks:
        cap = min(cap, rules.confined_space_cap)
    return start, max(start, min(permit["planned_end"], start + cap))


def overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@dataclass
class Facts:
    """What the check needs to know, gathered by the handler."""

    zone: dict[str, Any] | None
    contractor_is_subcontractor: bool = False
    morning_checkin: bool = False
    latest_gas_test: dict[str, Any] | None = None
    live_permits_in_area: list[Permit] = field(default_factory=list)


def unmet_preconditions(
    permit: Permit, facts: Facts, at: datetime, rules: Rules
) -> tuple[list[str], list[dict[str, Any]]]:
    """Reason codes (in SPEC order) and details of every precondition that does not hold."""
    reasons: list[str] = []
    details: list[dict[str, Any]] = []
    zone = facts.zone
    if zone is None or zone.get("status") != "active":
        reasons.append("no_active_zone")
    else:
        systems = set(zone.get("systems", []))
        if System.CONTRACTOR_SAFETY not in systems:
            reasons.append("contractor_safety_not_adopted")
        if facts.contractor_is_subcontractor and System.SUBCONTRACTOR_SAFETY not in systems:
            reasons.append("subcontractor_safety_not_adopted")
    if permit["kind"] == PermitKind.DRAWING_REVIEW:
        return reasons, details
    risks = set(permit.get("risk_types", []))
    if risks and zone is not None and not facts.morning_checkin:
        reasons.append("no_morning_checkin")
    if risks & GAS_RISKS:
        test = facts.latest_gas_test
        if test is None or test["tested_at"] > at or at - test["tested_at"] > rules.gas_test_window:
            reasons.append("gas_test_missing")
        elif failures := gas_failures(test, rules.gas):
            reasons.append("gas_test_failed")
            details += [{"reason": "gas_test_failed", "test_id": test["test_id"], **f} for f in failures]
    mine = window(permit, at, rules)
    for other in facts.live_permits_in_area:
        if other["_id"] == permit["_id"] or other["status"] != PermitStatus.ISSUED:
            continue
        if not ({"hot_work"} & (risks | set(other.get("risk_types", [])))):
            continue
        if overlaps(mine, (other["valid_from"], other["valid_until"])):
            reasons.append("simops_conflict")
            details.append({"reason": "simops_conflict", "permit_id": other["_id"]})
            break
    return reasons, details


def suspends(permit: Permit, incident: dict[str, Any]) -> bool:
    """An incident suspends issued permits of its area, or all of the project's when major or fatal."""
    if permit["status"] != PermitStatus.ISSUED or permit["project_id"] != incident["project_id"]:
        return False
    return incident["severity"] in ("major", "fatal") or permit.get("area") == incident["area"]


def history_entry(
    event_id: str, event_type: str, actor: str, at: datetime, detail: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {"event_id": event_id, "type": event_type, "actor": actor, "at": at, "detail": detail or {}}
