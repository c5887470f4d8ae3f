from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.clock import EPOCH, Clock
from shared.periods import (
    iso_weeks_of_month,
    month_of,
    period_bounds,
    period_days,
    periods_closed_between,
    quarter_of,
)

TZ = ZoneInfo("Asia/Shanghai")


def at(s: str) -> datetime:
    return datetime.fromisoformat(s)


def test_event_clock_only_moves_forward_and_starts_at_the_epoch() -> None:
    clock = Clock("events")
    assert clock.now() == EPOCH
    assert clock.advance(at("2026-03-01T00:00:00+08:00"))
    assert not clock.advance(at("2026-02-28T23:00:00+08:00"))
    assert not clock.advance(at("2026-03-01T00:00:00+08:00"))
    assert clock.now() == at("2026-03-01T00:00:00+08:00")
    assert clock.now().utcoffset() == timedelta(hours=8)
    with pytest.raises(ValueError):
        clock.advance(datetime(2026, 4, 1))


def test_moment_is_the_later_of_now_and_the_event_time() -> None:
    clock = Clock("events")
    clock.advance(at("2026-03-02T10:00:00+08:00"))
    assert clock.moment(at("2026-03-02T09:00:00+08:00")) == at("2026-03-02T10:00:00+08:00")
    assert clock.moment(at("2026-03-02T11:00:00+08:00")) == at("2026-03-02T11:00:00+08:00")


def test_wall_clock_is_the_machines_time_in_the_site_zone() -> None:
    now = Clock("wall").now()
    assert abs((now - datetime.now(UTC)).total_seconds()) < 5
    assert now.utcoffset() == timedelta(hours=8)


def test_periods_in_the_site_time_zone() -> None:
    # 2026-03-31 20:00 UTC is already April 1st in Shanghai.
    assert month_of(at("2026-03-31T20:00:00+00:00"), TZ) == "2026-04"
    assert quarter_of(at("2026-03-31T20:00:00+00:00"), TZ) == "2026-Q2"
    assert period_days("2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    assert period_days("2026-Q4") == (date(2026, 10, 1), date(2026, 12, 31))
    start, end = period_bounds("2026-12", TZ)
    assert start == datetime(2026, 12, 1, tzinfo=TZ) and end == datetime(2027, 1, 1, tzinfo=TZ)


def test_a_period_closes_once_when_the_clock_passes_its_end_plus_grace() -> None:
    grace = timedelta(hours=24)
    end_of_march = datetime(2026, 4, 1, tzinfo=TZ)
    assert periods_closed_between(end_of_march, end_of_march + grace - timedelta(seconds=1), TZ, grace) == []
    assert periods_closed_between(end_of_march, end_of_march + grace, TZ, grace) == ["2026-03"]
    # The next move does not close it again.
    assert periods_closed_between(end_of_march + grace, end_of_march + 2 * grace, TZ, grace) == []


def test_a_long_jump_closes_every_period_in_between_oldest_first() -> None:
    grace = timedelta(hours=24)
    closed = periods_closed_between(
        datetime(2026, 1, 15, tzinfo=TZ), datetime(2026, 4, 5, tzinfo=TZ), TZ, grace, quarters=True
    )
    assert closed == ["2026-01", "2026-02", "2026-03", "2026-Q1"]


def test_iso_weeks_belong_to_the_month_of_their_thursday() -> None:
    # March 2026: Thursdays 5, 12, 19, 26 -> ISO weeks 10..13. The week of Mon 30 March
    # has its Thursday on 2 April, so it belongs to April.
    assert iso_weeks_of_month("2026-03") == [(2026, 10), (2026, 11), (2026, 12), (2026, 13)]
    assert iso_weeks_of_month("2026-04")[0] == (2026, 14)
    # January 2027 starts on a Friday: its first days belong to ISO week 53 of 2026.
    assert iso_weeks_of_month("2027-01")[0] == (2027, 1)
    assert (2026, 53) in iso_weeks_of_month("2026-12")
