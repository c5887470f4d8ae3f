"""The web app's view-model rules (services/web/domain.py), without any service."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.web import domain

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 4, 27, 8, 0, tzinfo=TZ)  # a Monday


def permit(status: str, history: list[str], issued_h: float | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "permit_id": extra.pop("permit_id", "P"),
        "kind": "work_permit",
        "status": status,
        "history": [{"type": t} for t in history],
        "requested_at": T0.isoformat(),
        "sla_deadline": (T0 + timedelta(hours=4)).isoformat(),
        "issued_at": None if issued_h is None else (T0 + timedelta(hours=issued_h)).isoformat(),
        "required_roles": ["host_rep", "construction_lead", "supervision_engineer"],
        **extra,
    }


def test_the_funnel_counts_each_stage_a_permit_reached() -> None:
    permits = [
        permit("pending_signatures", ["permit.requested"]),
        permit("blocked", ["permit.requested", "permit.approved", "permit.blocked"]),
        permit("issued", ["permit.requested", "permit.approved", "permit.issued"], 1),
        permit("closed", ["permit.requested", "permit.approved", "permit.issued", "permit.closed"], 2),
        permit("expired", ["permit.requested", "permit.approved", "permit.issued", "permit.expired"], 3),
        permit("rejected", ["permit.requested", "permit.rejected"]),
    ]
    assert domain.funnel(permits) == {"requested": 6, "approved": 4, "issued": 3, "closed": 1}


def test_the_funnel_and_the_blocks_are_the_fast_track_s_the_old_route_apart() -> None:
    """Permits signed the old way (the comparison zones' twins) are the old route's column:
    neither in the funnel nor in the blocks by reason."""
    fast = permit("closed", ["permit.requested", "permit.approved", "permit.issued", "permit.closed"], 2)
    old = permit("issued", ["permit.requested", "permit.approved", "permit.issued"], 1, signing="sequential")
    assert domain.funnel([fast, old]) == {"requested": 1, "approved": 1, "issued": 1, "closed": 1}
    work = {"blocked_reasons": {"gas_test_missing": 3, "signature_missing": 2}}
    stats = {
        "overall": work,
        "work_permits": work,
        "by_signing": {
            "parallel": {"blocked_reasons": {"gas_test_missing": 1}},
            "sequential": {"blocked_reasons": {"gas_test_missing": 2, "signature_missing": 2}},
        },
    }
    assert domain.fast_track_blocks(stats) == {"gas_test_missing": 1}
    only_fast = {**stats, "by_signing": {"parallel": work}}
    assert domain.fast_track_blocks(only_fast) == work["blocked_reasons"]
    assert domain.fast_track_blocks({"overall": work}) == work["blocked_reasons"]  # before issue 15


def test_cycle_times_against_the_sla_and_the_old_sequential_sign_off() -> None:
    permits = [permit("issued", ["permit.issued"], h) for h in (0.5, 1.5, 3.0, 6.0)]
    permits.append(permit("pending_signatures", []))  # never issued: not in the distribution
    d = domain.distribution(permits, TZ)
    assert d.bins == ["≤1", "≤2", "≤4", "≤8", "≤24", "≤72", "≤168", ">168"]
    assert d.fast_track_within_sla == [1, 1, 1, 0, 0, 0, 0, 0]
    assert d.fast_track_late == [0, 0, 0, 1, 0, 0, 0, 0]  # 6 h > the 4 h SLA
    assert d.median_hours == 2.3 and d.within_sla_share == 0.75  # 2.25 rounded half up
    # The old route: four offices (three roles and the approver), one working day each from Monday.
    assert d.sequential == [0, 0, 0, 0, 0, 0, 4, 0] and d.sequential_median_hours == 96.0


def test_the_old_route_is_measured_when_permits_were_signed_sequentially() -> None:
    """The demo's twin zones sign the old way through the same service: their permits are the
    old column, measured, and never counted in the fast track's."""
    fast = [permit("issued", ["permit.issued"], h) for h in (1.0, 3.0)]
    played = [permit("issued", ["permit.issued"], h, signing="sequential") for h in (30.0, 50.0, 80.0)]
    d = domain.distribution(fast + played, TZ)
    assert d.sequential_measured is True
    assert d.fast_track_within_sla == [1, 0, 1, 0, 0, 0, 0, 0] and sum(d.fast_track_late) == 0
    assert d.median_hours == 2.0 and d.within_sla_share == 1.0
    assert d.sequential == [0, 0, 0, 0, 0, 2, 1, 0] and d.sequential_median_hours == 50.0
    assert domain.distribution(fast, TZ).sequential_measured is False  # none played: estimated


def test_the_old_route_skips_sundays() -> None:
    saturday = date(2026, 5, 2)
    assert domain.working_days_span(saturday, 1) == 1
    assert domain.working_days_span(saturday, 2) == 3  # Saturday, (Sunday), Monday
    assert domain.working_days_span(date(2026, 4, 27), 6) == 6


def test_drawing_review_days() -> None:
    drawings = [permit("issued", [], h, kind="drawing_review") for h in (12, 30, 60)]
    d = domain.drawing_days(drawings)
    assert d.counts == [1, 1, 1, 0, 0, 0] and d.median_days == 1.25 and d.old_route_days == 10


def test_coverage_by_host_unit_and_region_counts_only_active_zones() -> None:
    zones = [
        {
            "zone_id": "Z1",
            "status": "active",
            "units": [{"unit_id": "H1", "name": "采油一厂", "role": "host"}],
        },
        {"zone_id": "Z2", "status": "proposed", "units": []},
    ]
    projects = [
        {"project_id": "P1", "key_project": True, "host_unit_id": "H1", "region": "北区", "zone_id": "Z1"},
        {"project_id": "P2", "key_project": True, "host_unit_id": "H1", "region": "南区", "zone_id": "Z2"},
        {"project_id": "P3", "key_project": True, "host_unit_id": "H2", "region": "南区", "zone_id": None},
        {"project_id": "P4", "key_project": False, "host_unit_id": "H2", "region": "南区", "zone_id": None},
    ]
    view = domain.coverage_view({"key_projects": 3, "covered": 1, "share": 0.3333}, projects, zones)
    assert [(s.key, s.label, s.covered, s.total) for s in view.by_host_unit] == [
        ("H1", "采油一厂", 1, 2),
        ("H2", "H2", 0, 1),
    ]
    assert [(s.key, s.covered, s.total) for s in view.by_region] == [("北区", 1, 1), ("南区", 0, 2)]


def test_the_heat_map_keeps_the_rules_in_order_and_the_counts() -> None:
    compliance = {
        "period": "2026-04",
        "zones": [
            {"zone_id": "Z2", "rules": [{"rule": "joint_meeting", "required": 1, "actual": 0}]},
            {
                "zone_id": "Z1",
                "rules": [
                    {"rule": "daily_checkin", "required": 10, "actual": 5},
                    {"rule": "joint_meeting", "required": 1, "actual": 3},
                    {"rule": "new_rule", "required": 0, "actual": 0},
                ],
            },
        ],
    }
    h = domain.heatmap(
        compliance, {"Z1": "一号协作区", "Z2": "二号协作区"}, ["joint_meeting", "daily_checkin"]
    )
    assert h.zones == ["Z1", "Z2"]  # by name
    assert h.rules == ["joint_meeting", "daily_checkin", "new_rule"]
    assert h.cells == [[1, 0, 0.5, 5, 10], [0, 0, 1.0, 3, 1], [2, 0, None, 0, 0], [0, 1, 0.0, 0, 1]]


def test_the_ranking_sums_incidents_quality_and_benefit() -> None:
    def zone(minor: int, excellent: int, saved: float) -> dict[str, Any]:
        return {
            "zone_id": "Z",
            "rank": 1,
            "score": 90.0,
            "grade": "excellent",
            "indicators": {
                "safety": {"figures": {"minor": minor, "near_miss": 1}},
                "quality": {"figures": {"inspected": 10, "excellent": excellent}},
                "benefit": {"figures": {"problems_resolved": 2, "cost_saved_cny": saved, "days_saved": 1.5}},
            },
        }

    incidents, quality, benefit = domain.period_sums({"ranking": [zone(1, 9, 1000.0), zone(2, 10, 500.5)]})
    assert incidents == {"near_miss": 2, "minor": 3, "major": 0, "fatal": 0, "environmental": 0}
    assert quality == {"inspected": 20, "excellent": 19}
    assert benefit == {"problems_resolved": 4.0, "cost_saved_cny": 1500.5, "days_saved": 3.0}


def test_the_month_calendar_puts_activities_on_their_local_day() -> None:
    late_evening_utc = datetime(2026, 4, 29, 17, 0, tzinfo=ZoneInfo("UTC"))  # 30 April, 01:00 in Shanghai
    weeks = domain.month_calendar("2026-04", [{"kind": "joint_meeting", "started_at": late_evening_utc}], TZ)
    days = {d.day: d.activities for w in weeks for d in w if d.day}
    assert len(days) == 30 and weeks[0][0].day is None  # April 2026 starts on a Wednesday
    assert [a["kind"] for a in days[date(2026, 4, 30)]] == ["joint_meeting"]
    assert domain.month_bounds("2026-02") == (date(2026, 2, 1), date(2026, 2, 28))


def test_sla_state_and_the_signer_s_roles() -> None:
    assert [domain.sla_state(m) for m in (None, -1, 30, 61)] == ["none", "late", "due", "ok"]
    inbox = [
        {"permit_id": "P", "role": "host_rep", "what": "signature"},
        {"permit_id": "P", "role": "host_rep", "what": "completion_acceptance"},
        {"permit_id": "Q", "role": "construction_lead"},
    ]
    assert domain.my_roles({"permit_id": "P"}, "MB1", inbox) == ["host_rep"]


def hot_work(status: str, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "work_class": "hot_work",
        "grade": "first",
        "blocked_reasons": [],
        "guardian_member_id": "MG",
        "guardian_on_site": False,
        "briefing": None,
        "ticket_check": None,
        "isolations": [{"isolation_id": "I1", "kind": "blind_plate", "applied": True, "removed": False}],
        "gas_readings": [],
    }
    history = extra.pop("history", None)
    p = permit(status, ["permit.requested"], **{**fields, **extra})
    if history is not None:
        p["history"] = history
    return p


def test_preconditions_before_the_service_s_check_show_what_the_record_already_says() -> None:
    p = hot_work(
        "pending_signatures",
        gas_readings=[{"test_id": "G1", "tested_at": T0.isoformat(), "passed": True}],
        briefing={"giver_member_id": "MH", "receiver_member_id": "MG", "at": T0.isoformat()},
    )
    states = {c.code: c.state for c in domain.preconditions(p)}
    assert states == {
        "no_active_zone": "pending",
        "contractor_safety_not_adopted": "pending",
        "no_morning_checkin": "pending",
        "guardian_not_on_site": "unmet",  # named, not checked in
        "briefing_missing": "met",
        "ticket_not_checked": "unmet",
        "isolation_not_applied": "met",
        "gas_test_failed": "pending",  # passed; its age against the start is the service's to judge
        "simops_conflict": "pending",
    }
    water = hot_work(
        "pending_signatures", isolations=[{"isolation_id": "I2", "kind": "water_seal", "applied": True}]
    )
    assert {c.code: c.state for c in domain.preconditions(water)}["isolation_not_applied"] == "unmet"


def test_a_blocked_permit_s_preconditions_are_the_service_s_reasons_with_their_why() -> None:
    failed = {
        "reason": "gas_test_failed",
        "test_id": "G2",
        "reading": "lel_pct",
        "value": 12.0,
        "limit": "< 10 %LEL",
        "clause": "SPEC §3.3",
    }
    p = hot_work(
        "blocked",
        blocked_reasons=["guardian_not_on_site", "gas_test_failed"],
        history=[
            {"type": "permit.requested"},
            {"type": "permit.approved"},
            {
                "type": "permit.blocked",
                "detail": {"reasons": ["guardian_not_on_site", "gas_test_failed"], "details": [failed]},
            },
        ],
    )
    checklist = domain.preconditions(p)
    by_code = {c.code: c for c in checklist}
    assert {c.code for c in checklist if c.state == "unmet"} == {"guardian_not_on_site", "gas_test_failed"}
    assert by_code["gas_test_failed"].details == [failed]
    assert by_code["ticket_not_checked"].state == "met"  # the service checked: not a reason
    missing = hot_work("blocked", blocked_reasons=["gas_test_missing"])
    assert [(c.code, c.reason) for c in domain.preconditions(missing) if c.state == "unmet"] == [
        ("gas_test_failed", "gas_test_missing")
    ]
    issued = hot_work("issued", issued_h=1)
    assert {c.state for c in domain.preconditions(issued)} == {"met"}
    general = permit("pending_signatures", [], work_class="general", blocked_reasons=[])
    assert [c.code for c in domain.preconditions(general)] == [
        "no_active_zone",
        "contractor_safety_not_adopted",
    ]


def listed(
    zone_id: str, signing: str, mode: str = "project_cobuild", status: str = "active", **n: int
) -> dict:
    """A zone as zone-registry's ``/zones`` lists it."""
    return {
        "zone_id": zone_id,
        "mode": mode,
        "status": status,
        "member_count": n.get("members", 0),
        "floating_member_count": n.get("floating", 0),
        "settings": {"signing": signing, "theme_party_day": None},
    }


def test_a_zone_signing_sequentially_is_counted_apart_as_a_comparison() -> None:
    """The demo's twins (the old route, signing ``sequential``) are no collaboration zones: the
    zone counts lose them, the dashboard says how many there are and who is on them."""
    zones = [
        listed("Z1", "parallel", members=12, floating=3),
        listed("Z1-SEQ", "sequential", members=11, floating=1),
        listed("Z2", "parallel", mode="regional_alliance", members=8),
        listed("Z2-SEQ", "sequential", mode="regional_alliance", status="closed", members=9),
    ]
    assert [domain.is_comparison(z) for z in zones] == [False, True, False, True]
    assert not domain.is_comparison({"zone_id": "Z0"})  # no settings: the parallel default
    apart = domain.comparison(zones)
    assert (apart.zones, apart.members, apart.zone_ids) == (2, 11, ["Z1-SEQ", "Z2-SEQ"])  # a closed roster: 0
    # zone-registry's /stats counts the collaboration zones only (the comparison ones apart).
    stats = {
        "zones_by_mode": {"project_cobuild": 1, "regional_alliance": 1},
        "members": 12 + 8,
        "floating_members": 3,
        "comparison_zones": 2,
        "comparison_members": 11,
    }
    counts = domain.zone_counts(stats)
    assert counts.zones_by_mode == {"project_cobuild": 1, "regional_alliance": 1}
    assert (counts.members, counts.floating_members) == (20, 3)
    assert domain.comparison([listed("Z1", "parallel")]).zones == 0


def test_comparison_zones_are_neither_in_the_heat_map_nor_in_the_ranking() -> None:
    compliance = {
        "period": "2026-04",
        "zones": [
            {"zone_id": "Z1", "rules": [{"rule": "joint_meeting", "required": 1, "actual": 1}]},
            {"zone_id": "Z1-SEQ", "rules": [{"rule": "joint_meeting", "required": 1, "actual": 0}]},
        ],
    }
    h = domain.heatmap(compliance, {}, ["joint_meeting"], apart=["Z1-SEQ"])
    assert h.zones == ["Z1"] and h.cells == [[0, 0, 1.0, 1, 1]]
    ranking = {
        "period": "2026-04",
        "ranking": [
            {"zone_id": "Z1", "rank": 1, "score": 95.0, "grade": "excellent"},
            {"zone_id": "Z1-SEQ", "rank": 2, "score": 33.3, "grade": "fail"},  # published before the rule
        ],
    }
    kept = domain.without_comparison(ranking, ["Z1-SEQ"])
    assert [r.zone_id for r in domain.ranked(kept, {})] == ["Z1"] and kept["period"] == "2026-04"
    assert len(ranking["ranking"]) == 2  # the answer itself untouched


def test_the_steps_on_site_follow_the_permit_s_class_stage_roster_and_guardian() -> None:
    roster = {"M1": "甲", "M2": "乙", "M3": "丙"}
    hot = {"kind": "work_permit", "work_class": "hot_work", "status": "approved", "guardian_member_id": "M2"}
    steps = domain.site_steps(hot, "M1", roster)
    assert (steps.briefing, steps.ticket_check, steps.check_out) == (True, True, False)
    assert steps.receivers == [("M3", "丙"), ("M2", "乙")]  # by name, not oneself
    for permit, member, expected in (
        ({**hot, "work_class": "general"}, "M1", (False, False, False)),  # not a special work
        ({**hot, "work_class": None}, "M1", (False, False, False)),
        (hot, "M9", (False, False, False)),  # not on the roster
        ({**hot, "status": "issued"}, "M1", (False, False, False)),  # after issue
        ({**hot, "briefing": {"giver_member_id": "M1"}}, "M1", (False, True, False)),
        ({**hot, "ticket_check": {"member_id": "M1"}}, "M1", (True, False, False)),
        ({**hot, "status": "issued", "guardian_on_site": True}, "M2", (False, False, True)),
        ({**hot, "status": "closed", "guardian_on_site": True}, "M2", (False, False, False)),
        ({**hot, "guardian_on_site": False}, "M2", (True, True, False)),  # not on site: check in first
    ):
        s = domain.site_steps(permit, member, roster)
        assert (s.briefing, s.ticket_check, s.check_out) == expected, (permit, member)
    # The guardian checks in while not on site, before issue and while the work runs (a guardian
    # who left a running work suspended it, and checks in again to resume it); not once completing.
    for status, on_site, expected_in in (
        ("approved", False, True),
        ("suspended", False, True),
        ("issued", True, False),  # on site already
        ("completing", False, False),
        ("closed", False, False),
    ):
        steps = domain.site_steps({**hot, "status": status, "guardian_on_site": on_site}, "M2", roster)
        assert steps.check_in == expected_in, status
    assert not domain.site_steps({**hot, "guardian_on_site": False}, "M1", roster).check_in  # not theirs


def test_this_person_s_refused_commands_newest_first_and_only_theirs() -> None:
    def rejected(member: str, command: str, at: str) -> dict[str, Any]:
        detail = {"command_type": command, "member_id": member, "reasons": ["not_on_site"]}
        return {"type": "permit.command-rejected", "actor": member, "at": at, "detail": detail}

    history = [
        {"type": "permit.requested", "actor": "system", "at": "2026-04-27T08:00:00+08:00", "detail": {}},
        *(rejected("M1", f"permit.c{i}", f"2026-04-27T09:0{i}:00+08:00") for i in range(5)),
        rejected("M2", "permit.sign", "2026-04-27T09:09:00+08:00"),
    ]
    mine = domain.refused({"history": history}, "M1")
    assert [r.command_type for r in mine] == ["permit.c4", "permit.c3", "permit.c2"]
    assert mine[0].reasons == ["not_on_site"] and mine[0].at.minute == 4
    assert domain.refused({"history": history}, "M3") == []
    went_through = {"type": "permit.updated", "actor": "M1", "at": "2026-04-27T09:10:00+08:00", "detail": {}}
    assert domain.refused({"history": [*history, went_through]}, "M1") == []
    again = rejected("M1", "permit.brief", "2026-04-27T09:11:00+08:00")
    assert [r.command_type for r in domain.refused({"history": [*history, went_through, again]}, "M1")] == [
        "permit.brief"
    ]
