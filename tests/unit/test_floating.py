"""Floating members brought back: transfer due once at six months, the transfer recorded,
each member's history and the party office's figures; the zone's own settings."""

from __future__ import annotations

from datetime import date

import pytest

from services.zone_registry.floating import (
    brought_back,
    configured,
    figures,
    settings_refusals,
    transfer_refusals,
    transferred,
    transfers_due,
)
from shared.events.catalog import (
    Member,
    MemberStanding,
    SigningMode,
    TransferRefusal,
    ZoneSettingRefusal,
    ZoneSettings,
)
from shared.membership import standing


def member(member_id: str = "M-2", employment: str = "migrant_worker", **kw: object) -> Member:
    return Member.model_validate(
        {
            "member_id": member_id,
            "name": "李师傅",
            "home_branch": "四川省达州市某村党支部",
            "employer_unit_id": "U-CON-1",
            "employment": employment,
            "zone_role": "member",
            **kw,
        }
    )


AWAY = member(away_since="2026-01-15", joined_on="2026-02-01")


# --------------------------------------------------------------------------- transfer due


def test_no_transfer_is_due_the_day_before_six_months() -> None:
    assert transfers_due("Z-1", [AWAY], date(2026, 7, 14)) == []


def test_the_transfer_falls_due_at_six_months_with_the_figures() -> None:
    (due,) = transfers_due("Z-1", [AWAY], date(2026, 7, 15))
    assert (due.member_id, due.away_since, due.due_on, due.months_away) == (
        "M-2",
        date(2026, 1, 15),
        date(2026, 7, 15),
        6,
    )
    assert due.home_branch == "四川省达州市某村党支部" and due.employment == "migrant_worker"


def test_the_transfer_is_raised_once_per_member_and_zone() -> None:
    assert transfers_due("Z-1", [AWAY], date(2026, 9, 1), already_raised=["M-2"]) == []
    assert len(transfers_due("Z-2", [AWAY], date(2026, 9, 1), already_raised=[])) == 1


def test_a_probationary_floating_member_falls_due_too() -> None:
    m = member(away_since="2026-01-15", probationary=True)
    assert [d.member_id for d in transfers_due("Z-1", [m], date(2026, 7, 15))] == ["M-2"]


def test_staff_and_transferred_members_never_fall_due() -> None:
    staff = member("M-1", "staff", joined_on="2025-01-01")
    moved = member("M-3", away_since="2026-01-15", transferred_on="2026-07-20")
    assert transfers_due("Z-1", [staff, moved], date(2026, 12, 1)) == []


# --------------------------------------------------------------------------- record the transfer


@pytest.mark.parametrize(
    ("status", "m", "on", "code"),
    [
        (None, AWAY, date(2026, 7, 20), TransferRefusal.UNKNOWN_ZONE),
        ("closed", AWAY, date(2026, 7, 20), TransferRefusal.ZONE_CLOSED),
        ("active", None, date(2026, 7, 20), TransferRefusal.MEMBER_NOT_ON_ROSTER),
        ("active", member("M-1", "staff"), date(2026, 7, 20), TransferRefusal.NOT_FLOATING),
        (
            "active",
            member(away_since="2026-01-15", transferred_on="2026-07-16"),
            date(2026, 7, 20),
            TransferRefusal.ALREADY_TRANSFERRED,
        ),
        ("active", AWAY, date(2026, 1, 14), TransferRefusal.TRANSFER_BEFORE_AWAY),
    ],
)
def test_each_transfer_refusal(status: str | None, m: Member | None, on: date, code: TransferRefusal) -> None:
    assert transfer_refusals(status, m, on) == [code]


def test_a_transfer_before_six_months_is_accepted_and_gives_the_vote() -> None:
    assert transfer_refusals("active", AWAY, date(2026, 3, 1)) == []
    moved = transferred(AWAY, date(2026, 3, 1), "联合党支部")
    assert moved.home_branch == "联合党支部" and moved.transferred_on == date(2026, 3, 1)
    assert standing(moved, date(2026, 3, 1)) is MemberStanding.TRANSFERRED


# --------------------------------------------------------------------------- history and figures


