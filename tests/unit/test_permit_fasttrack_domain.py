"""Permit rules without I/O: routing, preconditions, gas window and limits, SIMOPS, validity, SLA, suspension."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.permit_fasttrack import domain

TZ = ZoneInfo("Asia/Shanghai")
R = domain.Rules()


def at(hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 4, 7, hh, mm, tzinfo=TZ)


ZONE = {
    "zone_id": "Z",
    "status": "active",
    "systems": ["contractor_safety", "subcontractor_safety"],
    "members": [{"member_id": "M1", "zone_role": "host_rep"}],
}


def permit(
    risks: list[str],
    start: datetime = at(9),
    end: datetime = at(17),
    pid: str = "WP-1",
    area: str = "A",
    kind: str = "work_permit",
) -> dict:
    return {
        "_id": pid,
        "kind": kind,
        "project_id": "P",
        "area": area,
        "risk_types": risks,
        "planned_start": start,
        "planned_end": end,
        "status": "approved",
        "signatures": [],
        "required_roles": domain.required_roles(kind, risks),
        "signatures_requested": True,
    }


def gas(when: datetime, **readings: float) -> dict:
    return {
        "test_id": "G",
        "tested_at": when,
        "o2_pct": 20.9,
        "lel_pct": 0.0,
        "h2s_mg_m3": 0.0,
        "co_mg_m3": None,
        **readings,
    }


def unmet(p: dict, check: datetime, **facts: object) -> list[str]:
    f = domain.Facts(zone=ZONE, morning_checkin=True)
    for k, v in facts.items():
        setattr(f, k, v)
    return domain.unmet_preconditions(p, f, check, R)[0]


def test_role_routing_with_the_high_risk_extra_approver() -> None:
    assert domain.required_roles("work_permit", ["work_at_height"]) == [
        "host_rep",
        "construction_lead",
        "supervision_engineer",
    ]
    for risk in ("hot_work", "confined_space", "lifting", "blind_plate"):
        assert domain.required_roles("work_permit", [risk])[-1] == "management_safety"
    assert domain.required_roles("drawing_review", []) == [
        "host_rep",
        "supervision_engineer",
        "management_safety",
    ]


def test_each_precondition() -> None:
    hot = permit(["hot_work"])
    assert unmet(hot, at(8, 50), latest_gas_test=gas(at(8, 45))) == []
    assert unmet(hot, at(8, 50), zone=None, latest_gas_test=gas(at(8, 45))) == ["no_active_zone"]
    assert unmet(hot, at(8, 50), zone={**ZONE, "status": "proposed"}, latest_gas_test=gas(at(8, 45))) == [
        "no_active_zone"
    ]
    assert unmet(hot, at(8, 50), zone={**ZONE, "systems": []}, latest_gas_test=gas(at(8, 45))) == [
        "contractor_safety_not_adopted"
    ]
    sub = unmet(
        hot,
        at(8, 50),
        zone={**ZONE, "systems": ["contractor_safety"]},
        contractor_is_subcontractor=True,
        latest_gas_test=gas(at(8, 45)),
    )
    assert sub == ["subcontractor_safety_not_adopted"]
    assert unmet(hot, at(8, 50), morning_checkin=False, latest_gas_test=gas(at(8, 45))) == [
        "no_morning_checkin"
    ]
    assert unmet(permit([]), at(8, 50), morning_checkin=False) == []  # no risk types, no check-in needed
    assert unmet(hot, at(8, 50)) == ["gas_test_missing"]
    assert unmet(permit(["lifting"]), at(8, 50)) == []  # no gas test for lifting


def test_gas_test_window_edge_is_thirty_minutes() -> None:
    hot = permit(["confined_space"])
    assert unmet(hot, at(9, 15), latest_gas_test=gas(at(8, 45))) == []
    assert unmet(
        hot,
        at(
            9,
            15,
        ),
        latest_gas_test=gas(at(8, 44)),
    ) == ["gas_test_missing"]
    assert unmet(hot, at(8, 40), latest_gas_test=gas(at(8, 45))) == ["gas_test_missing"]  # not yet taken


@pytest.mark.parametrize(
    ("readings", "reading"),
    [
        ({"o2_pct": 19.4}, "o2_pct"),
        ({"o2_pct": 23.6}, "o2_pct"),
        ({"lel_pct": 10.0}, "lel_pct"),
        ({"h2s_mg_m3": 10.1}, "h2s_mg_m3"),
        ({"co_mg_m3": 30.5}, "co_mg_m3"),
    ],
)
def test_gas_limits_name_the_reading(readings: dict, reading: str) -> None:
    p = permit(["hot_work"])
    f = domain.Facts(zone=ZONE, morning_checkin=True, latest_gas_test=gas(at(8, 45), **readings))
    reasons, details = domain.unmet_preconditions(p, f, at(8, 50), R)
    assert reasons == ["gas_test_failed"]
    assert details[0]["reading"] == reading and "limit" in details[0]


def test_gas_within_limits_at_the_edges() -> None:
    ok = gas(at(8, 45), o2_pct=19.5, lel_pct=9.9, h2s_mg_m3=10.0, co_mg_m3=30.0)
    assert unmet(permit(["hot_work"]), at(8, 50), latest_gas_test=ok) == []


def issued(pid: str, risks: list[str], start: datetime, end: datetime) -> dict:
    return {**permit(risks, start, end, pid=pid), "status": "issued", "valid_from": start, "valid_until": end}


def test_simops_overlap_edges() -> None:
    mine = permit(["hot_work"], at(12), at(16))
    gas_ok = gas(at(11, 50))
    assert unmet(
        mine,
        at(11, 55),
        latest_gas_test=gas_ok,
        live_permits_in_area=[issued("WP-2", ["lifting"], at(9), at(12, 30))],
    ) == ["simops_conflict"]
    assert (
        unmet(
            mine,
            at(11, 55),
            latest_gas_test=gas_ok,
            live_permits_in_area=[issued("WP-2", ["lifting"], at(9), at(12))],
        )
        == []
    )  # touching ends
    assert (
        unmet(
            permit(["lifting"], at(12), at(16)),
            at(11),
            live_permits_in_area=[issued("WP-2", ["work_at_height"], at(9), at(13))],
        )
        == []
    )
    assert unmet(
        permit(["lifting"], at(12), at(16)),
        at(11),
        live_permits_in_area=[issued("WP-2", ["hot_work"], at(9), at(13))],
    ) == ["simops_conflict"]
    suspended = {**issued("WP-2", ["hot_work"], at(9), at(13)), "status": "suspended"}
    assert unmet(permit(["lifting"], at(12), at(16)), at(11), live_permits_in_area=[suspended]) == []


def test_validity_is_capped_by_kind() -> None:
    assert domain.window(permit(["hot_work"], at(9), at(23)), at(8), R) == (at(9), at(17))
    assert domain.window(permit(["confined_space"], at(9), at(23)), at(10), R) == (at(10), at(18))
    long = permit(["lifting"], at(9), at(9) + timedelta(days=3))
    assert domain.window(long, at(8), R) == (at(9), at(9) + timedelta(hours=24))
    assert domain.window(permit(["lifting"], at(9), at(12)), at(8), R) == (at(9), at(12))
    assert domain.window(permit([], kind="drawing_review"), at(8), R) == (at(8), at(8) + timedelta(days=30))


def test_sla_deadline() -> None:
    assert domain.sla_deadline("work_permit", at(7), R) == at(11)
    assert domain.sla_deadline("drawing_review", at(7), R) == at(7) + timedelta(days=2)


def test_suspension_scope_by_severity() -> None:
    here = issued("WP-1", ["hot_work"], at(9), at(17))
    there = {**issued("WP-2", ["hot_work"], at(9), at(17)), "area": "B"}
    minor = {"project_id": "P", "area": "A", "severity": "minor"}
    assert domain.suspends(here, minor) and not domain.suspends(there, minor)
    for severity in ("major", "fatal"):
        assert domain.suspends(there, {**minor, "severity": severity})
    assert not domain.suspends({**here, "status": "blocked"}, minor)
    assert not domain.suspends(here, {**minor, "project_id": "Q"})


def test_signature_refusals() -> None:
    p = {**permit(["hot_work"]), "status": "pending_signatures"}
    assert domain.sign_refusals(p, ZONE, "M1", "host_rep") == []
    assert domain.sign_refusals(None, ZONE, "M1", "host_rep") == ["unknown_permit"]
    assert domain.sign_refusals(p, ZONE, "M9", "host_rep") == ["signer_lacks_role"]
    assert domain.sign_refusals(p, ZONE, "M1", "secretary") == ["role_not_required", "signer_lacks_role"]
    signed = {**p, "signatures": [{"role": "host_rep", "decision": "approve"}]}
    assert domain.sign_refusals(signed, ZONE, "M1", "host_rep") == ["role_already_signed"]
    assert domain.sign_refusals({**p, "status": "closed"}, ZONE, "M1", "host_rep") == ["permit_finished"]
    assert domain.waiting_on(signed) == ["construction_lead", "supervision_engineer", "management_safety"]
