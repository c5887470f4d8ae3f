"""Who may sign or act on a permit (issue 13, GB 30871-2022 §4.9–4.11, Table B.1).

- The actor is read from the command's CloudEvents authcontext: none → ``actor_unknown`` (a
  trusted system acts for the member it names); a person must be the member the command names
  (``not_signer``).
- A roster role must be held on the zone's roster by a member employed by the unit of that role
  (``role_unit_mismatch``): host_rep — the host unit, construction_lead — the construction unit,
  supervision_engineer — the supervision unit, management_safety — the management unit.
- An approver role of Table B.1 (enterprise_leader, safety_department, plant_manager,
  professional_department, power_supply_unit) is held in the enterprise's authorization register;
  the plant manager, professional department and power supply unit are the host unit's.
- A register entry with an expired special-operation certificate refuses its holder
  (``certificate_expired``, §4.9–4.10).
- On site (§4.11 a): ``site_presence`` is the work area's id, or ``qr:<area>`` / ``nfc:<area>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared.actor import Actor
from shared.events.catalog import CommandRefusal as R

from .classes import REGISTER_ROLES

# Table B.1's approvers of "the unit" (所在单位): held for the host unit where the work is.
UNIT_REGISTER_ROLES = frozenset({"plant_manager", "professional_department", "power_supply_unit"})

ROLE_UNIT = {
    "host_rep": "host",
    "construction_lead": "construction",
    "supervision_engineer": "supervision",
    "management_safety": "management",
}
CREW_UNITS = {"construction", "subcontractor"}


@dataclass
class People:
    """The roster (a zone snapshot) and the register entries a decision needs."""

    zone: dict[str, Any] | None
    register: dict[str, dict[str, Any]] = field(default_factory=dict)  # member_id -> entry
    tz: Any = None  # the site's time zone (certificates expire by local date)

    def member(self, member_id: str) -> dict[str, Any] | None:
        if self.zone is None:
            return None
        return next((m for m in self.zone.get("members", []) if m["member_id"] == member_id), None)

    def unit_role(self, unit_id: str | None) -> str | None:
        if self.zone is None or unit_id is None:
            return None
        return next((str(u["role"]) for u in self.zone.get("units", []) if u["unit_id"] == unit_id), None)

    def employer_role(self, member_id: str) -> str | None:
        m = self.member(member_id)
        return None if m is None else self.unit_role(m.get("employer_unit_id"))

    def host_unit(self) -> str | None:
        return None if self.zone is None else self.zone.get("host_unit_id")

    def register_unit_ok(self, entry: dict[str, Any], role: str) -> bool:
        """A unit-level approver (the plant's manager, professional department, power supply)
        belongs to the host unit where the work is; the enterprise's leader and safety
        department serve every zone."""
        return (
            role not in UNIT_REGISTER_ROLES
            or self.host_unit() is None
            or entry.get("unit_id") == self.host_unit()
        )

    def holders(self, role: str) -> list[str]:
        if role in REGISTER_ROLES:
            return sorted(
                mid
                for mid, e in self.register.items()
                if role in e.get("roles", []) and self.register_unit_ok(e, role)
            )
        if self.zone is None:
            return []
        return sorted(m["member_id"] for m in self.zone.get("members", []) if m.get("zone_role") == role)

    def secretaries(self) -> list[str]:
        return self.holders("secretary")


def actor_refusals(actor: Actor | None, member_id: str) -> list[str]:
    if actor is None:
        return [R.ACTOR_UNKNOWN]
    if actor.is_person and actor.id != member_id:
        return [R.NOT_SIGNER]
    return []


def certificate_refusals(people: People, member_id: str, today: date) -> list[str]:
    entry = people.register.get(member_id)
    if entry is None:
        return []
    latest: dict[str, date] = {}
    for c in entry.get("certificates", []):
        expires = (
            c["expires_on"]
            if isinstance(c["expires_on"], date)
            else date.fromisoformat(str(c["expires_on"])[:10])
        )
        latest[c["kind"]] = max(latest.get(c["kind"], expires), expires)
    return [R.CERTIFICATE_EXPIRED] if any(d < today for d in latest.values()) else []


def holder_refusals(people: People, member_id: str, role: str, today: date) -> list[str]:
    """Does ``member_id`` hold ``role`` for this permit's zone (roster or register)?"""
    out: list[str] = []
    if role in REGISTER_ROLES:
        entry = people.register.get(member_id)
        if entry is None or role not in entry.get("roles", []):
            out.append(R.SIGNER_LACKS_ROLE)
        elif not people.register_unit_ok(entry, role):
            out.append(R.ROLE_UNIT_MISMATCH)
    else:
        m = people.member(member_id)
        if m is None or m.get("zone_role") != role:
            out.append(R.SIGNER_LACKS_ROLE)
        elif role in ROLE_UNIT and people.employer_role(member_id) != ROLE_UNIT[role]:
            out.append(R.ROLE_UNIT_MISMATCH)
    return out + certificate_refusals(people, member_id, today)


def on_site(presence: str | None, area: str | None) -> bool:
    if presence is None or area is None:
        return False
    return any(presence == f"{prefix}{area}" for prefix in ("", "qr:", "nfc:"))


def has_token_role(actor: Actor | None, role: str) -> bool:
    return actor is not None and actor.has_role(role)
