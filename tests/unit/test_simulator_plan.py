"""The simulator's world and month: deterministic, at the size of the real practice, and
its ground truth consistent with what it plans to publish."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from services.simulator.plan import build_plan
from services.simulator.world import build_world
from shared.events import make_event, parse_data, spec_for


def test_same_seed_same_month_other_seed_other_month() -> None:
    a = build_plan(build_world(seed=3), date(2026, 4, 1), 30, 3)
    b = build_plan(build_world(seed=3), date(2026, 4, 1), 30, 3)
    c = build_plan(build_world(seed=4), date(2026, 4, 1), 30, 4)
    key = lambda p: [(x.at, x.type, x.data) for x in p.actions]  # noqa: E731
    assert key(a) == key(b)
    assert key(a) != key(c)


def test_default_world_is_the_size_of_the_real_practice() -> None:
    w = build_world()
    assert len(w.host_units) == 14
    assert len(w.units) == 72
    assert len(w.zones) == 23
    modes = Counter(z.mode for z in w.zones)
    assert modes["project_cobuild"] > 0 and modes["regional_alliance"] > 0
    assert all(len(z.projects) >= 2 for z in w.zones if z.mode == "regional_alliance")
    assert all(
        p.scale == "small" and p.category in {"renovation", "safety_remediation"}
        for z in w.zones
        if z.mode == "regional_alliance"
        for p in z.projects
    )
    assert all(p.scale == "large" for z in w.zones if z.mode == "project_cobuild" for p in z.projects)
    assert w.non_key_projects and not any(p.key_project for p in w.non_key_projects)
    people = [m for z in w.zones for m in z.people]
    assert {m.employment for m in people} >= {"staff", "dispatched", "migrant_worker", "external_hire"}
    for z in w.zones:
        for role in (
            "secretary",
            "host_rep",
            "construction_lead",
            "supervision_engineer",
            "management_safety",
        ):
            assert z.holders(role), (z.key, role)
    assert sum(z.perfect for z in w.zones) >= 10 and sum(z.troubled for z in w.zones) >= 8


def test_every_planned_event_is_valid_by_the_contract() -> None:
    plan = build_plan(build_world(), date(2026, 4, 1), 30, 7)
    for a in plan.actions:
        data = dict(a.data)
        if a.zone_key is not None:
            data["zone_id"] = "Z-placeholder"
        parse_data(make_event(type=a.type, source="sim", time=a.at, data=data), spec_for(a.type).topic.value)
    kinds = Counter(a.type for a in plan.actions)
    assert kinds["quality.procedure-inspected"] >= 200  # hundreds of procedures
    assert kinds["safety.incident-reported"] == 2  # a near miss and a minor incident
    assert {"hot_work", "confined_space", "lifting", "work_at_height", "excavation", "temp_electricity"} <= {
        r for a in plan.actions if a.type == "work.planned" for r in a.data["risk_types"]
    }


def test_ground_truth_names_the_deliberate_misses_and_blocks() -> None:
    plan = build_plan(build_world(), date(2026, 4, 1), 30, 7)
    t = plan.truth
    missed = {rule for rules in t.unmet_rules.values() for rule in rules}
    assert missed == {"theme_party_day", "weekly_meeting"}
    reasons = Counter(r for rs in t.blocked_reasons.values() for r in rs)
    for reason in ("gas_test_missing", "simops_conflict", "no_morning_checkin", "no_active_zone"):
        assert reasons[reason] >= 1, reason
    assert t.rejected_permits and t.suspended_permits
    assert t.excellent < t.inspections
    assert t.cost_saved_cny >= 550_000


def test_the_played_days_must_end_with_the_month_they_close() -> None:
    # The clock closes the month after the last played day: unplayed days would be judged
    # as activities nobody held, which the ground truth cannot know.
    with pytest.raises(ValueError, match=r"must end on a month's last day.*start on 2026-04-24"):
        build_plan(build_world(zones=6, host_units=4, units=20), date(2026, 4, 1), 7, 11)
    with pytest.raises(ValueError, match="at least one"):
        build_plan(build_world(zones=6, host_units=4, units=20), date(2026, 4, 1), 0, 11)
    assert (
        build_plan(build_world(zones=6, host_units=4, units=20), date(2026, 2, 1), 28, 11).period == "2026-02"
    )


def test_the_month_plays_the_permits_whole_life() -> None:
    """Grades, re-plans, a cancellation, interruptions, extensions, handovers, completion refusals,
    monitoring, conflicts by rule and drawing review rounds are all in the full month's plan."""
    t = build_plan(build_world(), date(2026, 4, 1), 30, 7).truth
    grades = Counter(str(g) for g in t.grades.values())
    assert {"second", "first", "special", "I", "II", "III", "IV", "third"} <= set(grades)
    assert set(t.suspended_permits.values()) == {"incident", "gas_monitoring_lapsed", "handover_missing"}
    assert len(t.revised) >= 3 and t.cancelled and t.extended and t.extension_refused and t.handovers
    assert t.completion_refused and True in t.interrupted.values() and False in t.interrupted.values()
    assert set(t.conflicts.values()) == {"same_area_hot_work", "hot_work_near_blind_plate"}
    assert set(t.drawing_rounds.values()) == {1, 2, 3}