def test_the_history_of_a_member_brought_back() -> None:
    rec = brought_back(
        "Z-1",
        AWAY,
        [date(2026, 1, 20), date(2026, 2, 1), date(2026, 3, 5), date(2026, 2, 20)],
    )
    assert rec is not None
    assert (rec.from_home_branch, rec.brought_back_on, rec.away_since) == (
        "四川省达州市某村党支部",
        date(2026, 2, 1),
        date(2026, 1, 15),
    )
    # Only what was attended since being brought back counts.
    assert (rec.activities_attended, rec.last_attended_on) == (3, date(2026, 3, 5))
    assert rec.transfer_due_on == date(2026, 7, 15)
    assert brought_back("Z-1", member("M-1", "staff"), []) is None


def test_a_transferred_member_keeps_the_branch_they_came_from() -> None:
    moved = transferred(AWAY, date(2026, 7, 20), "联合党支部")
    rec = brought_back("Z-1", moved, [], original_home_branch="四川省达州市某村党支部")
    assert rec is not None and rec.from_home_branch == "四川省达州市某村党支部"
    assert rec.standing_on(date(2026, 7, 19)) is MemberStanding.TRANSFER_DUE
    assert rec.standing_on(date(2026, 7, 20)) is MemberStanding.TRANSFERRED


def test_the_figures_count_history_not_only_the_current_number() -> None:
    on = date(2026, 8, 1)
    a = brought_back("Z-1", AWAY, [date(2026, 2, 3)])  # due since 15 July
    b = brought_back("Z-1", member("M-3", "dispatched", joined_on="2026-06-01"), [])  # certificate
    c = brought_back(
        "Z-2", member("M-4", joined_on="2026-01-01"), [date(2026, 3, 1)], left_on=date(2026, 5, 1)
    )
    d = brought_back(
        "Z-1",
        member("M-5", "external_hire", joined_on="2025-10-01", transferred_on="2026-04-01"),
        [date(2026, 4, 2)],
    )
    e = brought_back("Z-3", AWAY, [])  # the same member in a second zone
    recs = [r for r in (a, b, c, d, e) if r is not None]
    f = figures(recs, on, period=(date(2026, 1, 1), date(2026, 12, 31)))
    assert (f.ever, f.members, f.on_rosters, f.left) == (5, 4, 4, 1)
    assert (f.holding_certificate, f.transfer_due, f.transferred) == (1, 2, 1)
    assert (f.attended_any, f.attendances) == (3, 3)
    assert f.by_employment == {"dispatched": 1, "external_hire": 1, "migrant_worker": 3}
    assert f.brought_back_in_period == 4  # M-5 joined in 2025


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("status", "signing", "day", "code"),
    [
        (None, "sequential", None, ZoneSettingRefusal.UNKNOWN_ZONE),
        ("closed", "sequential", None, ZoneSettingRefusal.ZONE_CLOSED),
        ("active", "by_fax", None, ZoneSettingRefusal.UNKNOWN_SIGNING_MODE),
        ("active", None, 0, ZoneSettingRefusal.THEME_DAY_OUT_OF_RANGE),
        ("active", None, 32, ZoneSettingRefusal.THEME_DAY_OUT_OF_RANGE),
        ("active", "parallel", None, ZoneSettingRefusal.NOTHING_TO_CHANGE),
        ("active", None, None, ZoneSettingRefusal.NOTHING_TO_CHANGE),
    ],
)
def test_each_settings_refusal(
    status: str | None, signing: str | None, day: int | None, code: ZoneSettingRefusal
) -> None:
    assert settings_refusals(status, ZoneSettings(), signing, day) == [code]


def test_configure_changes_only_what_is_given() -> None:
    assert settings_refusals("active", ZoneSettings(), "sequential", 15) == []
    s = configured(ZoneSettings(), "sequential", None)
    assert s.signing == SigningMode.SEQUENTIAL and s.theme_party_day is None
    s = configured(s, None, 31)
    assert s.signing == SigningMode.SEQUENTIAL and s.theme_party_day == 31
    assert settings_refusals("active", s, None, 31) == [ZoneSettingRefusal.NOTHING_TO_CHANGE]
