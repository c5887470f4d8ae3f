"""Where a member's organisational relationship stands, and so whether the member votes — pure.

Shared by zone-registry (floating members, ``zone.transfer-due``) and activity-log (a 党员大会's
quorum): both read the same member snapshot (``shared.events.catalog.Member``), so both must
judge it the same way.

The rules:
- 流动党员: a member away from the home branch for a short time (under six months) holds a
  《流动党员活动证》 and takes part in the organisational life of the branch where they work,
  pays dues there, but has no vote and cannot elect or be elected; away six months or more
  (at a fixed place), the organisational relationship should be transferred there
  (中组部《关于加强和改进流动党员管理工作的意见》, 2006, and the 《流动党员活动证》 rules it
  builds on). Until it has moved, the member still votes only at home.
- 预备党员 have the rights of full members except the vote, the right to elect and to be
  elected (《中国共产党章程》第七条).

Choices where the rules leave room, stated once:
- Staff of the zone's units are full members of its joint branch (SPEC §2 counts only the
  others as floating members brought back).
- "Six months" are calendar months from ``away_since`` (31 August + 6 months = the last day
  of February); on that day the member has been away six months. A floating member whose
  ``away_since`` is unknown counts from the day they joined the zone (``joined_on``); with
  neither, they hold a certificate (no vote) and no transfer can fall due.
"""

from __future__ import annotations

import calendar
from datetime import date

from shared.events.catalog import Employment, Member, MemberStanding

FLOATING_MONTHS = 6  # 六个月: the line between the activity certificate and a transfer


def add_months(d: date, months: int) -> date:
    """``d`` plus whole calendar months, clamped to the last day of a shorter month."""
    m = d.month - 1 + months
    year, month = d.year + m // 12, m % 12 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def months_between(start: date, on: date) -> int:
    """Whole calendar months from ``start`` to ``on`` (0 when ``on`` is before the first)."""
    if on < start:
        return 0
    n = (on.year - start.year) * 12 + (on.month - start.month)
    return n if add_months(start, n) <= on else n - 1


def is_floating(member: Member) -> bool:
    """Not staff of a zone unit: a floating member brought back into organisational life (SPEC §2)."""
    return member.employment != Employment.STAFF


def away_since(member: Member) -> date | None:
    return member.away_since or member.joined_on


def transfer_due_on(member: Member) -> date | None:
    """The day a floating member has been away six months: the transfer falls due."""
    start = away_since(member)
    if not is_floating(member) or start is None:
        return None
    return add_months(start, FLOATING_MONTHS)


def standing(member: Member, on: date) -> MemberStanding:
    """The member's standing in the zone's branch on a day."""
    if member.probationary:
        return MemberStanding.PROBATIONARY
    if not is_floating(member):
        return MemberStanding.FULL
    if member.transferred_on is not None and member.transferred_on <= on:
        return MemberStanding.TRANSFERRED
    due = transfer_due_on(member)
    if due is None or on < due:
        return MemberStanding.CERTIFICATE
    return MemberStanding.TRANSFER_DUE


VOTING = frozenset({MemberStanding.FULL, MemberStanding.TRANSFERRED})


def has_vote(s: MemberStanding) -> bool:
    """Only full members of the branch vote: not 预备党员, not holders of a 流动党员活动证, and
    not a member whose transfer is due but has not happened."""
    return s in VOTING
