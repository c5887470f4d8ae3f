"""Attendance per member and per activity, leave (请假) and a 党员大会's quorum — pure (issue 19).

The rules:
- A 党员大会 may vote only with more than half of the members with a vote present, and a
  matter passes when the votes for exceed half of the members *expected* with a vote
  (《中国共产党支部工作条例（试行）》第十一条: 表决必须有半数以上有表决权的党员到会方可进行，
  赞成人数超过应到会有表决权的党员的半数为通过; "more than half" as 《中国共产党发展党员工作
  细则》第二十条 words the same quorum: 有表决权的到会人数必须超过应到会有表决权人数的半数).
- Who has a vote: ``shared.membership`` (floating members under six months hold a
  流动党员活动证 — attend, no vote; 预备党员 have no vote, 党章 第七条).

Choices where the rules leave room, stated once:
- The members expected at an activity are those on the roster who had joined by its start
  date. A member on leave is excused, not present: leave does not lower the number expected
  for a quorum (the 条例 counts 应到会 members).
- Leave counts only when it reached the system before the activity started (the later of
  the request's own time and the command's time — a backdated request does not help); a
  leave recorded later leaves the member absent. A member on leave who came anyway is present.
- A decision whose votes (for + against + abstentions) exceed the voters present does not pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from shared.events.catalog import (
    ActivityKind,
    AttendanceStatus,
    LeaveRefusal,
    MeetingDecision,
    Member,
    MemberStanding,
    ZoneSnapshot,
    ZoneStatus,
)
from shared.membership import has_vote, standing

QUORUM_KINDS = frozenset({ActivityKind.PARTY_MEMBERS_MEETING.value})


# --------------------------------------------------------------------------- leave


@dataclass(frozen=True)
class Leave:
    """A leave accepted for an activity; ``received_at`` is when it reached the system."""

    leave_id: str
    activity_id: str
    member_id: str
    received_at: datetime
    reason: str


def received_at(requested_at: datetime, command_time: datetime) -> datetime:
    """The moment a leave counts from: a request cannot be dated before it was sent."""
    return max(requested_at, command_time)


def leave_refusals(
    *,
    zone: ZoneSnapshot | None,
    member_id: str,
    reason: str,
    received: datetime,
    starts_at: datetime,
    already: bool,
) -> list[LeaveRefusal]:
    """Every reason a leave request is refused (empty: record it). ``starts_at`` is the
    recorded start when the activity is already recorded, else the announced one."""
    out: list[LeaveRefusal] = []
    if zone is None:
        out.append(LeaveRefusal.UNKNOWN_ZONE)
    elif zone.status != ZoneStatus.ACTIVE:
        out.append(LeaveRefusal.ZONE_NOT_ACTIVE)
    if zone is not None and not any(m.member_id == member_id for m in zone.members):
        out.append(LeaveRefusal.MEMBER_NOT_ON_ROSTER)
    if received >= starts_at:
        out.append(LeaveRefusal.LEAVE_AFTER_START)
    if already:
        out.append(LeaveRefusal.DUPLICATE_LEAVE)
    if not reason.strip():
        out.append(LeaveRefusal.REASON_MISSING)
    return out


# --------------------------------------------------------------------------- attendance


@dataclass(frozen=True)
class AttendanceRow:
    member_id: str
    status: AttendanceStatus
    standing: MemberStanding

    @property
    def has_vote(self) -> bool:
        return has_vote(self.standing)


@dataclass(frozen=True)
class DecisionOutcome:
    decision_id: str
    title: str
    votes_for: int
    votes_against: int
    abstentions: int
    votes_needed: int
    passed: bool


@dataclass(frozen=True)
class Attendance:
    """Who was present, on leave or absent at one activity, and — for a 党员大会 — the quorum."""

    activity_id: str
    zone_id: str
    kind: str
    started_at: datetime
    rows: tuple[AttendanceRow, ...]
    decisions: tuple[DecisionOutcome, ...] = field(default_factory=tuple)

    def count(self, status: AttendanceStatus) -> int:
        return sum(1 for r in self.rows if r.status is status)

    @property
    def voters_expected(self) -> int:
        return sum(1 for r in self.rows if r.has_vote)

    @property
    def voters_present(self) -> int:
        return sum(1 for r in self.rows if r.has_vote and r.status is AttendanceStatus.PRESENT)

    @property
    def quorum_needed(self) -> int | None:
        """More than half of the members expected with a vote."""
        return self.voters_expected // 2 + 1 if self.kind in QUORUM_KINDS else None

    @property
    def quorum_held(self) -> bool | None:
        needed = self.quorum_needed
        return None if needed is None else self.voters_present >= needed


def _status(member_id: str, attendees: set[str], excused: set[str]) -> AttendanceStatus:
    if member_id in attendees:
        return AttendanceStatus.PRESENT
    return AttendanceStatus.ON_LEAVE if member_id in excused else AttendanceStatus.ABSENT


def _decide(d: MeetingDecision, expected: int, present: int, quorum_held: bool) -> DecisionOutcome:
    needed = expected // 2 + 1
    cast = d.votes_for + d.votes_against + d.abstentions
    return DecisionOutcome(
        decision_id=d.decision_id,
        title=d.title,
        votes_for=d.votes_for,
        votes_against=d.votes_against,
        abstentions=d.abstentions,
        votes_needed=needed,
        passed=quorum_held and cast <= present and d.votes_for >= needed,
    )


def attendance(
    *,
    activity_id: str,
    zone_id: str,
    kind: str,
    started_at: datetime,
    local_day: date,
    attendee_ids: Iterable[str],
    roster: Iterable[Member],
    leaves: Iterable[Leave],
    decisions: Sequence[MeetingDecision] = (),
) -> Attendance:
    """Attendance at one activity: every member expected (on the roster, joined by its local
    start date ``local_day``), with their standing on that day."""
    attendees = set(attendee_ids)
    excused = {lv.member_id for lv in leaves if lv.activity_id == activity_id and lv.received_at < started_at}
    expected = [m for m in roster if m.joined_on is None or m.joined_on <= local_day]
    rows = tuple(
        AttendanceRow(m.member_id, _status(m.member_id, attendees, excused), standing(m, local_day))
        for m in sorted(expected, key=lambda m: m.member_id)
    )
    att = Attendance(activity_id, zone_id, kind, started_at, rows)
    if kind not in QUORUM_KINDS or not decisions:
        return att
    held = bool(att.quorum_held)
    outcomes = tuple(_decide(d, att.voters_expected, att.voters_present, held) for d in decisions)
    return Attendance(activity_id, zone_id, kind, started_at, rows, outcomes)


# --------------------------------------------------------------------------- per member


@dataclass(frozen=True)
class MemberAttendance:
    """One member's record over a set of activities."""

    member_id: str
    present: int
    on_leave: int
    absent: int

    @property
    def expected(self) -> int:
        return self.present + self.on_leave + self.absent

    @property
    def rate(self) -> float | None:
        """Share of the activities the member was expected at that they attended."""
        return round(self.present / self.expected, 4) if self.expected else None


def member_attendance(member_id: str, records: Iterable[Attendance]) -> MemberAttendance:
    counts = {s: 0 for s in AttendanceStatus}
    for att in records:
        for row in att.rows:
            if row.member_id == member_id:
                counts[row.status] += 1
    return MemberAttendance(
        member_id,
        counts[AttendanceStatus.PRESENT],
        counts[AttendanceStatus.ON_LEAVE],
        counts[AttendanceStatus.ABSENT],
    )
