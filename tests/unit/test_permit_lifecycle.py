"""The permit state machine, from request to its ends (issue 15): one test per transition and per
refused transition, on the aggregate itself — no Kafka, no Mongo."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.permit_fasttrack.domain import Permit
from tests.unit.permit_fixtures import (
    ROLES,
    TZ,
    R,
    act,
    at,
    facts,
    issued,
    last_refusal,
    member,
    people,
    plan,
    prepared,
    reading,
    requested,
    signed,
    types,
    zone,
)

# --------------------------------------------------------------------------- request and routing


def test_request_routes_to_the_roster_naming_people_per_role() -> None:
    p = requested()
    changes = p.drain()
    assert [c.type for c in changes][:1] == ["permit.requested"]
    asked = {c.data["role"]: c.data["member_ids"] for c in changes if c.type == "permit.signature-requested"}
    assert asked == {
        "host_rep": ["M-H"],
        "construction_lead": ["M-C"],
        "supervision_engineer": ["M-S"],
        "management_safety": ["M-M"],
    }
    assert p.status == "pending_signatures" and p.zone_id == "Z" and p.version == 5


def test_request_without_an_active_zone_blocks_until_one_covers_the_project() -> None:
    p = requested(z=zone(status="proposed"))
    assert types(p) == ["permit.requested", "permit.blocked"]
    assert p.status == "blocked" and p.blocked_reasons == ["no_active_zone"] and p.needs_zone()
    p.route(people(), at(8))
    assert p.status == "pending_signatures" and not p.needs_zone()
    assert types(p).count("permit.signature-requested") == 4


def test_a_request_naming_nobody_raises_no_signer_for_the_secretary() -> None:
    p = requested(["work_at_height"], height_m=40, z=zone())  # Ⅳ: the plant manager approves
    p2 = Permit.for_work("work_at_height", plan(["work_at_height"], height_m=40), [], at(7), R, TZ)
    pe = people()
    pe.register = {}
    p2.request("pm", at(7), pe)
    no_signer = [c for c in p2.drain() if c.type == "permit.no-signer"]
    assert [c.data["role"] for c in no_signer] == ["plant_manager"]
    assert no_signer[0].data["secretary_member_ids"] == ["M-K"]
    assert "plant_manager" in p.required_roles


def test_a_member_who_joins_with_a_needed_role_is_asked_at_once() -> None:
    p = requested()
    p.drain()
    z = zone(extra=[member("M-W", "construction_lead")])
    assert p.member_joined("M-W", "construction_lead", people(z), at(8))
    change = p.drain()[0]
    assert change.type == "permit.signature-requested" and change.data == {
        **change.data,
        "role": "construction_lead",
        "member_ids": ["M-W"],
    }
    assert p.request_for("construction_lead").member_ids == ["M-C", "M-W"]  # type: ignore[union-attr]


def test_a_member_whose_role_is_not_needed_is_not_asked() -> None:
    p = signed(requested(), at(7, 30))
    p.drain()
    assert not p.member_joined("M-W", "construction_lead", people(), at(8))  # already signed
    assert not p.member_joined("M-W", "member", people(), at(8))
    assert p.drain() == []


# --------------------------------------------------------------------------- signatures


def test_signatures_approve_the_permit_when_every_role_has_approved() -> None:
    p = requested()
    p.drain()
    assert p.sign(act("M-H"), "host_rep", "approve", None, at(7, 30), "A", people())
    assert p.status == "pending_signatures" and types(p) == ["permit.signed"]
    signed(p)
    assert p.status == "approved" and types(p)[-1] == "permit.approved"


def test_a_rejection_rejects_the_permit() -> None:
    p = requested()
    assert p.sign(act("M-S"), "supervision_engineer", "reject", "换方案", at(7, 30), None, people())
    assert p.status == "rejected" and types(p)[-2:] == ["permit.signed", "permit.rejected"]


@pytest.mark.parametrize(
    ("who", "actor", "role", "presence", "expected"),
    [
        ("M-H", None, "host_rep", "A", ["actor_unknown"]),
        ("M-H", "M-C", "host_rep", "A", ["not_signer"]),
        ("M-X", "", "host_rep", "A", ["signer_lacks_role"]),
        ("M-H", "", "secretary", None, ["role_not_required", "signer_lacks_role"]),
        ("M-H", "", "host_rep", None, ["not_on_site"]),  # the approver of 二级 hot work signs on site
        ("M-H", "", "host_rep", "B", ["not_on_site"]),
        ("M-H", "", "host_rep", "qr:A", []),
        ("M-S", "", "supervision_engineer", "nfc:A", []),
    ],
)
def test_signature_refusals(
    who: str, actor: str | None, role: str, presence: str | None, expected: list[str]
) -> None:
    p = requested()
    p.drain()
    taken = p.sign(act(who, actor=actor), role, "approve", None, at(7, 30), presence, people())
    assert taken == (not expected)
    if expected:
        assert last_refusal(p) == expected and p.signatures == []
        assert p.history[-1].type == "permit.command-rejected" and p.history[-1].actor == (
            actor or "(no actor)" if actor != "" else who
        )


def test_the_same_role_twice_and_one_person_in_two_roles_are_refused() -> None:
    z = zone(extra=[member("M-H2", "supervision_engineer")])
    z["members"] = [m if m["member_id"] != "M-S" else {**m, "zone_role": "member"} for m in z["members"]]
    p = requested(z=z)
    pe = people(z)
    assert p.sign(act("M-H"), "host_rep", "approve", None, at(7, 30), "A", pe)
    assert not p.sign(act("M-H"), "host_rep", "approve", None, at(7, 31), "A", pe)
    assert last_refusal(p) == ["role_already_signed"]
    # M-H also holds supervision on a roster that lets them: still one role per permit.
    z["members"].append({**member("M-H", "supervision_engineer"), "employer_unit_id": "S1"})
    assert not p.sign(act("M-H"), "supervision_engineer", "approve", None, at(7, 32), None, people(z))
    assert "already_signed_other_role" in last_refusal(p)


def test_a_roster_role_held_by_someone_of_the_wrong_unit_is_refused() -> None:
    z = zone()
    for m in z["members"]:
        if m["member_id"] == "M-S":
            m["employer_unit_id"] = "C1"  # the contractor's employee as the supervisor
    p = requested(z=z)
    assert not p.sign(act("M-S"), "supervision_engineer", "approve", None, at(7, 30), None, people(z))
    assert last_refusal(p) == ["role_unit_mismatch"]


def test_a_register_signer_with_an_expired_certificate_is_refused() -> None:
    p = requested(["lifting"], load_t=50)  # 二级: the professional department approves
    assert "professional_department" in p.required_roles
    assert not p.sign(act("M-OLD"), "professional_department", "approve", None, at(7, 30), "A", people())
    assert last_refusal(p) == ["certificate_expired"]
    assert p.sign(act("M-PD"), "professional_department", "approve", None, at(7, 30), "A", people())


def test_signing_a_finished_or_unrouted_permit_is_refused() -> None:
    p = requested(z=zone(status="proposed"))
    assert not p.sign(act("M-H"), "host_rep", "approve", None, at(7, 30), "A", people())
    assert last_refusal(p) == ["signatures_not_requested"]
    p.route(people(), at(7, 40))
    p.cancel("work_cancelled", at(7, 45))
    assert not p.sign(act("M-H"), "host_rep", "approve", None, at(7, 50), "A", people())
    assert last_refusal(p)[:2] == ["permit_finished", "signatures_not_requested"]


def test_a_rejected_permit_is_resubmitted_as_a_new_revision_keeping_the_rejection() -> None:
    p = requested()
    p.sign(act("M-S"), "supervision_engineer", "reject", "换方案", at(7, 30), None, people())
    p.drain()
    assert p.resubmit(act("M-C", "permit.resubmit", at(8)), people())
    assert p.status == "pending_signatures" and p.revision == 2 and p.signatures == []
    assert types(p)[:1] == ["permit.resubmitted"]
    assert [h.type for h in p.history].count("permit.rejected") == 1


@pytest.mark.parametrize(
    ("who", "actor", "expected"), [("M-C", None, ["actor_unknown"]), ("M-X", "", ["signer_lacks_role"])]
)
def test_resubmission_refusals(who: str, actor: str | None, expected: list[str]) -> None:
    p = requested()
    p.sign(act("M-S"), "supervision_engineer", "reject", None, at(7, 30), None, people())
    assert not p.resubmit(act(who, "permit.resubmit", at(8), actor=actor), people())
    assert last_refusal(p) == expected and p.status == "rejected"


def test_only_a_rejected_permit_is_resubmitted() -> None:
    p = requested()
    assert not p.resubmit(act("M-C", "permit.resubmit", at(8)), people())
    assert last_refusal(p) == ["not_rejected"]


# --------------------------------------------------------------------------- issue, block, lapse


def test_an_approved_permit_is_blocked_with_every_reason_then_issued_when_they_hold() -> None:
    p = signed(requested())
    p.drain()
    p.evaluate(facts(checkin=False), at(7, 40), R)
    assert p.status == "blocked"
    assert p.blocked_reasons == [
        "no_morning_checkin",
        "guardian_missing",
        "briefing_missing",
        "ticket_not_checked",
        "gas_test_missing",
    ]
    p.evaluate(facts(checkin=False), at(7, 41), R)
    assert types(p) == ["permit.blocked"]  # the same reasons again say nothing new
    prepared(p)
    p.gas_test(reading(at(8, 45)), at(8, 45), R)
    p.evaluate(facts(), at(8, 45), R)
    assert p.status == "issued" and (p.valid_from, p.valid_until) == (at(9), at(17))
    assert p.issued_at == at(8, 45)


def test_a_permit_never_issues_after_its_planned_end_it_lapses() -> None:
    p = prepared(signed(requested()))
    p.gas_test(reading(at(16, 59)), at(16, 59), R)
    p.drain()
    p.evaluate(facts(), at(17), R)
    assert p.status == "lapsed" and types(p) == ["permit.lapsed"] and p.issued_at is None


def test_an_open_permit_lapses_at_its_planned_end_on_the_clock() -> None:
    p = requested()
    p.drain()
    assert p.next_due(R) == at(11)  # the SLA deadline comes first
    p.due(at(17), R)
    assert p.status == "lapsed" and p.finished_at == at(17)


def test_the_sla_breach_is_escalated_once_naming_roles_and_people() -> None:
    p = requested()
    p.sign(act("M-H"), "host_rep", "approve", None, at(7, 30), "A", people())
    p.drain()
    p.due(at(11), R)
    breach = p.drain()
    assert [c.type for c in breach] == ["permit.sla-breached"]
    assert breach[0].data["waiting_on_roles"] == [
        "construction_lead",
        "supervision_engineer",
        "management_safety",
    ]
    assert breach[0].data["waiting_on_members"] == ["M-C", "M-M", "M-S"]
    p.due(at(11, 30), R)
    assert p.drain() == [] and p.next_due(R) == at(17)


def test_an_issued_permit_expires_at_the_end_of_its_validity() -> None:
    p = issued()
    assert p.next_due(R) == at(17)
    p.due(at(16, 59), R)
    assert p.status == "issued"
    p.due(at(17), R)
    assert p.status == "expired" and types(p) == ["permit.expired"]


def test_a_suspended_permit_expires_too() -> None:
    p = issued()
    p.incident({"incident_id": "I", "severity": "minor", "area": "A"}, at(10))
    p.due(at(17), R)
    assert p.status == "expired"


def test_cancel_ends_an_open_permit_and_leaves_a_finished_one_alone() -> None:
    p = requested()
    assert p.cancel("work_cancelled", at(8)) and p.status == "cancelled"
    assert types(p)[-1] == "permit.cancelled"
    assert not p.cancel("work_cancelled", at(9)) and p.drain() == []


# --------------------------------------------------------------------------- re-plan


def test_an_unchanged_re_plan_is_a_no_op() -> None:
    p = signed(requested())
    p.drain()
    version = p.version
    assert not p.replan(plan(["hot_work"]), [p.permit_id], at(8), R, TZ, people(), "pm")
    assert p.version == version and p.drain() == []


def test_a_re_plan_that_moves_the_time_voids_the_approvals_and_asks_again() -> None:
    p = signed(requested())
    p.drain()
    assert p.replan(plan(["hot_work"], start=at(10)), [p.permit_id], at(8), R, TZ, people(), "pm")
    changes = p.drain()
    revised = changes[0]
    assert revised.type == "permit.revised" and revised.data["changed"] == ["planned_start"]
    assert revised.data["approvals_void"] and p.revision == 2 and p.signatures == []
    assert (
        p.status == "pending_signatures"
        and [c.type for c in changes].count("permit.signature-requested") == 4
    )


def test_a_re_plan_of_an_issued_permit_stops_the_work_and_asks_again() -> None:
    p = issued()
    assert p.replan(plan(["hot_work"], area="B"), [p.permit_id], at(10), R, TZ, people(), "pm")
    assert p.status == "pending_signatures" and p.valid_until is None and p.area == "B"


def test_a_re_plan_naming_only_a_new_guardian_keeps_the_approvals() -> None:
    p = signed(requested())
    p.drain()
    assert p.replan(
        plan(["hot_work"], guardian_member_id="M-G2"), [p.permit_id], at(8), R, TZ, people(), "pm"
    )
    revised = p.drain()[0]
    assert (
        revised.data["approvals_void"] is False and len(p.signatures) == 4 and p.guardian.member_id == "M-G2"
    )  # type: ignore[union-attr]


def test_a_re_plan_of_a_rejected_permit_is_its_resubmission() -> None:
    p = requested()
    p.sign(act("M-S"), "supervision_engineer", "reject", None, at(7, 30), None, people())
    p.drain()
    assert p.replan(plan(["hot_work"], end=at(15)), [p.permit_id], at(8), R, TZ, people(), "pm")
    assert [c.type for c in p.drain()][:2] == ["permit.revised", "permit.resubmitted"]
    assert p.status == "pending_signatures"


def test_a_closed_permit_is_not_revived_by_a_re_plan() -> None:
    p = issued(["lifting"], load_t=20)
    p.cancel("work_cancelled", at(12))
    assert not p.replan(plan(["lifting"], load_t=30), [p.permit_id], at(13), R, TZ, people(), "pm")


# --------------------------------------------------------------------------- zones


def test_a_closed_zone_suspends_issued_work_and_blocks_open_permits() -> None:
    live, waiting = issued(), requested()
    waiting.drain()
    live.zone_closed(at(10))
    waiting.zone_closed(at(10))
    assert live.status == "suspended" and live.suspension.cause == "zone_closed"  # type: ignore[union-attr]
    assert waiting.status == "blocked" and waiting.blocked_reasons == ["no_active_zone"]
    assert live.needs_zone() and waiting.needs_zone()


def test_a_new_zone_re_routes_a_suspended_permit_to_its_roster() -> None:
    p = issued()
    p.zone_closed(at(10))
    p.drain()
    z2 = zone("Z2")
    p.route(people(z2), at(11))
    changes = p.drain()
    assert changes[0].type == "permit.updated" and changes[0].data["change"] == "rerouted"
    assert p.zone_id == "Z2" and p.status == "pending_signatures" and p.signatures == []
    assert [c.type for c in changes].count("permit.signature-requested") == 4


def test_version_goes_up_with_every_change_and_revision_after_issue() -> None:
    p = issued()
    v, r = p.version, p.revision
    p.interrupt(act("M-C", "permit.interrupt", at(10)), "午休", people())
    assert p.version == v + 1 and p.revision == r + 1
    assert p.history[-1].revision == p.revision and p.history[-1].actor == "M-C"


def test_every_role_of_the_spec_signs_a_general_permit() -> None:
    p = requested([])
    assert p.work_class == "general" and p.required_roles == list(ROLES)[:3]
    p = signed(p)
    p.evaluate(facts(checkin=False), at(8), R)
    assert p.status == "issued" and p.valid_until == at(17)  # no check-in, guardian or gas for general work


def test_a_drawing_review_is_valid_thirty_days_from_issue() -> None:
    d = Permit.for_drawing("D1", "P", "图", "C1", at(7), R)
    d.request("pm", at(7), people())
    for role in ("host_rep", "supervision_engineer", "management_safety"):
        d.sign(act(ROLES[role]), role, "approve", None, at(8), None, people())
    d.evaluate(facts(), at(8), R)
    assert d.status == "issued" and d.valid_until == at(8) + timedelta(days=30)


def test_a_unit_level_approver_is_the_host_units() -> None:
    p = requested(["lifting"], load_t=50)
    pe = people()
    pe.register["M-PD2"] = {"unit_id": "H9", "roles": ["professional_department"], "certificates": []}
    asked = [
        c
        for c in p.drain()
        if c.type == "permit.signature-requested" and c.data["role"] == "professional_department"
    ]
    assert asked[0].data["member_ids"] == ["M-OLD", "M-PD"]  # the host unit's, not H9's
    assert not p.sign(act("M-PD2"), "professional_department", "approve", None, at(7, 30), "A", pe)
    assert last_refusal(p) == ["role_unit_mismatch"]
