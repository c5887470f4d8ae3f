"""Who may do what, without I/O: the zone-registry's actor rules, roster views and erasure;
the activity-log's and assessment's actor refusals; the principal read from a token's claims;
settings that would make token checks laxer are refused at start."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from services.activity_log import domain as activity
from services.assessment import domain as assessment
from services.zone_registry import domain
from shared.actor import Actor, AuthType
from shared.auth import Principal
from shared.events.catalog import ActorRefusal, ZoneSnapshot
from shared.http import fingerprint
from shared.settings import ServiceSettings

AT = datetime(2026, 4, 1, 6, tzinfo=UTC)
HOST = {"unit_id": "H1", "name": "采油一厂", "role": "host"}
CON = {"unit_id": "C1", "name": "油建一公司", "role": "construction"}
SUP = {"unit_id": "S1", "name": "监理一公司", "role": "supervision"}


def entry(mid: str, role: str = "member", employer: str = "H1", phone: str = "13912345678") -> dict[str, Any]:
    return {
        "member_id": mid,
        "name": f"党员{mid}",
        "home_branch": "采油一厂党支部",
        "employer_unit_id": employer,
        "employment": "staff",
        "zone_role": role,
        "phone": phone,
    }


def zone() -> domain.Zone:
    z = domain.new_zone(
        zone_id="ZC-P1",
        name="测试协作区",
        mode="project_cobuild",
        region="北区",
        project_ids=["P1"],
        units=[HOST, CON, SUP],
        systems=None,
        at=AT,
    )
    for m in (entry("SEC", "secretary"), entry("REP", "host_rep"), entry("LEAD", "construction_lead", "C1")):
        z = domain.with_member(z, m)
    return z


OFFICE = Actor(type=AuthType.USER, id="PO0001", roles=frozenset({"party_office"}))
SEC = Actor(type=AuthType.USER, id="SEC", roles=frozenset({"zone_member"}))
REP = Actor(type=AuthType.USER, id="REP", roles=frozenset({"zone_member"}))
STRANGER = Actor(type=AuthType.USER, id="OTHER", roles=frozenset({"zone_member"}))
SYSTEM = Actor(type=AuthType.SYSTEM, id="hr-sync")


# --------------------------------------------------------------------------- zone-registry


def test_a_command_without_an_actor_is_refused_whatever_it_asks() -> None:
    for command in ("zone.establish", "zone.add-member", "zone.close", "zone.erase-member"):
        assert domain.check_actor(command, None, zone()).reasons == [ActorRefusal.ACTOR_UNKNOWN]


def test_the_party_office_manages_zones_and_nobody_else_does() -> None:
    for command in (
        "zone.establish",
        "zone.add-unit",
        "zone.adopt-systems",
        "zone.close",
        "zone.erase-member",
    ):
        assert not domain.check_actor(command, OFFICE, zone())
        assert domain.check_actor(command, SEC, zone()).reasons == [ActorRefusal.NOT_PARTY_OFFICE]
    assert not domain.check_actor("zone.close", SYSTEM, zone())  # a trusted system, named in the settings


def test_the_roster_changes_only_by_the_zone_secretary_or_the_party_office() -> None:
    z = zone()
    assert not domain.check_actor("zone.add-member", SEC, z, "NEW")
    assert not domain.check_actor("zone.remove-member", SEC, z, "REP")
    assert not domain.check_actor("zone.add-member", OFFICE, z, "NEW")
    assert domain.check_actor("zone.add-member", REP, z, "NEW").reasons == [ActorRefusal.NOT_SECRETARY]
    assert domain.check_actor("zone.remove-member", STRANGER, z, "REP").reasons == [
        ActorRefusal.NOT_SECRETARY
    ]
    # The secretary of another zone is nobody here.
    other = {**z, "_id": "ZC-P2", "members": [entry("OTHERSEC", "secretary")]}
    assert domain.check_actor("zone.add-member", SEC, other, "NEW").reasons == [ActorRefusal.NOT_SECRETARY]


def test_nobody_adds_themselves() -> None:
    z = zone()
    assert domain.check_actor("zone.add-member", STRANGER, z, "OTHER").reasons == [
        ActorRefusal.NOT_SECRETARY,
        ActorRefusal.SELF_ENROLMENT,
    ]
    assert ActorRefusal.SELF_ENROLMENT in domain.check_actor("zone.add-member", OFFICE, z, "PO0001").reasons
    assert ActorRefusal.SELF_ENROLMENT in domain.check_actor("zone.add-member", SEC, z, "SEC").reasons


def test_the_roster_reads_as_much_as_the_reader_may_see() -> None:
    z = zone()
    office = {m["member_id"]: m for m in domain.roster_view(z, OFFICE)}
    secretary = {m["member_id"]: m for m in domain.roster_view(z, SEC)}
    member = {m["member_id"]: m for m in domain.roster_view(z, REP)}
    assert office["LEAD"]["phone"] == "13912345678" and office["LEAD"]["home_branch"] == "采油一厂党支部"
    assert secretary["LEAD"]["phone"] == "139****5678" and secretary["LEAD"]["employment"] == "staff"
    assert set(member["LEAD"]) == {"member_id", "name", "zone_role", "erased"}
    assert domain.may_read_roster(z, REP) and not domain.may_read_roster(z, STRANGER)
    assert domain.may_read_history(z, SEC) and not domain.may_read_history(z, REP)
    assert domain.may_read_history(z, OFFICE)


def test_masking_keeps_too_little_to_call() -> None:
    assert domain.mask_phone("13912345678") == "139****5678"
    assert domain.mask_phone("12345") == "*****"
    assert domain.mask_phone(None) is None and domain.mask_phone("") is None


def test_erasure_replaces_the_person_and_keeps_the_figures() -> None:
    z = zone()
    erased = domain.with_member_erased(z, "LEAD")
    lead = next(m for m in erased["members"] if m["member_id"] == "LEAD")
    assert lead["name"] == domain.ERASED_NAME and lead["home_branch"] == "" and lead["phone"] is None
    assert (
        lead["erased"] is True
        and lead["zone_role"] == "construction_lead"
        and lead["employer_unit_id"] == "C1"
    )
    assert len(erased["members"]) == len(z["members"])
    snap = ZoneSnapshot.model_validate(domain.snapshot(erased))
    assert "党员LEAD" not in snap.model_dump_json() and "13912345678" not in snap.model_dump_json()
    assert domain.check_erase_member(z, "NOBODY").reasons == ["member_not_on_roster"]
    assert domain.check_erase_member(None, "LEAD").reasons == ["unknown_zone"]
    assert not domain.check_erase_member(domain.closed(z, AT), "LEAD")  # closed zones keep data too


# --------------------------------------------------------------------------- activity-log, assessment


def test_an_activity_is_recorded_by_someone_on_the_roster() -> None:
    z = zone()
    assert activity.actor_refusals(None, z) == [ActorRefusal.ACTOR_UNKNOWN]
    assert activity.actor_refusals(STRANGER, z) == [ActorRefusal.ACTOR_NOT_ON_ROSTER]
    assert activity.actor_refusals(REP, z) == [] and activity.actor_refusals(OFFICE, z) == []
    assert activity.actor_refusals(SYSTEM, z) == []


def test_a_unit_is_rated_by_its_own_member() -> None:
    z = zone()
    lead = Actor(type=AuthType.USER, id="LEAD", roles=frozenset({"zone_member"}))
    assert assessment.evaluator_refusals(None, z, "C1") == [ActorRefusal.ACTOR_UNKNOWN]
    assert assessment.evaluator_refusals(lead, z, "C1") == []
    assert assessment.evaluator_refusals(REP, z, "C1") == [ActorRefusal.EVALUATOR_NOT_OF_UNIT]
    assert assessment.evaluator_refusals(STRANGER, z, "H1") == [ActorRefusal.ACTOR_NOT_ON_ROSTER]
    assert assessment.evaluator_refusals(OFFICE, z, "M1") == []


# --------------------------------------------------------------------------- tokens and settings


def test_a_principal_is_a_person_by_sub_or_a_publisher_by_client() -> None:
    person = Principal.from_claims({"sub": "MB0002", "azp": "pbz-cli", "roles": ["zone_member"]})
    assert person.actor() == Actor(type=AuthType.USER, id="MB0002", roles=frozenset({"zone_member"}))
    publisher = Principal.from_claims(
        {
            "sub": "3f1c",
            "azp": "pm-system",
            "preferred_username": "service-account-pm-system",
            "realm_access": {"roles": ["integrator:pm-system"]},
        }
    )
    assert publisher.type == AuthType.SERVICE_ACCOUNT and publisher.subject == "pm-system"
    assert publisher.has("integrator:pm-system") and not publisher.has("party_office")


def test_settings_that_would_weaken_token_checks_are_refused() -> None:
    for algorithms in (["HS256"], ["none"], []):
        with pytest.raises(ValidationError):
            ServiceSettings(oidc_algorithms=algorithms)
    with pytest.raises(ValidationError):
        ServiceSettings(oidc_leeway_s=600)
    with pytest.raises(ValidationError):
        ServiceSettings(publish_timeout_s=30)  # a write must answer 503 within 2 s
    assert ServiceSettings(port_offset=300).oidc_issuer == "http://127.0.0.1:8380/realms/pbz"


def test_an_idempotency_fingerprint_tells_requests_apart() -> None:
    a = fingerprint("zone.close", {"zone_id": "Z1", "reason": None}, "Z1")
    assert a == fingerprint("zone.close", {"reason": None, "zone_id": "Z1"}, "Z1")
    assert a != fingerprint("zone.close", {"zone_id": "Z2", "reason": None}, "Z2")
