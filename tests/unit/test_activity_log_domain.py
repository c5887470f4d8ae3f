"""The cadence rules and the activity refusals, without I/O."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.activity_log import domain

TZ = ZoneInfo("Asia/Shanghai")
APRIL = "2026-04"  # Wed 1 .. Thu 30; ISO weeks 14..18 (Thursdays 2, 9, 16, 23, 30)


def t(day: int, hh: int = 8, month: int = 4) -> datetime:
    return datetime(2026, month, day, hh, tzinfo=TZ)


def act(kind: str, day: int, slot: str | None = None, month: int = 4) -> dict:
    return {"kind": kind, "slot": slot, "local_date": date(2026, month, day).isoformat()}


def full_month(first_day: int = 1) -> list[dict]:
    acts = []
    for d in range(first_day, 31):
        if date(2026, 4, d).weekday() < 6:
            acts += [act("daily_checkin", d, "morning"), act("daily_checkin", d, "evening")]
    for thursday in (2, 9, 16, 23, 30):
        if thursday >= first_day:
            acts.append(act("weekly_meeting", thursday))
    acts += [act("theme_party_day", 28), act("joint_meeting", 28), act("monthly_analysis", 30)]
    return acts


def by_rule(results: list[domain.RuleResult]) -> dict[str, tuple[int, int, bool]]:
    return {r.rule: (r.required, r.actual, r.met) for r in results}


def test_a_complete_month_meets_every_rule() -> None:
    got = by_rule(domain.evaluate(APRIL, [(t(1, 0), None)], full_month(), TZ))
    workdays = sum(1 for d in range(1, 31) if date(2026, 4, d).weekday() < 6)
    assert workdays == 26
    assert got == {
        "theme_party_day": (1, 1, True),
        "joint_meeting": (1, 1, True),
        "monthly_analysis": (1, 1, True),
        "weekly_meeting": (5, 5, True),
        "daily_checkin": (52, 52, True),
    }


def test_one_missing_weekly_meeting_and_no_theme_day() -> None:
    acts = [
        a for a in full_month() if not (a["kind"] == "weekly_meeting" and a["local_date"] == "2026-04-16")
    ]
    acts = [a for a in acts if a["kind"] != "theme_party_day"]
    got = by_rule(domain.evaluate(APRIL, [(t(1, 0), None)], acts, TZ))
    assert got["weekly_meeting"] == (5, 4, False)
    assert got["theme_party_day"] == (1, 0, False)
    assert got["joint_meeting"][2] and got["daily_checkin"][2]


def test_morning_without_evening_does_not_count_twice() -> None:
    acts = [
        a
        for a in full_month()
        if not (a["kind"] == "daily_checkin" and a["local_date"] == "2026-04-06" and a["slot"] == "evening")
    ]
    acts.append(act("daily_checkin", 6, "morning"))  # a second morning is still one (day, slot)
    assert by_rule(domain.evaluate(APRIL, [(t(1, 0), None)], acts, TZ))["daily_checkin"] == (52, 51, False)


def test_sundays_are_not_workdays() -> None:
    assert date(2026, 4, 5).weekday() == 6
    acts = [*full_month(), act("daily_checkin", 5, "morning")]
    assert by_rule(domain.evaluate(APRIL, [(t(1, 0), None)], acts, TZ))["daily_checkin"] == (52, 52, True)


def test_a_zone_activated_mid_month_is_judged_from_that_day() -> None:
    # Active from Monday 20 April 10:00: the 20th counts, weeks 17 (20-26) and 18 (27-3 May).
    got = by_rule(domain.evaluate(APRIL, [(t(20, 10), None)], full_month(first_day=20), TZ))
    workdays = sum(1 for d in range(20, 31) if date(2026, 4, d).weekday() < 6)
    assert got["daily_checkin"] == (2 * workdays, 2 * workdays, True)
    assert got["weekly_meeting"] == (2, 2, True)
    assert got["theme_party_day"] == (1, 1, True)  # the monthly rules still require 1


def test_iso_week_boundaries_belong_to_the_month_of_their_thursday() -> None:
    # March 2026: weeks 10..13; the week of Mon 30 March belongs to April (Thursday 2 April).
    march = [(datetime(2026, 3, 1, tzinfo=TZ), None)]
    got = by_rule(
        domain.evaluate("2026-03", march, [act("weekly_meeting", d, month=3) for d in (5, 12, 19, 26)], TZ)
    )
    assert got["weekly_meeting"] == (4, 4, True)
    # A meeting on 31 March counts for March, not for April's week 14.
    april = by_rule(
        domain.evaluate(
            APRIL, [(datetime(2026, 3, 30, tzinfo=TZ), None)], [act("weekly_meeting", 31, month=3)], TZ
        )
    )
    assert april["weekly_meeting"] == (5, 0, False)


def test_a_zone_not_active_in_the_month_is_not_evaluated() -> None:
    assert domain.evaluate(APRIL, [(t(1, 0, month=5) + timedelta(days=30), None)], [], TZ) == []
    closed_in_march = [(datetime(2026, 3, 1, tzinfo=TZ), datetime(2026, 4, 1, tzinfo=TZ))]
    assert domain.evaluate(APRIL, closed_in_march, [], TZ) == []


def test_windows_open_and_close() -> None:
    w = domain.open_window([], t(1))
    assert domain.open_window(w, t(2)) == w  # already open
    w = domain.close_window(w, t(10))
    assert w == [(t(1), t(10))]
    assert domain.active_days(w, date(2026, 4, 1), date(2026, 4, 30), TZ) == {
        date(2026, 4, d) for d in range(1, 11)
    }


ZONE = {"status": "active", "members": [{"member_id": "M1"}, {"member_id": "M2"}]}


def reasons(**kw: object) -> list[str]:
    args: dict = {
        "zone": ZONE,
        "kind": "weekly_meeting",
        "slot": None,
        "started_at": t(2, 16),
        "ended_at": t(2, 17),
        "organizer": "M1",
        "attendees": ["M1", "M2"],
        "resolved": [],
        "known_problems": set(),
        "now": t(2, 18),
    }
    args.update(kw)
    return domain.refusal_reasons(**args)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"zone": None}, "unknown_zone"),
        ({"zone": {**ZONE, "status": "proposed"}}, "zone_not_active"),
        ({"attendees": ["M1", "M9"]}, "attendee_not_on_roster"),
        ({"organizer": "M9"}, "organizer_not_on_roster"),
        ({"ended_at": t(2, 15)}, "ends_before_start"),
        ({"started_at": t(4, 8), "ended_at": t(4, 9)}, "starts_in_future"),
        ({"kind": "daily_checkin"}, "checkin_slot_missing"),
        ({"kind": "daily_checkin", "slot": "noon"}, "checkin_slot_missing"),
        ({"kind": "karaoke"}, "unknown_kind"),
        ({"resolved": ["PR-404"]}, "unknown_problem"),
    ],
)
def test_each_refusal_reason(change: dict, code: str) -> None:
    assert reasons(**change) == [code]


def test_every_applicable_reason_is_listed_and_a_valid_activity_has_none() -> None:
    assert reasons() == []
    assert reasons(started_at=t(1, 8), ended_at=t(1, 9), now=t(1, 0) + timedelta(hours=7)) == []
    assert reasons(kind="karaoke", ended_at=t(2, 15), attendees=["M9"]) == [
        "unknown_kind",
        "ends_before_start",
        "attendee_not_on_roster",
    ]
