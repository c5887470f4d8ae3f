"""Cadence requirements are configuration: service-wide defaults, overridden per zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from services.activity_log import domain
from services.activity_log.app import Settings


def test_defaults_follow_the_spec_and_a_zone_override_changes_only_that_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PBZ_CADENCE_ZONE_OVERRIDES", '{"ZC-P001": {"weekly_meetings_per_week": 2}}')
    settings = Settings()
    assert settings.requirements() == domain.Requirements()
    assert settings.requirements("ZR-other") == domain.Requirements()
    twice = settings.requirements("ZC-P001")
    assert twice.weekly_meetings_per_week == 2 and twice.checkins_per_workday == 2


def test_a_zone_meeting_twice_a_week_counts_only_weeks_with_two_meetings() -> None:
    # weekly_meeting is "weeks / weeks with enough meetings": the override raises the bar a
    # week must clear, not the number of weeks.
    settings = Settings(cadence_zone_overrides={"ZC-P001": {"weekly_meetings_per_week": 2}})
    tz = ZoneInfo("Asia/Shanghai")
    window: list[domain.Window] = [(datetime(2026, 4, 1, tzinfo=tz), None)]
    thursdays = (2, 9, 16, 23, 30)
    once = [{"kind": "weekly_meeting", "slot": None, "local_date": f"2026-04-{d:02d}"} for d in thursdays]
    twice = once + [{**a, "local_date": f"2026-04-{d - 1:02d}"} for a, d in zip(once, thursdays, strict=True)]

    def weekly(activities: list[dict[str, object]], zone_id: str | None) -> tuple[int, int, bool]:
        r = next(
            r
            for r in domain.evaluate("2026-04", window, activities, tz, settings.requirements(zone_id))
            if r.rule == "weekly_meeting"
        )
        return r.required, r.actual, r.met

    assert weekly(once, None) == (5, 5, True)
    assert weekly(once, "ZC-P001") == (5, 0, False)
    assert weekly(twice, "ZC-P001") == (5, 5, True)


def test_a_mistyped_override_stops_the_service_with_the_reason() -> None:
    with pytest.raises(ValidationError, match=r"unknown requirement \['weekly_meeting'\]"):
        Settings(cadence_zone_overrides={"ZC-P001": {"weekly_meeting": 2}})
    with pytest.raises(ValidationError, match="must not be negative"):
        Settings(cadence_zone_overrides={"ZC-P001": {"joint_meeting": -1}})
