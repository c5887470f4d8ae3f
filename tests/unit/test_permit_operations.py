"""The permit while its work runs (issue 15, GB 30871-2022): suspension and resumption,
interruption, extension, handover, completion acceptance, guardian, briefing, ticket check,
isolations, gas readings and monitoring — each transition and each refusal, no Kafka."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.permit_fasttrack.domain import Permit
from tests.unit.permit_fixtures import (
    TZ,
    R,
    act,
    at,
    facts,
    issued,
    last_refusal,
    people,
    plan,
    prepared,
    reading,
    requested,
    signed,
    types,
)

# --------------------------------------------------------------------------- suspension


@pytest.mark.parametrize(
    ("severity", "area", "suspends"),
    [
        ("minor", "A", True),
        ("minor", "B", False),
        ("near_miss", "A", True),
        ("major", "B", True),
        ("fatal", "Z", True),
    ],
)
def test_an_incident_suspends_issued_work_of_its_area_or_all_of_the_project(
    severity: str, area: str, suspends: bool
) -> None:
    p = issued()
    assert p.incident({"incident_id": "I", "severity": severity, "area": area}, at(10)) == suspends
    assert p.status == ("suspended" if suspends else "issued")


def test_an_incident_leaves_an_unissued_permit_alone() -> None:
    p = signed(requested())
    assert not p.incident({"incident_id": "I", "severity": "fatal", "area": "A"}, at(10))


def test_resume_after_a_minor_incident_by_the_host_rep_with_a_fresh_gas_test() -> None:
    p = issued()
    p.incident({"incident_id": "I", "severity": "minor", "area": "A"}, at(10))
    assert not p.resume(act("M-H", "permit.resume", at(10, 30)), people(), R)
    assert last_refusal(p) == ["gas_retest_required"]  # the 08:45 test predates the suspension
    p.gas_test(reading(at(10, 20), "G2"), at(10, 20), R)
    assert p.resume(act("M-H", "permit.resume", at(10, 30)), people(), R)
    assert p.status == "issued" and types(p)[-1] == "permit.resumed"


def test_after_a_major_incident_only_management_safety_or_hse_resumes() -> None:
    p = issued(
        [],
    )
    p.incident({"incident_id": "I", "severity": "major", "area": "B"}, at(10))
    assert not p.resume(act("M-H", "permit.resume", at(10, 30)), people(), R)
    assert last_refusal(p) == ["role_not_allowed"]
    assert p.resume(act("HSE-1", "permit.resume", at(10, 31), roles=("hse",)), people(), R)


@pytest.mark.parametrize(
    ("who", "actor", "expected"),
    [("M-M", None, ["actor_unknown"]), ("M-M", "M-H", ["not_signer"]), ("M-X", "", ["role_not_allowed"])],
)
def test_resume_refusals_by_actor_and_role(who: str, actor: str | None, expected: list[str]) -> None:
    p = issued([])
    p.incident({"incident_id": "I", "severity": "minor", "area": "A"}, at(10))
    assert not p.resume(act(who, "permit.resume", at(10, 30), actor=actor), people(), R)
    assert last_refusal(p) == expected


def test_only_a_suspended_permit_resumes_and_a_closed_zone_waits_for_a_new_one() -> None:
    p = issued([])
    assert not p.resume(act("M-H", "permit.resume", at(10)), people(), R)
    assert last_refusal(p) == ["not_suspended"]
    p.zone_closed(at(10, 5))
    assert not p.resume(act("M-M", "permit.resume", at(10, 10)), people(), R)
    assert last_refusal(p) == ["waits_for_new_zone"]


# --------------------------------------------------------------------------- interruption


def test_interrupt_and_resume_after_a_short_pause_without_a_new_test() -> None:
    p = issued()
    assert p.interrupt(act("M-C", "permit.interrupt", at(12)), "午饭", people())
    assert p.status == "interrupted" and types(p) == ["permit.interrupted"]
    assert p.resume_work(act("M-C", "permit.resume-work", at(12, 25)), "A", people(), R)
    assert p.status == "issued" and types(p) == ["permit.work-resumed"]


@pytest.mark.parametrize(
    ("risks", "pause_min", "retest"),
    [
        (["hot_work"], 60, False),
        (["hot_work"], 61, True),  # 二级: 60 min (§5.3.1 d)
        (["confined_space"], 60, False),
        (["confined_space"], 61, True),  # §6.3 f
    ],
)
def test_a_long_pause_needs_a_new_gas_test_before_the_work_goes_on(
    risks: list[str], pause_min: int, retest: bool
) -> None:
    p = issued(risks)
    p.interrupt(act("M-C", "permit.interrupt", at(11)), "停电", people())
    back = at(11) + timedelta(minutes=pause_min)
    assert p.resume_work(act("M-C", "permit.resume-work", back), "A", people(), R) is not retest
    if retest:
        assert last_refusal(p) == ["gas_retest_required"]
        p.gas_test(reading(back - timedelta(minutes=5), "G2"), back, R)
        assert p.resume_work(act("M-C", "permit.resume-work", back), "A", people(), R)


def test_first_grade_hot_work_retests_after_thirty_minutes() -> None:
    p = issued(hot_work_grade="first")
    assert p.grade == "first"
    p.interrupt(act("M-C", "permit.interrupt", at(11)), "停电", people())
    assert not p.resume_work(act("M-C", "permit.resume-work", at(11, 31)), "A", people(), R)
    assert last_refusal(p) == ["gas_retest_required"]


def test_hot_work_is_retested_every_day_before_it_starts() -> None:
    p = issued(end=at(17, days=1))  # 二级, 72 h cap, two days of work
    p.interrupt(act("M-C", "permit.interrupt", at(16, 50)), "收工", people())
    # a short "pause" that crosses midnight would not be a pause: the next day needs its own test
    p.interruption.since = at(7, 50, days=1)  # type: ignore[union-attr]
    assert not p.resume_work(act("M-C", "permit.resume-work", at(8, days=1)), "A", people(), R)
    assert last_refusal(p) == ["gas_retest_required"]


@pytest.mark.parametrize(
    ("who", "presence", "expected"),
    [("M-X", "A", ["role_not_allowed"]), ("M-C", None, ["not_on_site"]), ("M-C", "B", ["not_on_site"])],
)
def test_resume_work_refusals(who: str, presence: str | None, expected: list[str]) -> None:
    p = issued()
    p.interrupt(
        act("M-G", "permit.interrupt", at(11)), "监护人中止", people()
    )  # the guardian may stop the work
    assert not p.resume_work(act(who, "permit.resume-work", at(11, 10)), presence, people(), R)
    assert last_refusal(p) == expected


def test_interrupt_and_resume_work_need_the_right_state_and_role() -> None:
    p = issued()
    assert not p.resume_work(act("M-C", "permit.resume-work", at(10)), "A", people(), R)
    assert last_refusal(p) == ["not_interrupted"]
    assert not p.interrupt(act("M-X", "permit.interrupt", at(10)), "x", people())
    assert last_refusal(p) == ["role_not_allowed"]
    p.cancel("work_cancelled", at(10, 30))
    assert not p.interrupt(act("M-C", "permit.interrupt", at(11)), "x", people())
    assert last_refusal(p) == ["permit_finished"]


# --------------------------------------------------------------------------- extension


def test_an_extension_within_the_cap_by_the_approver_on_site() -> None:
    p = issued([], end=at(12))  # general work: 24 h cap, approver host_rep
    assert p.extend(act("M-H", "permit.extend", at(11)), at(20), "返修", "A", people(), R)
    assert p.valid_until == at(20) and types(p) == ["permit.extended"]
    assert p.extensions[0].previous_until == at(12)


@pytest.mark.parametrize(
    ("who", "until_h", "presence", "expected"),
    [
        ("M-H", 9 + 25, "A", ["extension_beyond_cap"]),  # past the 24 h from 09:00
        ("M-H", 11, "A", ["extension_not_later"]),
        ("M-C", 20, "A", ["signer_lacks_role"]),  # not the approver
        ("M-H", 20, None, ["not_on_site"]),
    ],
)
def test_extension_refusals(who: str, until_h: int, presence: str | None, expected: list[str]) -> None:
    p = issued([], end=at(12))
    assert not p.extend(act(who, "permit.extend", at(11)), at(until_h), "x", presence, people(), R)
    assert last_refusal(p) == expected and p.valid_until == at(12)


def test_hot_work_beyond_eight_hours_for_first_grade_needs_a_new_permit() -> None:
    p = issued(hot_work_grade="first", end=at(15))
    assert p.required_roles[-1] == "safety_department"
    p.gas_test(reading(at(14, 50), "G2"), at(14, 50), R)
    assert not p.extend(act("M-SD", "permit.extend", at(14, 55)), at(17, 30), "x", "A", people(), R)
    assert last_refusal(p) == ["extension_beyond_cap"]
    assert p.extend(act("M-SD", "permit.extend", at(14, 55)), at(17), "x", "A", people(), R)


def test_an_extension_of_gas_tested_work_is_re_checked() -> None:
    p = issued(end=at(12))
    assert not p.extend(act("M-H", "permit.extend", at(11, 50)), at(16), "x", "A", people(), R)
    assert last_refusal(p) == ["gas_retest_required"]


# --------------------------------------------------------------------------- handover


def _handover_all(p: Permit, when_h: int, when_m: int = 5, incoming_guardian: str = "M-G2") -> None:
    for who, position, side in (
        ("M-C", "work_lead", "outgoing"),
        ("M-X", "work_lead", "incoming"),
        ("M-G", "guardian", "outgoing"),
        (incoming_guardian, "guardian", "incoming"),
    ):
        assert p.handover(act(who, "permit.handover", at(when_h, when_m)), position, side, people(), R), who


def test_a_handover_acknowledged_by_all_four_passes_the_guardian() -> None:
    p = issued(["work_at_height"], start=at(6), end=at(12), when=at(6))  # crosses the 08:00 shift change
    assert p.next_due(R) == at(8, 30)
    _handover_all(p, 8)
    changes = [c.data.get("change") for c in p.drain()]
    assert changes.count("handover_acknowledged") == 4 and changes[-1] == "handover_completed"
    assert p.guardian.member_id == "M-G2" and p.guardian.on_site  # type: ignore[union-attr]
    p.due(at(8, 30), R)
    assert p.status == "issued" and p.next_due(R) == at(12)


def test_a_handover_not_acknowledged_in_time_suspends_the_permit_until_it_is() -> None:
    p = issued(["work_at_height"], start=at(6), end=at(12), when=at(6))
    p.handover(act("M-C", "permit.handover", at(8)), "work_lead", "outgoing", people(), R)
    p.due(at(8, 30), R)
    assert p.status == "suspended" and p.suspension.cause == "handover_missing"  # type: ignore[union-attr]
    assert not p.resume(act("M-H", "permit.resume", at(8, 40)), people(), R)
    assert last_refusal(p) == ["handover_not_complete"]
    for who, position, side in (
        ("M-X", "work_lead", "incoming"),
        ("M-G", "guardian", "outgoing"),
        ("M-G2", "guardian", "incoming"),
    ):
        assert p.handover(act(who, "permit.handover", at(8, 45)), position, side, people(), R)
    assert p.resume(act("M-H", "permit.resume", at(8, 50)), people(), R)


@pytest.mark.parametrize(
    ("who", "position", "side", "when", "expected"),
    [
        ("M-C", "work_lead", "outgoing", (10, 0), ["no_handover_due"]),
        ("M-C", "guardian", "outgoing", (8, 0), ["not_guardian"]),
        ("M-C", "driver", "outgoing", (8, 0), ["unknown_position"]),
        ("NOBODY", "work_lead", "incoming", (8, 0), ["not_on_roster"]),
    ],
)
def test_handover_refusals(
    who: str, position: str, side: str, when: tuple[int, int], expected: list[str]
) -> None:
    p = issued(["work_at_height"], start=at(6), end=at(12), when=at(6))
    assert not p.handover(act(who, "permit.handover", at(*when)), position, side, people(), R)
    assert last_refusal(p) == expected


# --------------------------------------------------------------------------- completion


def test_completion_refused_then_accepted_closes_the_permit() -> None:
    p = issued()
    assert p.declare_complete(act("M-C", "permit.declare-complete", at(15)), people())
    assert p.status == "completing"
    assert p.accept_completion(
        act("M-H", "permit.accept-completion", at(15, 10)), "reject", False, False, "盖板未恢复", people()
    )
    assert p.status == "issued" and types(p)[-1] == "permit.completion-refused"
    p.declare_complete(act("M-C", "permit.declare-complete", at(15, 30)), people())
    assert p.accept_completion(
        act("M-H", "permit.accept-completion", at(15, 40)), "approve", True, True, None, people()
    )
    assert p.status == "closed" and p.completion.refusals[0].reason == "盖板未恢复"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("who", "guards", "house", "expected"),
    [
        ("M-C", True, True, ["role_not_allowed"]),
        ("M-H", False, True, ["site_not_restored"]),
        ("M-H", True, False, ["site_not_restored"]),
    ],
)
def test_completion_acceptance_refusals(who: str, guards: bool, house: bool, expected: list[str]) -> None:
    p = issued()
    p.declare_complete(act("M-C", "permit.declare-complete", at(15)), people())
    assert not p.accept_completion(
        act(who, "permit.accept-completion", at(15, 10)), "approve", guards, house, None, people()
    )
    assert last_refusal(p) == expected and p.status == "completing"


def test_a_permit_cannot_close_before_its_isolation_is_removed() -> None:
    p = prepared(
        signed(requested(["confined_space"], isolations=[{"isolation_id": "ISO", "kind": "blind_plate"}]))
    )
    p.isolation(
        {
            "isolation_id": "ISO",
            "kind": "blind_plate",
            "applied_by": "M-H",
            "applied_at": at(8),
            "lock_id": "L1",
        },
        at(8),
    )
    p.gas_test(reading(at(8, 45)), at(8, 45), R)
    p.evaluate(facts(), at(8, 50), R)
    assert p.status == "issued"
    p.declare_complete(act("M-C", "permit.declare-complete", at(15)), people())
    assert not p.accept_completion(
        act("M-H", "permit.accept-completion", at(15, 5)), "approve", True, True, None, people()
    )
    assert last_refusal(p) == ["isolation_not_removed"]
    p.isolation({"isolation_id": "ISO", "removed_by": "M-H", "removed_at": at(15, 10)}, at(15, 10))
    assert p.accept_completion(
        act("M-H", "permit.accept-completion", at(15, 15)), "approve", True, True, None, people()
    )


def test_completion_needs_running_work_and_the_lead() -> None:
    p = signed(requested())
    assert not p.declare_complete(act("M-C", "permit.declare-complete", at(9)), people())
    assert last_refusal(p) == ["not_issued"]
    q = issued()
    assert not q.declare_complete(act("M-H", "permit.declare-complete", at(9)), people())
    assert last_refusal(q) == ["role_not_allowed"]
    assert not q.accept_completion(
        act("M-H", "permit.accept-completion", at(9)), "approve", True, True, None, people()
    )
    assert last_refusal(q) == ["not_completing"]


def test_the_base_close_is_declaration_by_the_lead_and_acceptance_by_the_host_rep() -> None:
    p = issued()
    assert p.close(act("M-C", "permit.close", at(15)), people()) and p.status == "completing"
    assert not p.close(act("M-X", "permit.close", at(15, 5)), people())
    assert last_refusal(p) == ["role_not_allowed"]
    assert p.close(act("M-H", "permit.close", at(15, 10)), people()) and p.status == "closed"
    assert not p.close(act("M-H", "permit.close", at(15, 20)), people())
    assert last_refusal(p) == ["permit_finished"]


# --------------------------------------------------------------------------- guardian, briefing, ticket


def test_guardian_named_checked_in_and_checking_out_stops_the_work() -> None:
    p = issued()
    assert p.check_out(act("M-G", "permit.check-out", at(11)))
    assert p.status == "suspended" and p.suspension.cause == "guardian_left"  # type: ignore[union-attr]
    assert not p.resume(act("M-H", "permit.resume", at(11, 10)), people(), R)
    assert "guardian_not_on_site" in last_refusal(p)
    assert p.check_in(act("M-G", "permit.check-in", at(11, 20)), "A")
    p.gas_test(reading(at(11, 25), "G2"), at(11, 25), R)
    assert p.resume(act("M-H", "permit.resume", at(11, 30)), people(), R)


@pytest.mark.parametrize(
    ("who", "guardian", "risks", "expected"),
    [
        ("M-C", "NOBODY", ["hot_work"], ["not_on_roster"]),
        ("M-X", "M-G", ["hot_work"], ["role_not_allowed"]),
        ("M-C", "M-G", [], ["not_a_special_work"]),
    ],
)
def test_naming_a_guardian_refusals(who: str, guardian: str, risks: list[str], expected: list[str]) -> None:
    p = requested(risks)
    assert not p.name_guardian(act(who, "permit.name-guardian", at(7, 10)), guardian, people())
    assert last_refusal(p) == expected


def test_a_running_permit_changes_its_guardian_only_by_handover() -> None:
    p = issued()
    assert not p.name_guardian(act("M-C", "permit.name-guardian", at(10)), "M-G2", people())
    assert last_refusal(p) == ["guardian_change_needs_handover"]


@pytest.mark.parametrize(
    ("who", "presence", "expected"), [("M-X", "A", ["not_guardian"]), ("M-G", "B", ["not_on_site"])]
)
def test_check_in_refusals(who: str, presence: str, expected: list[str]) -> None:
    p = requested()
    p.name_guardian(act("M-C", "permit.name-guardian", at(7, 10)), "M-G", people())
    assert not p.check_in(act(who, "permit.check-in", at(7, 20)), presence)
    assert last_refusal(p) == expected


def test_only_the_guardian_checks_out() -> None:
    p = issued()
    assert not p.check_out(act("M-X", "permit.check-out", at(11)))
    assert last_refusal(p) == ["not_guardian"] and p.status == "issued"


@pytest.mark.parametrize(
    ("giver", "receiver", "expected"),
    [
        ("M-C", "M-G", ["role_not_allowed"]),  # the crew does not brief itself (§4.4: the enterprise does)
        ("M-H", "M-L", ["role_not_allowed"]),  # the receiver is the crew
        ("M-H", "NOBODY", ["not_on_roster"]),
    ],
)
def test_briefing_refusals(giver: str, receiver: str, expected: list[str]) -> None:
    p = requested()
    assert not p.brief(act(giver, "permit.brief", at(7, 10)), receiver, None, people())
    assert last_refusal(p) == expected


@pytest.mark.parametrize(
    ("who", "presence", "expected"), [("M-C", "A", ["role_not_allowed"]), ("M-L", None, ["not_on_site"])]
)
def test_ticket_check_refusals(who: str, presence: str | None, expected: list[str]) -> None:
    p = requested()
    assert not p.check_ticket(act(who, "permit.check-ticket", at(7, 10)), presence, people())
    assert last_refusal(p) == expected


# --------------------------------------------------------------------------- isolations


def test_a_water_seal_is_not_an_isolation_planned_or_applied() -> None:
    iso = [{"isolation_id": "ISO", "kind": "water_seal"}]
    p = prepared(signed(requested(["blind_plate"], isolations=iso)))
    p.evaluate(facts(), at(8), R)
    assert p.blocked_reasons == ["isolation_inadequate"]
    assert p.blocked_details == [
        {"reason": "isolation_inadequate", "isolation_id": "ISO", "kind": "water_seal"}
    ]
    # Applied as a water seal on site, re-planned as a blind plate: still inadequate until a blind plate is in.
    applied = {"isolation_id": "ISO", "kind": "water_seal", "applied_by": "M-H", "applied_at": at(8, 5)}
    p.isolation(applied, at(8, 5))
    p.replan(
        plan(["blind_plate"], isolations=[{"isolation_id": "ISO", "kind": "blind_plate"}]),
        [p.permit_id],
        at(8, 10),
        R,
        TZ,
        people(),
        "pm",
    )
    signed(p, at(8, 20))
    p.evaluate(facts(), at(8, 20), R)
    assert p.blocked_reasons == ["isolation_inadequate"]
    p.isolation({**applied, "kind": "blind_plate", "lock_id": "L2", "applied_at": at(8, 30)}, at(8, 30))
    p.evaluate(facts(), at(8, 30), R)
    assert p.status == "issued"


def test_an_isolation_not_yet_applied_blocks() -> None:
    p = prepared(
        signed(requested(["blind_plate"], isolations=[{"isolation_id": "ISO", "kind": "blind_plate"}]))
    )
    p.evaluate(facts(), at(8), R)
    assert p.blocked_reasons == ["isolation_not_applied"]
    assert p.blocked_details == [{"reason": "isolation_not_applied", "isolation_id": "ISO"}]
    assert not p.isolation(
        {"isolation_id": "OTHER", "kind": "blind_plate", "applied_by": "x", "applied_at": at(8)}, at(8)
    )


# --------------------------------------------------------------------------- gas readings and monitoring


def test_a_failing_reading_suspends_issued_gas_work() -> None:
    p = issued()
    p.gas_test(reading(at(11), "G2", lel_pct=12.0), at(11), R)
    assert p.status == "suspended" and p.suspension.cause == "gas_test_failed"  # type: ignore[union-attr]


def test_a_confined_space_without_a_reading_for_two_hours_is_suspended() -> None:
    p = issued(["confined_space"])
    assert p.next_due(R) == at(10, 45)  # two hours after the 08:45 test
    p.gas_test(reading(at(10, 30), "G2"), at(10, 30), R)
    assert p.next_due(R) == at(12, 30)
    p.due(at(12, 29), R)
    assert p.status == "issued"
    p.due(at(12, 30), R)
    assert p.status == "suspended" and p.suspension.cause == "gas_monitoring_lapsed"  # type: ignore[union-attr]
    p.gas_test(reading(at(12, 40), "G3"), at(12, 40), R)
    assert p.status == "suspended"  # a passing reading does not resume by itself
    assert p.resume(act("M-H", "permit.resume", at(12, 45)), people(), R)


def test_second_grade_hot_work_is_not_continuously_monitored() -> None:
    p = issued()
    assert p.next_due(R) == at(17)


def test_a_reading_of_another_area_or_the_same_test_twice_changes_nothing() -> None:
    p = issued()
    p.gas_test(reading(at(11), "G9", area="B", lel_pct=50.0), at(11), R)
    assert p.status == "issued"
    assert not p.gas_test(reading(at(8, 45)), at(11), R)  # the 08:45 test again


def test_a_plan_that_is_not_special_work_needs_no_gas() -> None:
    p = requested(["lifting"], load_t=20)
    assert not p.needs_gas() and not p.gas_test(reading(at(8)), at(8), R)


def test_the_work_plans_guardian_is_named_by_the_plan() -> None:
    p = Permit.for_work("hot_work", plan(["hot_work"], guardian_member_id="M-G"), [], at(7), R, None)
    assert p.guardian is not None and p.guardian.named_by == "work plan" and not p.guardian.on_site
