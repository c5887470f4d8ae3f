"""Attendance per member and activity, leave recorded before the start, a 党员大会's quorum and
its decisions, without I/O."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.activity_log.attendance import (
    Attendance,
    Leave,
    attendance,
    leave_refusals,
    member_attendance,
    received_at,
)
from shared.events.catalog import (
    AttendanceStatus,
    LeaveRefusal,
    MeetingDecision,
    MemberStanding,
    ZoneSnapshot,
)
from tests.unit.examples import ZONE

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 9, 10, 14, tzinfo=TZ)
DAY = date(2026, 9, 10)
P, L, A = AttendanceStatus.PRESENT, AttendanceStatus.ON_LEAVE, AttendanceStatus.ABSENT


def person(member_id: str, employment: str = "staff", **kw: object) -> dict:
    return {
        "member_id": member_id,
        "name": member_id,
        "home_branch": "某党支部",
        "employer_unit_id": "U-CON-1",
        "employment": employment,
        "zone_role": "member",
        **kw,
    }


def zone(*members: dict, status: str = "active") -> ZoneSnapshot:
    return ZoneSnapshot.model_validate({**ZONE, "status": status, "members": list(members)})


def roster(*members: dict) -> list:
    return list(zone(*members).members)


# --------------------------------------------------------------------------- leave


def refusals(**kw: object) -> list[LeaveRefusal]:
    args: dict = {
        "zone": zone(person("M-1")),
        "member_id": "M-1",
        "reason": "赴外地培训",
        "received": START - timedelta(hours=2),
        "starts_at": START,
        "already": False,
    }
    args.update(kw)
    return leave_refusals(**args)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"zone": None}, LeaveRefusal.UNKNOWN_ZONE),
        ({"zone": zone(person("M-1"), status="proposed")}, LeaveRefusal.ZONE_NOT_ACTIVE),
        ({"member_id": "M-9"}, LeaveRefusal.MEMBER_NOT_ON_ROSTER),
        ({"received": START}, LeaveRefusal.LEAVE_AFTER_START),  # at the start is too late
        ({"received": START + timedelta(minutes=5)}, LeaveRefusal.LEAVE_AFTER_START),
        ({"already": True}, LeaveRefusal.DUPLICATE_LEAVE),
        ({"reason": "  "}, LeaveRefusal.REASON_MISSING),
    ],
)
def test_each_leave_refusal(change: dict, code: LeaveRefusal) -> None:
    assert refusals(**change) == [code]


def test_a_leave_one_second_before_the_start_is_recorded() -> None:
    assert refusals(received=START - timedelta(seconds=1)) == []


def test_a_backdated_request_counts_from_when_it_was_sent() -> None:
    sent = START + timedelta(hours=1)
    assert received_at(START - timedelta(days=1), sent) == sent
    assert refusals(received=received_at(START - timedelta(days=1), sent)) == [LeaveRefusal.LEAVE_AFTER_START]


# --------------------------------------------------------------------------- attendance


def leave(member_id: str, at: datetime, activity_id: str = "A-1") -> Leave:
    return Leave(f"LV-{member_id}", activity_id, member_id, at, "病假")


def meeting(
    members: list, attendees: list[str], leaves: list[Leave] | None = None, **kw: object
) -> Attendance:
    args: dict = {
        "activity_id": "A-1",
        "zone_id": "Z-1",
        "kind": "party_members_meeting",
        "started_at": START,
        "local_day": DAY,
        "attendee_ids": attendees,
        "roster": members,
        "leaves": leaves or [],
    }
    args.update(kw)
    return attendance(**args)


def statuses(att: Attendance) -> dict[str, AttendanceStatus]:
    return {r.member_id: r.status for r in att.rows}


def test_each_member_is_present_on_leave_or_absent() -> None:
    members = roster(person("M-1"), person("M-2"), person("M-3"))
    att = meeting(members, ["M-1"], [leave("M-2", START - timedelta(days=1))])
    assert statuses(att) == {"M-1": P, "M-2": L, "M-3": A}
    assert (att.count(P), att.count(L), att.count(A)) == (1, 1, 1)


def test_leave_recorded_after_the_start_leaves_the_member_absent() -> None:
    att = meeting(roster(person("M-1"), person("M-2")), ["M-1"], [leave("M-2", START + timedelta(minutes=1))])
    assert statuses(att)["M-2"] is A


def test_a_member_on_leave_who_came_anyway_is_present() -> None:
    att = meeting(roster(person("M-1")), ["M-1"], [leave("M-1", START - timedelta(days=1))])
    assert statuses(att)["M-1"] is P


def test_a_leave_for_another_activity_does_not_excuse() -> None:
    att = meeting(roster(person("M-1")), [], [leave("M-1", START - timedelta(days=1), activity_id="A-2")])
    assert statuses(att)["M-1"] is A


def test_members_who_joined_after_the_activity_are_not_expected() -> None:
    att = meeting(roster(person("M-1"), person("M-2", joined_on="2026-09-11")), ["M-1"])
    assert [r.member_id for r in att.rows] == ["M-1"]


# --------------------------------------------------------------------------- quorum


def test_exactly_half_of_the_voters_is_no_quorum_and_one_more_is() -> None:
    members = roster(*(person(f"M-{i}") for i in range(1, 5)))  # four voters
    half = meeting(members, ["M-1", "M-2"])
    assert (half.voters_expected, half.voters_present, half.quorum_needed, half.quorum_held) == (
        4,
        2,
        3,
        False,
    )
    more = meeting(members, ["M-1", "M-2", "M-3"])
    assert more.quorum_held is True


def test_leave_does_not_lower_the_number_expected_for_the_quorum() -> None:
    members = roster(*(person(f"M-{i}") for i in range(1, 5)))
    excused = [leave("M-3", START - timedelta(days=1)), leave("M-4", START - timedelta(days=1))]
    att = meeting(members, ["M-1", "M-2"], excused)
    assert att.voters_expected == 4 and att.quorum_held is False


def test_floating_members_under_six_months_attend_without_a_vote() -> None:
    members = roster(
        person("M-1"),
        person("M-2"),
        person("M-3", "migrant_worker", away_since="2026-06-01"),
        person("M-4", "migrant_worker", away_since="2026-06-01"),
        person("M-5", "dispatched", away_since="2026-06-01"),
    )
    att = meeting(members, ["M-2", "M-3", "M-4", "M-5"])
    rows = {r.member_id: r for r in att.rows}
    assert rows["M-3"].standing is MemberStanding.CERTIFICATE and not rows["M-3"].has_vote
    assert rows["M-3"].status is P
    # 5 present, but only 2 voters expected and 1 of them present: no quorum.
    assert (att.voters_expected, att.voters_present, att.quorum_held) == (2, 1, False)


def test_a_transferred_member_votes_and_a_probationary_one_does_not() -> None:
    members = roster(
        person("M-1"),
        person("M-2", "migrant_worker", away_since="2026-01-01", transferred_on="2026-08-01"),
        person("M-3", probationary=True),
    )
    att = meeting(members, ["M-2", "M-3"])
    assert (att.voters_expected, att.voters_present, att.quorum_held) == (2, 1, False)
    assert {r.member_id: r.standing for r in att.rows}["M-3"] is MemberStanding.PROBATIONARY


def test_a_meeting_with_no_voters_cannot_hold_a_quorum() -> None:
    att = meeting(roster(person("M-1", "migrant_worker", away_since="2026-08-01")), ["M-1"])
    assert att.voters_expected == 0 and att.quorum_held is False


def test_other_activities_have_no_quorum() -> None:
    att = meeting(roster(person("M-1")), [], kind="theme_party_day")
    assert att.quorum_needed is None and att.quorum_held is None


# --------------------------------------------------------------------------- decisions


def decision(votes_for: int, against: int = 0, abstain: int = 0) -> MeetingDecision:
    return MeetingDecision(
        decision_id="D-1",
        title="接收预备党员",
        votes_for=votes_for,
        votes_against=against,
        abstentions=abstain,
    )


def test_a_decision_passes_with_more_than_half_of_the_voters_expected() -> None:
    members = roster(*(person(f"M-{i}") for i in range(1, 6)))  # five voters: needs 3
    present = ["M-1", "M-2", "M-3", "M-4"]
    passed = meeting(members, present, decisions=[decision(3, 1)]).decisions[0]
    assert passed.votes_needed == 3 and passed.passed
    failed = meeting(members, present, decisions=[decision(2, 2)]).decisions[0]
    assert not failed.passed


def test_no_decision_passes_without_quorum() -> None:
    members = roster(*(person(f"M-{i}") for i in range(1, 6)))
    out = meeting(members, ["M-1", "M-2"], decisions=[decision(2)]).decisions[0]
    assert not out.passed


def test_votes_beyond_the_voters_present_do_not_pass() -> None:
    members = roster(*(person(f"M-{i}") for i in range(1, 6)))
    out = meeting(members, ["M-1", "M-2", "M-3"], decisions=[decision(3, 1)]).decisions[0]
    assert not out.passed


def test_a_members_record_over_activities() -> None:
    members = roster(person("M-1"), person("M-2"))
    a1 = meeting(members, ["M-1", "M-2"])
    a2 = meeting(members, ["M-2"], [leave("M-1", START - timedelta(days=1), "A-2")], activity_id="A-2")
    a3 = meeting(members, ["M-2"], activity_id="A-3")
    rec = member_attendance("M-1", [a1, a2, a3])
    assert (rec.present, rec.on_leave, rec.absent, rec.expected, rec.rate) == (1, 1, 1, 3, 0.3333)
    assert member_attendance("M-9", [a1]).rate is None
