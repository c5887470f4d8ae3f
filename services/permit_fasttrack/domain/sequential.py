"""The old sequential sign-off, pure (issue 19): the route the zones replaced, kept so the demo
plays it through the same machinery and measures it instead of assuming it.

In a zone whose ``signing`` is ``sequential`` a work permit is signed by the offices of
``SEQUENTIAL_ORDER`` — construction unit safety officer → general contractor's safety officer →
its engineer → its manager → supervision → owner — each asked only once the one before has
approved, each signing at a desk in office hours (working days, not rest days or public
holidays, between ``office_opens`` and ``office_closes`` in the site's time zone).

Choices where the issue leaves room, stated once:
- The offices are roster roles (``ZoneRole``) of the zone, each held by a member of the unit the
  office belongs to: the construction unit's safety officer and the general contractor's three
  offices by the construction unit, supervision by the supervision unit, the owner by the
  management unit (基建中心, the owner's project management).
- A drawing review keeps its own rounds: only work permits are signed sequentially.
- The rest of the permit is the same machinery: gas tests, guardian, isolations and the issue
  itself follow GB 30871-2022 exactly as in a parallel zone; the SLA is the same (a sequential
  permit is expected to miss it: that is what the comparison measures).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from shared.events.catalog import SEQUENTIAL_ORDER, CommandRefusal, SigningMode

from .rules import Rules

OFFICES: tuple[str, ...] = tuple(s.value for s in SEQUENTIAL_ORDER)
OFFICE_UNIT = {
    "construction_safety_officer": "construction",
    "contractor_safety_officer": "construction",
    "contractor_engineer": "construction",
    "contractor_manager": "construction",
    "supervision": "supervision",
    "owner": "management",
}


def signing_of(zone: dict[str, Any] | None) -> SigningMode:
    """The zone's signing mode (a zone without settings signs in parallel)."""
    settings = (zone or {}).get("settings") or {}
    return SigningMode(settings.get("signing") or SigningMode.PARALLEL)


def next_office(signed: set[str]) -> str | None:
    """The office whose turn it is (None: every office has signed)."""
    return next((o for o in OFFICES if o not in signed), None)


def office_day(d: date, rules: Rules) -> bool:
    return d.weekday() not in rules.rest_weekdays and d not in rules.public_holidays


def in_office_hours(at: datetime, rules: Rules) -> bool:
    local = at.astimezone(rules.tz)
    return office_day(local.date(), rules) and rules.office_opens <= local.time() < rules.office_closes


def next_opening(at: datetime, rules: Rules) -> datetime:
    """``at`` itself in office hours, else when the offices next open."""
    if in_office_hours(at, rules):
        return at
    local = at.astimezone(rules.tz)
    day = local.date() if local.time() < rules.office_opens else local.date() + timedelta(days=1)
    while not office_day(day, rules):
        day += timedelta(days=1)
    return datetime.combine(day, rules.office_opens, tzinfo=rules.tz)


def turn_refusals(role: str, signed: set[str], at: datetime, rules: Rules) -> list[str]:
    """Why an office may not sign now: not its turn, or the offices are closed."""
    out: list[str] = []
    current = next_office(signed)
    if role in OFFICES and role not in signed and role != current:
        out.append(CommandRefusal.OUT_OF_TURN)
    if not in_office_hours(at, rules):
        out.append(CommandRefusal.OUTSIDE_OFFICE_HOURS)
    return out
