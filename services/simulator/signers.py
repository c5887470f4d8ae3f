"""Who should be asked to sign a permit: the simulator's own reading of SPEC §3.3 and GB
30871-2022 Table B.1, written here and not imported from the permit service (issue 19), so a
person asked for a role the permit does not need refuses — and the refusal is a mismatch of
the demo's ground-truth check. Pure.

- A work permit in a zone signing in parallel: the host representative, the construction lead
  and the supervision engineer; the management side's safety officer for the high-risk classes
  (hot work, confined space, lifting, blind plate); and Table B.1's approver of the class and
  grade (the host representative where the table names the operating unit).
- A drawing review: the host representative, the supervision engineer and the management side.
- A work permit in a zone signing sequentially (the old route): the six offices, one at a time,
  each only once the ones before it have signed.
"""

from __future__ import annotations

from dataclasses import dataclass

from .twin import OFFICES, next_office

BASE_ROLES = frozenset({"host_rep", "construction_lead", "supervision_engineer"})
HIGH_RISK = frozenset({"hot_work", "confined_space", "lifting", "blind_plate"})
DRAWING_ROLES = frozenset({"host_rep", "supervision_engineer", "management_safety"})


def approver(cls: str, grade: str | None) -> str | None:
    """Table B.1's approver (None: the SPEC's roles suffice)."""
    if cls == "hot_work":
        return {"special": "enterprise_leader", "first": "safety_department"}.get(
            grade or "second", "host_rep"
        )
    if cls in ("confined_space", "blind_plate"):
        return "host_rep"
    if cls == "work_at_height":
        return {"IV": "plant_manager", "II": "professional_department", "III": "professional_department"}.get(
            grade or "I", "host_rep"
        )
    if cls == "lifting":
        return "plant_manager" if grade == "first" else "professional_department"
    if cls == "temp_electricity":
        return "power_supply_unit"
    if cls in ("excavation", "road_breaking"):
        return "professional_department"
    return None


def parallel_roles(cls: str, grade: str | None) -> frozenset[str]:
    roles = set(BASE_ROLES)
    if cls in HIGH_RISK:
        roles.add("management_safety")
    a = approver(cls, grade)
    if a is not None:
        roles.add(a)
    return frozenset(roles)


@dataclass(frozen=True)
class Expectation:
    """What the simulator expects of one permit's signatures."""

    permit_id: str
    kind: str  # work_permit / drawing_review
    cls: str | None = None
    grade: str | None = None
    sequential: bool = False


def refusal(exp: Expectation, role: str, signed: set[str]) -> str | None:
    """Why the person asked for ``role`` refuses to sign (None: the request is right).
    ``signed``: the roles the simulator has signed for on this permit's current revision."""
    if exp.kind == "drawing_review":
        expected = DRAWING_ROLES
    elif exp.sequential:
        turn = next_office(signed)
        if role != turn:
            why = "not one of the six offices" if role not in OFFICES else f"it is {turn or 'nobody'}'s turn"
            return f"permit {exp.permit_id}: asked to sign as {role} on the sequential route, but {why}"
        return None
    else:
        expected = parallel_roles(exp.cls or "general", exp.grade)
    if role not in expected:
        return (
            f"permit {exp.permit_id}: asked to sign as {role}, which its class "
            f"{exp.cls or exp.kind}{'/' + exp.grade if exp.grade else ''} does not need "
            f"(the simulator expects {', '.join(sorted(expected))})"
        )
    return None
