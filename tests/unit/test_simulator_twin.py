"""The old route played (issue 19), pure: office hours at a desk, the twin of the month's work
plans, the simulator's own reading of who should be asked to sign (and its refusal when the
service asks the wrong role), and its own request→issue / SLA arithmetic. No Kafka."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from services.simulator.plan import TZ, build_plan
from services.simulator.player import Player
from services.simulator.realm import MIN_MEMBERS
from services.simulator.signers import Expectation, parallel_roles, refusal
from services.simulator.timing import Timing, route_figures, zone_times
from services.simulator.twin import OFFICE_UNIT, OFFICES, desk_time, is_twin_permit, next_opening
from services.simulator.world import build_world
from shared.events import make_event


def t(d: date, hh: int, mm: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hh, mm, tzinfo=TZ)


# --------------------------------------------------------------------------- a person at a desk


def test_a_desk_signs_in_office_hours_only() -> None:
    thu = date(2026, 4, 23)
    assert next_opening(t(thu, 7)) == t(thu, 8, 30)
    assert next_opening(t(thu, 10)) == t(thu, 10)
    assert desk_time(t(thu, 7), 45) == t(thu, 9, 15)
    # Friday 17:00 + 60 minutes: 30 on Friday, the rest on Monday morning.
    assert desk_time(t(date(2026, 4, 24), 17), 60) == t(date(2026, 4, 27), 9)
    # Before 清明 (4–6 April 2026: Saturday to Monday): the offices open again on Tuesday.
    assert desk_time(t(date(2026, 4, 3), 17), 60) == t(date(2026, 4, 7), 9)
    # 劳动节 (1–5 May): asked on 30 April after closing, signed on 6 May.
    assert desk_time(t(date(2026, 4, 30), 18), 20) == t(date(2026, 5, 6), 8, 50)
    # Never at closing time itself: 17:30 is closed.
    assert desk_time(t(thu, 17), 30) == t(date(2026, 4, 24), 8, 30)


# --------------------------------------------------------------------------- the twin


@pytest.fixture(scope="module")
def plan() -> Any:
    return build_plan(build_world(seed=11, zones=6, host_units=4, units=20), date(2026, 4, 24), 7, 11)


def test_every_work_has_a_twin_asked_at_the_same_moment_in_a_sequential_zone(plan: Any) -> None:
    truth, world = plan.truth, plan.world
    assert len(truth.twin_works) == len(truth.works) > 0
    for w in truth.works.values():
        tw = truth.twin_works["SQ-" + w.work_id]
        assert (tw.planned_at, tw.planned_start, tw.classes) == (w.planned_at, w.planned_start, w.classes)
        assert all(is_twin_permit(p) for p in tw.permit_ids)
        assert tw.zone_key == f"seq-{w.zone_key}" and tw.project_id == w.project_id + "-SEQ"
    established = [a for a in plan.actions if a.type == "zone.establish"]
    assert len(established) == len(world.zones) == len(world.twins)
    assert {a.data["signing"] for a in established} == {"sequential"}
    twin_projects = {a.data["project_id"]: a.data for a in plan.actions if a.type == "project.registered"}
    assert all(not twin_projects[p.project_id]["key_project"] for z in world.twins for p in z.projects)


def test_the_six_offices_are_held_by_people_of_their_units(plan: Any) -> None:
    world = plan.world
    real_ids = {p.member_id for z in world.zones for p in z.people}
    for real, twin in zip(world.zones, world.twins, strict=True):
        units = {
            "construction": real.construction,
            "supervision": real.supervision,
            "management": real.management,
        }
        for office in OFFICES:
            (holder,) = twin.holders(office)
            assert holder.employer_unit_id == units[OFFICE_UNIT[office]].unit_id
            assert holder.member_id not in real_ids  # its own people: no guardian on two sites
        assert len(twin.guardians) == 2 and twin.shift_leader.employer_unit_id == twin.host.unit_id
    assert len(build_world().people) <= MIN_MEMBERS  # every twin person can sign in to the demo realm


def test_twin_zones_hold_a_morning_check_in_on_every_planned_start_day_and_past_the_month(plan: Any) -> None:
    check_ins = {
        (a.zone_key, a.at.date())
        for a in plan.actions
        if a.type == "activity.record" and a.zone_key.startswith("seq-")
    }
    # The permit service wants the check-in of the work's planned start day (Sunday work too).
    assert all((w.zone_key, w.planned_start.date()) in check_ins for w in plan.truth.twin_works.values())
    assert max(d for _, d in check_ins) > plan.last_day
    assert plan.twin_end > plan.clock_end


# --------------------------------------------------------------------------- who is asked


def test_who_should_be_asked_by_class_and_grade() -> None:
    assert parallel_roles("hot_work", "second") == {
        "host_rep",
        "construction_lead",
        "supervision_engineer",
        "management_safety",
    }
    assert "safety_department" in parallel_roles("hot_work", "first")
    assert "enterprise_leader" in parallel_roles("hot_work", "special")
    assert "plant_manager" in parallel_roles("work_at_height", "IV")
    assert "power_supply_unit" in parallel_roles("temp_electricity", None)
    assert "management_safety" not in parallel_roles("excavation", None)


def test_a_person_asked_for_a_role_the_permit_does_not_need_refuses() -> None:
    hot = Expectation("WP-W1-HW", "work_permit", "hot_work", "second")
    assert refusal(hot, "host_rep", set()) is None
    assert "does not need" in (refusal(hot, "safety_department", set()) or "")
    assert refusal(hot, "owner", set()) is not None
    drawing = Expectation("DR-1", "drawing_review")
    assert refusal(drawing, "management_safety", set()) is None
    assert refusal(drawing, "construction_lead", set()) is not None


def test_on_the_old_route_only_the_next_office_is_asked() -> None:
    seq = Expectation("WP-SQ-W1-HW", "work_permit", "hot_work", "second", sequential=True)
    assert refusal(seq, "construction_safety_officer", set()) is None
    assert "turn" in (refusal(seq, "contractor_engineer", {"construction_safety_officer"}) or "")
    assert refusal(seq, "contractor_safety_officer", {"construction_safety_officer"}) is None
    assert "not one of the six offices" in (refusal(seq, "host_rep", set()) or "")
    assert refusal(seq, "owner", set(OFFICES[:-1])) is None


class NoIdentity:
    """The player needs no token to decide: commands are only published later."""


def asked(plan: Any, permit_id: str, role: str, when: datetime, revision: int = 1) -> Any:
    work = plan.truth.works.get(permit_id.removeprefix("WP-").rsplit("-", 1)[0]) or plan.truth.twin_works.get(
        permit_id.removeprefix("WP-").rsplit("-", 1)[0]
    )
    cls = next(c for c in work.classes if work.pid(c) == permit_id)
    permit = {
        "permit_id": permit_id,
        "project_id": work.project_id,
        "kind": "work_permit",
        "work_class": cls,
        "revision": revision,
        "area": work.area,
    }
    return make_event(
        type="permit.signature-requested",
        source="permit-fasttrack",
        time=when,
        data={"permit": permit, "role": role, "member_ids": []},
    )


def signs(player: Player) -> list[Any]:
    return [a for a in player.queue if a.type == "permit.sign"]


def test_the_player_refuses_a_wrong_role_and_signs_the_right_one_at_a_desk(plan: Any) -> None:
    player = Player(plan, bootstrap="unused:9092", groups={}, identity=NoIdentity(), seed=11)  # type: ignore[arg-type]
    player.queue.clear()
    w = next(
        w
        for w in plan.truth.works.values()
        if w.classes == ["hot_work"] and w.expected_grade("hot_work") == "second"
    )
    pid = w.permit_id
    player.now = w.planned_at
    player._react(asked(plan, pid, "owner", w.planned_at))  # an office of the old route: wrong here
    assert len(player.refusals) == 1 and "owner" in player.refusals[0] and not signs(player)
    player._react(asked(plan, pid, "supervision_engineer", w.planned_at))
    assert [a.data["role"] for a in signs(player)] == ["supervision_engineer"]

    tw = plan.truth.twin_works["SQ-" + w.work_id]
    twin_pid = tw.permit_id
    player.queue.clear()
    player._react(asked(plan, twin_pid, "construction_safety_officer", tw.planned_at))
    (sign,) = signs(player)
    signed_at = datetime.fromisoformat(sign.data["signed_at"])
    assert signed_at.time() >= datetime(2026, 1, 1, 8, 50).time() and signed_at.weekday() < 5
    # The service asks the general contractor's engineer before its safety officer: refused.
    player._react(asked(plan, twin_pid, "contractor_engineer", signed_at))
    assert len(player.refusals) == 2 and "turn" in player.refusals[1]
    assert len(signs(player)) == 1


# --------------------------------------------------------------------------- the simulator's clock


def test_request_to_issue_and_sla_breaches_by_the_simulator_s_own_clock() -> None:
    d = date(2026, 4, 27)
    end = t(date(2026, 5, 4), 0)
    ts = [
        Timing("WP-W1-HW", "z", False, t(d, 7), t(d, 9)),  # 120 min, within
        Timing("WP-W2-HW", "z", False, t(d, 7), t(d, 12)),  # 300 min: a breach, issued late
        Timing("WP-W3-HW", "z", False, t(d, 7), None),  # never issued: escalated
        Timing("WP-W4-HW", "z", False, t(d, 7), None, ended_unissued=t(d, 8)),  # cancelled in time
        Timing("WP-W5-HW", "z", False, t(date(2026, 5, 3), 22), None),  # deadline after the run
        Timing("WP-SQ-W1-HW", "seq-z", False, t(d, 7), t(d, 7) + timedelta(days=2)),
        Timing("DR-1", "z", True, t(d, 10), t(d, 10) + timedelta(days=3)),  # review past 2 days
    ]
    zones = route_figures(ts, False, end)
    assert (zones.permits, zones.issued, zones.median_minutes, zones.breaches) == (5, 2, 210.0, 2)
    old = route_figures(ts, True, end)
    assert (old.permits, old.median_minutes, old.p90_minutes, old.breaches) == (1, 2880.0, 2880.0, 1)
    z = zone_times(ts, "z", "2026-04", end)
    assert (z.permits_issued, z.within_sla, z.escalated_unissued) == (2, 1, 1)
    assert (z.reviews, z.reviews_within_sla, z.reviews_open_late) == (1, 0, 0)


# --------------------------------------------------------------------------- the report's checks


def test_each_route_is_held_to_the_simulator_s_own_figures() -> None:
    from services.simulator.report import route_mismatches

    d = date(2026, 4, 27)
    end = t(date(2026, 5, 4), 0)
    ts = [
        Timing("WP-W1-HW", "z", False, t(d, 7), t(d, 9)),
        Timing("WP-W2-HW", "z", False, t(d, 7), t(d, 12)),
        Timing("WP-SQ-W1-HW", "seq-z", False, t(d, 7), t(d, 7) + timedelta(days=2)),
    ]
    agreeing = {
        "parallel": {
            "count": 2,
            "median_cycle_minutes": 210.0,
            "p90_cycle_minutes": 300.0,
            "sla_breaches": 1,
        },
        "sequential": {
            "count": 1,
            "median_cycle_minutes": 2880.0,
            "p90_cycle_minutes": 2880.0,
            "sla_breaches": 1,
        },
    }
    assert route_mismatches(agreeing, ts, end) == []
    wrong = {**agreeing, "sequential": {**agreeing["sequential"], "sla_breaches": 0}}
    assert route_mismatches(wrong, ts, end) == ["signing sequential: SLA breaches 0, simulator 1"]
    assert route_mismatches({"parallel": agreeing["parallel"]}, ts, end) == [
        "signing sequential: no figures reported, the simulator asked for 1 permits"
    ]


def test_a_permit_is_expired_exactly_when_the_simulator_left_its_work_open(plan: Any) -> None:
    from services.simulator.report import life_mismatches

    w = next(w for w in plan.truth.works.values() if w.close_at is not None and len(w.classes) == 1)
    issued = w.planned_start
    p = {
        "issued_at": issued.isoformat(),
        "requested_at": w.planned_at.isoformat(),
        "status": "closed",
    }
    assert life_mismatches(w.permit_id, p, plan, issued) == []
    assert life_mismatches(w.permit_id, {**p, "status": "expired"}, plan, issued) == [
        f"permit {w.permit_id}: expired, the simulator closed it"
    ]
    late = {**p, "requested_at": (w.planned_at + timedelta(minutes=30)).isoformat()}
    assert "request→issue" in life_mismatches(w.permit_id, late, plan, issued)[0]
    assert "issued_at" in life_mismatches(w.permit_id, p, plan, None)[0]


def test_the_people_signed_in_ahead_are_those_who_will_act_the_earliest_first(plan: Any) -> None:
    player = Player(plan, bootstrap="unused:9092", groups={}, identity=NoIdentity(), seed=11)  # type: ignore[arg-type]
    ahead = player.people_ahead()
    first = player._actor_for(min(player.queue))
    assert ahead[0] == first and len(ahead) == len(set(ahead))
    zones = [*plan.world.zones, *plan.world.twins]
    for z in zones:
        for p in z.people:
            assert (p.member_id in ahead) == (p.zone_role != "member" or p in z.guardians) or any(
                player._actor_for(a) == p.member_id for a in player.queue
            )
    assert {a.member_id for a in plan.world.register} <= set(ahead)
