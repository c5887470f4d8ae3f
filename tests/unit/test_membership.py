"""A member's standing and vote: staff, 预备党员, 流动党员活动证 under six months, transfer due
at six months, transferred — and the calendar arithmetic of "six months"."""

from __future__ import annotations

from datetime import date

import pytest

from shared.events.catalog import Member, MemberStanding
from shared.membership import add_months, has_vote, months_between, standing, transfer_due_on


def member(employment: str = "migrant_worker", **kw: object) -> Member:
    base: dict = {
        "member_id": "M-1",
        "name": "李师傅",
        "home_branch": "四川省某县某村党支部",
        "employer_unit_id": "U-CON-1",
        "employment": employment,
        "zone_role": "member",
    }
    return Member.model_validate({**base, **kw})


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 15), 6, date(2026, 7, 15)),
        (date(2025, 8, 31), 6, date(2026, 2, 28)),  # clamped to a short month
        (date(2023, 8, 31), 6, date(2024, 2, 29)),  # leap year
        (date(2026, 7, 1), 6, date(2027, 1, 1)),  # across the year
    ],
)
def test_add_months_clamps_to_the_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_months_between_counts_whole_months_only() -> None:
    assert months_between(date(2026, 1, 15), date(2026, 7, 14)) == 5
    assert months_between(date(2026, 1, 15), date(2026, 7, 15)) == 6
    assert months_between(date(2026, 1, 15), date(2026, 1, 1)) == 0


def test_staff_are_full_members_and_vote() -> None:
    s = standing(member("staff", joined_on="2026-01-01"), date(2026, 12, 1))
    assert s is MemberStanding.FULL and has_vote(s)


def test_a_floating_member_under_six_months_holds_a_certificate_without_vote() -> None:
    m = member(away_since="2026-01-15")
    assert transfer_due_on(m) == date(2026, 7, 15)
    s = standing(m, date(2026, 7, 14))  # the last day under six months
    assert s is MemberStanding.CERTIFICATE and not has_vote(s)


def test_at_six_months_the_transfer_is_due_and_there_is_still_no_vote() -> None:
    s = standing(member(away_since="2026-01-15"), date(2026, 7, 15))
    assert s is MemberStanding.TRANSFER_DUE and not has_vote(s)


def test_once_transferred_the_member_votes() -> None:
    m = member(away_since="2026-01-15", transferred_on="2026-07-20")
    assert standing(m, date(2026, 7, 19)) is MemberStanding.TRANSFER_DUE
    s = standing(m, date(2026, 7, 20))
    assert s is MemberStanding.TRANSFERRED and has_vote(s)


def test_away_since_defaults_to_the_day_the_member_joined_the_zone() -> None:
    m = member(joined_on="2026-03-01")
    assert transfer_due_on(m) == date(2026, 9, 1)
    assert standing(m, date(2026, 9, 1)) is MemberStanding.TRANSFER_DUE


def test_a_floating_member_with_no_dates_holds_a_certificate_and_never_falls_due() -> None:
    m = member()
    assert transfer_due_on(m) is None
    assert standing(m, date(2030, 1, 1)) is MemberStanding.CERTIFICATE


def test_a_probationary_member_has_no_vote_even_as_staff() -> None:
    s = standing(member("staff", probationary=True), date(2026, 5, 1))
    assert s is MemberStanding.PROBATIONARY and not has_vote(s)
