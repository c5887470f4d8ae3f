"""permit-fasttrack on the real broker and server, time driven by clock ticks."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.permit_fasttrack.app import definition
from shared.events import CloudEvent, Topic
from tests.support import Bus, serving, stored

TZ = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 4, 7, tzinfo=TZ)  # a Tuesday
ROLES = {
    "host_rep": "M-H",
    "construction_lead": "M-C",
    "supervision_engineer": "M-S",
    "management_safety": "M-M",
}


def at(hh: int, mm: int = 0, days: int = 0) -> datetime:
    return DAY + timedelta(days=days, hours=hh, minutes=mm)


def zone(
    zone_id: str, project: str, status: str = "active", systems: list[str] | None = None
) -> dict[str, Any]:
    return {
        "zone_id": zone_id,
        "name": f"协作区{zone_id}",
        "mode": "project_cobuild",
        "status": status,
        "region": "北区",
        "host_unit_id": "H1",
        "project_ids": [project],
        "units": [
            {"unit_id": "H1", "name": "采油一厂", "role": "host"},
            {"unit_id": "C1", "name": "油建一公司", "role": "construction"},
            {"unit_id": "S1", "name": "监理一公司", "role": "supervision"},
            {"unit_id": "B1", "name": "劳务分包队", "role": "subcontractor"},
        ],
        "systems": systems
        if systems is not None
        else ["contractor_safety", "subcontractor_safety", "daily_checkin"],
        "members": [
            {
                "member_id": m,
                "name": m,
                "home_branch": "b",
                "employer_unit_id": "H1",
                "employment": "staff",
                "zone_role": role,
            }
            for role, m in ROLES.items()
        ]
        + [
            {
                "member_id": "M-X",
                "name": "x",
                "home_branch": "b",
                "employer_unit_id": "C1",
                "employment": "dispatched",
                "zone_role": "member",
            }
        ],
        "established_at": "2026-04-01T00:00:00+08:00",
    }


def work(
    work_id: str, project: str, area: str, risks: list[str], start: datetime, end: datetime
) -> dict[str, Any]:
    return {
        "work_id": work_id,
        "project_id": project,
        "title": "动火作业",
        "area": area,
        "risk_types": risks,
        "contractor_unit_id": "C1",
        "planned_start": start.isoformat(),
        "planned_end": end.isoformat(),
    }


def gas(test_id: str, project: str, area: str, when: datetime, lel: float = 0.0) -> dict[str, Any]:
    return {
        "test_id": test_id,
        "project_id": project,
        "area": area,
        "tested_at": when.isoformat(),
        "o2_pct": 20.9,
        "lel_pct": lel,
        "h2s_mg_m3": 0.0,
    }


def checkin(zone_id: str, when: datetime) -> dict[str, Any]:
    return {
        "activity_id": f"A-{zone_id}-{when.isoformat()}",
        "zone_id": zone_id,
        "kind": "daily_checkin",
        "slot": "morning",
        "started_at": when.isoformat(),
        "ended_at": (when + timedelta(minutes=15)).isoformat(),
        "location": "现场",
        "topic": "早碰头",
        "organizer_member_id": "M-H",
        "attendee_member_ids": ["M-H"],
    }


def of(events: list[CloudEvent], permit_id: str, event_type: str) -> list[CloudEvent]:
    return [
        e for e in events if e.type == event_type and e.data.get("permit", {}).get("permit_id") == permit_id
    ]


def blocks_after_approval(events: list[CloudEvent], permit_id: str) -> list[list[str]]:
    """Reasons of each block after the permit was approved (a zone snapshot and a work plan
    travel on different topics, so a permit may first wait a moment for its zone)."""
    mine = [e for e in events if e.data.get("permit", {}).get("permit_id") == permit_id]
    approved = next((i for i, e in enumerate(mine) if e.type == "permit.approved"), None)
    if approved is None:
        return []
    return [e.data["reasons"] for e in mine[approved:] if e.type == "permit.blocked"]


class Site:
    def __init__(self, bus: Bus, out: Any, zone_id: str, project: str) -> None:
        self.bus, self.out, self.zone_id, self.project = bus, out, zone_id, project

    async def tick(self, when: datetime) -> None:
        await self.bus.publish("clock.ticked", {"now": when.isoformat()}, key="clock")

    async def sign_all(self, permit_id: str, when: datetime, roles: list[str]) -> None:
        for role in roles:
            data = {
                "permit_id": permit_id,
                "member_id": ROLES[role],
                "role": role,
                "decision": "approve",
                "signed_at": when.isoformat(),
            }
            await self.bus.publish("permit.sign", data, key=self.zone_id, time=when)

    async def wait(self, permit_id: str, event_type: str, n: int = 1) -> list[CloudEvent]:
        return await self.out.wait_for(
            lambda es: len(of(es, permit_id, event_type)) >= n, what=f"{event_type} of {permit_id}"
        )


async def test_hot_work_is_blocked_until_checkin_and_gas_test_then_issued_and_a_second_waits_for_simops() -> (
    None
):
    tag = uuid.uuid4().hex[:6]
    zone_id, project, area = f"Z-{tag}", f"P-{tag}", "A"
    async with Bus() as bus, serving(definition) as (rt, http):
        out = await bus.watch(Topic.PERMIT_EVENTS.value)
        site = Site(bus, out, zone_id, project)
        await site.tick(at(6))
        await bus.publish("zone.established", {"zone": zone(zone_id, project)}, key=zone_id, time=at(6))
        await stored(rt, "zones", zone_id)
        w1 = f"W1-{tag}"
        await bus.publish(
            "work.planned", work(w1, project, area, ["hot_work"], at(9), at(17)), key=project, time=at(7)
        )
        events = await site.wait(f"WP-{w1}", "permit.signature-requested", 4)
        requests = of(events, f"WP-{w1}", "permit.signature-requested")
        assert sorted(e.data["role"] for e in requests) == sorted(ROLES)
        assert {e.data["role"]: e.data["member_ids"] for e in requests}["management_safety"] == ["M-M"]
        await site.sign_all(f"WP-{w1}", at(7, 30), list(ROLES))
        await out.wait_for(lambda es: len(blocks_after_approval(es, f"WP-{w1}")) == 1, what="the first block")
        assert blocks_after_approval(out.events(), f"WP-{w1}") == [["no_morning_checkin", "gas_test_missing"]]
        await bus.publish("activity.recorded", checkin(zone_id, at(7, 40)), key=zone_id, time=at(7, 40))
        await out.wait_for(
            lambda es: len(blocks_after_approval(es, f"WP-{w1}")) == 2, what="the second block"
        )
        assert blocks_after_approval(out.events(), f"WP-{w1}")[1] == ["gas_test_missing"]
        await site.tick(at(8, 40))
        await bus.publish(
            "safety.gas-test-recorded",
            gas(f"G1-{tag}", project, area, at(8, 45)),
            key=project,
            time=at(8, 45),
        )
        events = await site.wait(f"WP-{w1}", "permit.issued")
        issued = of(events, f"WP-{w1}", "permit.issued")[0]
        assert datetime.fromisoformat(issued.data["valid_from"]) == at(9)
        assert datetime.fromisoformat(issued.data["valid_until"]) == at(
            17
        )  # hot work: 8 h cap equals the plan here

        # (2) An overlapping hot work in the same area waits for the first to close.
        w2 = f"W2-{tag}"
        await bus.publish(
            "work.planned", work(w2, project, area, ["hot_work"], at(10), at(14)), key=project, time=at(9, 30)
        )
        await site.wait(f"WP-{w2}", "permit.signature-requested", 4)
        await bus.publish(
            "safety.gas-test-recorded",
            gas(f"G2-{tag}", project, area, at(9, 50)),
            key=project,
            time=at(9, 50),
        )
        await stored(rt, "gas_tests", f"G2-{tag}")  # in before the signatures (another topic)
        await site.sign_all(f"WP-{w2}", at(9, 55), list(ROLES))
        await out.wait_for(lambda es: bool(blocks_after_approval(es, f"WP-{w2}")), what="the SIMOPS block")
        assert blocks_after_approval(out.events(), f"WP-{w2}") == [["simops_conflict"]]
        await bus.publish(
            "permit.close",
            {"permit_id": f"WP-{w1}", "member_id": "M-C", "closed_at": at(10, 5).isoformat()},
            key=zone_id,
            time=at(10, 5),
        )
        events = await site.wait(f"WP-{w2}", "permit.issued")
        assert of(events, f"WP-{w1}", "permit.closed")

        # (3) A failed gas test blocks and names the reading.
        w3 = f"W3-{tag}"
        await bus.publish(
            "work.planned",
            work(w3, project, "B", ["confined_space"], at(11), at(15)),
            key=project,
            time=at(10, 30),
        )
        await site.wait(f"WP-{w3}", "permit.signature-requested", 4)
        await bus.publish(
            "safety.gas-test-recorded",
            gas(f"G3-{tag}", project, "B", at(10, 40), lel=15.0),
            key=project,
            time=at(10, 40),
        )
        await stored(rt, "gas_tests", f"G3-{tag}")
        await site.sign_all(f"WP-{w3}", at(10, 45), list(ROLES))
        await out.wait_for(lambda es: bool(blocks_after_approval(es, f"WP-{w3}")), what="the gas block")
        blocked = of(out.events(), f"WP-{w3}", "permit.blocked")[-1]
        assert blocked.data["reasons"] == ["gas_test_failed"]
        assert (
            blocked.data["details"][0]["reading"] == "lel_pct" and blocked.data["details"][0]["value"] == 15.0
        )

        detail = (await http.get(f"/permits/WP-{w1}")).json()
        assert detail["status"] == "closed"
        types = [h["type"] for h in detail["history"]]
        assert types[0] == "permit.requested" and types.count("permit.signature-requested") == 4
        assert types[-1] == "permit.closed"
        assert {h["actor"] for h in detail["history"] if h["type"] == "permit.signed"} == set(ROLES.values())
        stats = (await http.get("/stats")).json()["overall"]
        assert (
            stats["blocked_reasons"]["simops_conflict"] == 1
            and stats["blocked_reasons"]["gas_test_failed"] == 1
        )
        assert stats["median_cycle_minutes"] is not None and stats["issued_within_sla_share"] == 1.0


async def test_sla_expiry_suspension_wrong_signers_and_duplicates() -> None:
    tag = uuid.uuid4().hex[:6]
    zone_id, project = f"Z-{tag}", f"P-{tag}"
    async with Bus() as bus, serving(definition) as (rt, _):
        out = await bus.watch(Topic.PERMIT_EVENTS.value)
        site = Site(bus, out, zone_id, project)
        await site.tick(at(6))
        await bus.publish("zone.established", {"zone": zone(zone_id, project)}, key=zone_id, time=at(6))
        await stored(rt, "zones", zone_id)
        await bus.publish("activity.recorded", checkin(zone_id, at(7)), key=zone_id, time=at(7))
        lifting, slow = f"WL-{tag}", f"WS-{tag}"
        planned = await bus.publish(
            "work.planned", work(lifting, project, "C", ["lifting"], at(9), at(12)), key=project, time=at(7)
        )
        await bus.publish(
            "work.planned", work(slow, project, "D", ["excavation"], at(9), at(12)), key=project, time=at(7)
        )
        await site.wait(f"WP-{lifting}", "permit.signature-requested", 4)
        await site.wait(f"WP-{slow}", "permit.signature-requested", 3)
        # Wrong signers are refused, each with its reason.
        wrong = [
            {"permit_id": f"WP-{lifting}", "member_id": "M-X", "role": "host_rep"},
            {"permit_id": f"WP-{lifting}", "member_id": "M-H", "role": "secretary"},
            {"permit_id": "WP-nope", "member_id": "M-H", "role": "host_rep"},
        ]
        for w in wrong:
            await bus.publish(
                "permit.sign",
                {**w, "decision": "approve", "signed_at": at(7, 10).isoformat()},
                key=zone_id,
                time=at(7, 10),
            )
        await site.sign_all(f"WP-{lifting}", at(7, 20), list(ROLES))
        await site.sign_all(f"WP-{lifting}", at(7, 25), ["host_rep"])  # a second signature for the same role
        await site.wait(f"WP-{lifting}", "permit.issued")
        refusals = await out.wait_for(
            lambda es: len([e for e in es if e.type == "permit.command-rejected"]) >= 4
        )
        reasons = [e.data["reasons"] for e in refusals if e.type == "permit.command-rejected"]
        assert ["signer_lacks_role"] in reasons
        assert ["role_not_required", "signer_lacks_role"] in reasons
        assert ["unknown_permit"] in reasons
        assert ["role_already_signed"] in reasons

        # (4) Ticks past the SLA: exactly one breach naming who has not signed; past valid_until: expired.
        await site.sign_all(f"WP-{slow}", at(7, 30), ["host_rep"])
        # The signature and the clock travel on different topics: let it land before time moves.
        await site.wait(f"WP-{slow}", "permit.signed")
        await site.tick(at(10))
        await site.tick(at(11, 5))
        await site.tick(at(11, 30))
        events = await site.wait(f"WP-{slow}", "permit.sla-breached")
        breach = of(events, f"WP-{slow}", "permit.sla-breached")
        assert len(breach) == 1
        assert breach[0].data["waiting_on_roles"] == ["construction_lead", "supervision_engineer"]

        # (5) A major incident suspends every issued permit of the project.
        await bus.publish(
            "safety.incident-reported",
            {
                "incident_id": f"I-{tag}",
                "project_id": project,
                "area": "elsewhere",
                "severity": "major",
                "kind": "fire",
                "occurred_at": at(11, 40).isoformat(),
                "description": "火情",
            },
            key=project,
            time=at(11, 40),
        )
        await site.wait(f"WP-{lifting}", "permit.suspended")
        await bus.publish(
            "permit.resume", {"permit_id": f"WP-{lifting}", "member_id": "M-H"}, key=zone_id, time=at(11, 45)
        )
        await site.wait(f"WP-{lifting}", "permit.resumed")
        await site.tick(at(12, 1))
        await site.wait(f"WP-{lifting}", "permit.expired")

        # (6) Duplicates change nothing.
        await bus.resend(planned, key=project)
        await bus.publish(
            "work.planned", work(lifting, project, "C", ["lifting"], at(9), at(12)), key=project, time=at(7)
        )
        await site.tick(at(13))
        events = await out.quiet(0.5)
        assert len(of(events, f"WP-{lifting}", "permit.requested")) == 1
        assert len(of(events, f"WP-{slow}", "permit.sla-breached")) == 1


async def test_no_active_zone_blocks_then_the_permit_proceeds_by_itself() -> None:
    tag = uuid.uuid4().hex[:6]
    zone_id, project = f"Z-{tag}", f"P-{tag}"
    async with Bus() as bus, serving(definition):
        out = await bus.watch(Topic.PERMIT_EVENTS.value)
        site = Site(bus, out, zone_id, project)
        await site.tick(at(6))
        drawing = {
            "drawing_id": f"D-{tag}",
            "project_id": project,
            "title": "工艺图",
            "submitted_by_unit_id": "C1",
        }
        await bus.publish("drawing.submitted", drawing, key=project, time=at(7))
        events = await site.wait(f"DR-D-{tag}", "permit.blocked")
        assert of(events, f"DR-D-{tag}", "permit.blocked")[0].data["reasons"] == ["no_active_zone"]
        await bus.publish(
            "zone.established", {"zone": zone(zone_id, project, "proposed")}, key=zone_id, time=at(7, 10)
        )
        await bus.publish(
            "zone.updated", {"zone": zone(zone_id, project, systems=[])}, key=zone_id, time=at(8)
        )
        events = await site.wait(f"DR-D-{tag}", "permit.signature-requested", 3)
        assert sorted(e.data["role"] for e in of(events, f"DR-D-{tag}", "permit.signature-requested")) == [
            "host_rep",
            "management_safety",
            "supervision_engineer",
        ]
        await site.sign_all(f"DR-D-{tag}", at(9), ["host_rep", "supervision_engineer", "management_safety"])
        await out.wait_for(
            lambda es: bool(blocks_after_approval(es, f"DR-D-{tag}")), what="the systems block"
        )
        assert blocks_after_approval(out.events(), f"DR-D-{tag}") == [["contractor_safety_not_adopted"]]
        await bus.publish("zone.updated", {"zone": zone(zone_id, project)}, key=zone_id, time=at(10))
        await site.wait(f"DR-D-{tag}", "permit.issued")
