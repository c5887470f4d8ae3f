"""The old sequential sign-off (issue 19), played by the same Permit: a zone with
``signing: sequential`` asks its offices one after another, each signing in office hours."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.permit_fasttrack import figures
from services.permit_fasttrack.domain import Permit
from services.permit_fasttrack.domain.sequential import (
    OFFICES,
    in_office_hours,
    next_office,
    next_opening,
    signing_of,
)
from shared.events.catalog import CommandRefusal, PermitStatus, SigningMode
from tests.unit.permit_fixtures import TZ, R, act, at, member, people, requested, zone

OFFICE_HOLDERS = {
    "construction_safety_officer": "Q-1",
    "contractor_safety_officer": "Q-2",
    "contractor_engineer": "Q-3",
    "contractor_manager": "Q-4",
    "supervision": "Q-5",
    "owner": "Q-6",
}
EMPLOYED = {"Q-5": "S1", "Q-6": "M1"}


def sequential_zone() -> dict[str, Any]:
    offices = [
        {**member(m, office), "employer_unit_id": EMPLOYED.get(m, "C1")}
        for office, m in OFFICE_HOLDERS.items()
    ]
    return {**zone(extra=offices), "settings": {"signing": "sequential"}}


def asked(permit: Permit) -> list[tuple[str, list[str]]]:
    return [
        (c.data["role"], c.data["member_ids"])
        for c in permit.drain()
        if c.type == "permit.signature-requested"
    ]


def sign(permit: Permit, office: str, when: datetime, who: str | None = None) -> bool:
    member_id = who or OFFICE_HOLDERS[office]
    return permit.sign(
        act(member_id, when=when), office, "approve", None, when, None, people(sequential_zone()), R
    )


def test_a_zone_signs_in_parallel_unless_it_says_sequential() -> None:
    assert signing_of(None) is SigningMode.PARALLEL
    assert signing_of(zone()) is SigningMode.PARALLEL
    assert signing_of(sequential_zone()) is SigningMode.SEQUENTIAL


def test_a_sequential_zone_asks_the_first_office_only() -> None:
    p = requested(["hot_work"], z=sequential_zone())
    assert p.signing is SigningMode.SEQUENTIAL
    assert p.required_roles == list(OFFICES)
    assert asked(p) == [("construction_safety_officer", ["Q-1"])]
    assert p.waiting_on() == ["construction_safety_officer"]
    assert p.snapshot()["signing"] == "sequential"


def test_each_office_is_asked_once_the_one_before_has_signed_and_the_last_approves() -> None:
    p = requested(["hot_work"], z=sequential_zone())
    p.drain()
    for i, office in enumerate(OFFICES):
        assert sign(p, office, at(9 + i))
        if i + 1 < len(OFFICES):
            assert asked(p) == [(OFFICES[i + 1], [OFFICE_HOLDERS[OFFICES[i + 1]]])]
    assert p.status == PermitStatus.APPROVED
    assert [s.role for s in p.signatures] == list(OFFICES)


def test_an_office_signing_before_its_turn_is_refused() -> None:
    p = requested(["hot_work"], z=sequential_zone())
    assert not sign(p, "contractor_engineer", at(9))
    [refusal] = [c for c in p.drain() if c.type == "permit.command-rejected"]
    assert refusal.data["reasons"] == [CommandRefusal.OUT_OF_TURN]
    assert p.signatures == []


def test_an_office_signs_in_office_hours_only() -> None:
    p = requested(["hot_work"], z=sequential_zone())
    assert not sign(p, "construction_safety_officer", at(7, 30))  # before 08:30
    assert not sign(p, "construction_safety_officer", at(10, days=4))  # Saturday
    reasons = [c.data["reasons"] for c in p.drain() if c.type == "permit.command-rejected"]
    assert reasons == [[CommandRefusal.OUTSIDE_OFFICE_HOURS]] * 2
    assert sign(p, "construction_safety_officer", at(8, 30))


def test_the_zones_own_roles_are_not_asked_in_a_sequential_zone() -> None:
    p = requested(["hot_work"], z=sequential_zone())
    assert not p.sign(act("M-H"), "host_rep", "approve", None, at(9), "A", people(sequential_zone()), R)
    [refusal] = [c for c in p.drain() if c.type == "permit.command-rejected"]
    assert CommandRefusal.ROLE_NOT_REQUIRED in refusal.data["reasons"]


def test_an_office_held_by_someone_of_another_unit_is_refused() -> None:
    z = sequential_zone()
    z["members"] = [m if m["member_id"] != "Q-1" else {**m, "employer_unit_id": "S1"} for m in z["members"]]
    p = requested(["hot_work"], z=z)
    assert not p.sign(
        act("Q-1", when=at(9)), "construction_safety_officer", "approve", None, at(9), None, people(z), R
    )
    [refusal] = [c for c in p.drain() if c.type == "permit.command-rejected"]
    assert CommandRefusal.ROLE_UNIT_MISMATCH in refusal.data["reasons"]


def test_a_parallel_zone_is_unchanged() -> None:
    p = requested(["hot_work"])
    assert p.signing is SigningMode.PARALLEL and "host_rep" in p.required_roles
    assert {r for r, _ in asked(p)} == set(p.required_roles)


def test_office_hours_and_the_next_opening() -> None:
    assert in_office_hours(at(8, 30), R) and not in_office_hours(at(17, 30), R)
    assert next_opening(at(9), R) == at(9)
    assert next_opening(at(18), R) == at(8, 30, days=1)
    assert next_opening(at(19, days=3), R) == at(8, 30, days=6)  # Friday evening → Monday
    assert next_opening(at(9, days=4), R).tzinfo is TZ
    assert next_office(set()) == "construction_safety_officer" and next_office(set(OFFICES)) is None


def test_stats_measure_each_signing_mode_apart() -> None:
    def doc(signing: str | None, minutes: int) -> dict[str, Any]:
        d = {
            "kind": "work_permit",
            "status": "issued",
            "requested_at": at(7),
            "issued_at": at(7, minutes),
            "sla_deadline": at(11),
            "history": [],
        }
        return d if signing is None else {**d, "signing": signing}

    s = figures.stats(
        [doc(None, 30), doc("parallel", 50), doc("sequential", 0) | {"issued_at": at(9, days=2)}]
    )
    assert set(s.by_signing) == {"parallel", "sequential"}
    assert s.by_signing["parallel"].count == 2 and s.by_signing["parallel"].median_cycle_minutes == 40.0
    assert s.by_signing["sequential"].median_cycle_minutes == 2 * 1440 + 120
    assert s.by_signing["sequential"].issued_within_sla_share == 0.0
