"""permit-fasttrack on the real broker and server, time driven by clock ticks: SPEC §3.3's flow
(blocks, SIMOPS, gas limits, SLA, expiry, suspension, wrong signers, duplicates) on the permits
of GB 30871-2022 (one per class, guardian, briefing and ticket check before issue)."""

from __future__ import annotations

from datetime import datetime

from services.permit_fasttrack.app import definition
from shared.events import Topic
from tests.integration.permit_site import (
    ROLES,
    Site,
    at,
    blocks_after_approval,
    checkin,
    gas,
    of,
    refusals,
    tag,
    work,
    zone,
)
from tests.support import Bus, serving, stored


async def test_hot_work_is_blocked_until_checkin_and_gas_test_then_issued_and_a_second_waits_for_simops() -> (
    None
):
    t = tag()
    zone_id, project, area = f"Z-{t}", f"P-{t}", "A"
    async with Bus() as bus, serving(definition) as (rt, http):
        out = await bus.watch(Topic.PERMIT_EVENTS.value)
        site = Site(bus, out, zone_id, project, area)
        await site.tick(at(6))
        await bus.publish("zone.established", {"zone": zone(zone_id, project)}, key=zone_id, time=at(6))
        await stored(rt, "zones", zone_id)
        w1 = f"W1-{t}"
        p1 = f"WP-{w1}-HW"
        await bus.publish(
            "work.planned", work(w1, project, area, ["hot_work"], at(9), at(17)), key=project, time=at(7)
        )
        events = await site.wait(p1, "permit.signature-requested", 4)
        requests = of(events, p1, "permit.signature-requested")
        assert sorted(e.data["role"] for e in requests) == sorted(ROLES)
        assert {e.data["role"]: e.data["member_ids"] for e in requests}["management_safety"] == ["M-M"]
        await site.prepare(p1, at(7, 20))
        await site.sign_all(p1, at(7, 30), list(ROLES))
        await out.wait_for(lambda es: len(blocks_after_approval(es, p1)) == 1, what="the first block")
        assert blocks_after_approval(out.events(), p1) == [["no_morning_checkin", "gas_test_missing"]]
        await bus.publish("activity.recorded", checkin(zone_id, at(7, 40)), key=zone_id, time=at(7, 40))
        await out.wait_for(lambda es: len(blocks_after_approval(es, p1)) == 2, what="the second block")
        assert blocks_after_approval(out.events(), p1)[1] == ["gas_test_missing"]
        await site.tick(at(8, 40))
        await bus.publish(
            "safety.gas-test-recorded", gas(f"G1-{t}", project, area, at(8, 45)), key=project, time=at(8, 45)
        )
        issued = of(await site.wait(p1, "permit.issued"), p1, "permit.issued")[0]
        assert datetime.fromisoformat(issued.data["valid_from"]) == at(9)
        assert datetime.fromisoformat(issued.data["valid_until"]) == at(17)  # 8 h cap equals the plan here
        assert (
            issued.data["permit"]["work_class"] == "hot_work" and issued.data["permit"]["grade"] == "second"
        )

        # (2) An overlapping hot work in the same area waits for the first to close.
        w2 = f"W2-{t}"
        p2 = f"WP-{w2}-HW"
        await bus.publish(
            "work.planned", work(w2, project, area, ["hot_work"], at(10), at(14)), key=project, time=at(9, 30)
        )
        await site.wait(p2, "permit.signature-requested", 4)
        await site.prepare(p2, at(9, 40))
        await bus.publish(
            "safety.gas-test-recorded", gas(f"G2-{t}", project, area, at(9, 50)), key=project, time=at(9, 50)
        )
        await site.wait_reading(p2, f"G2-{t}")  # on the permit before the signatures
        await site.sign_all(p2, at(9, 55), list(ROLES))
        await out.wait_for(lambda es: bool(blocks_after_approval(es, p2)), what="the SIMOPS block")
        assert blocks_after_approval(out.events(), p2) == [["simops_conflict"]]
        block = of(out.events(), p2, "permit.blocked")[-1]
        assert block.data["details"] == [
            {"reason": "simops_conflict", "permit_id": p1, "rule": "same_area_hot_work"}
        ]
        # The base close: the lead declares completion, the host representative accepts it.
        for who in ("M-C", "M-H"):
            await site.command(
                "permit.close",
                {"permit_id": p1, "member_id": who, "closed_at": at(10, 5).isoformat()},
                at(10, 5),
            )
        events = await site.wait(p2, "permit.issued")
        assert of(events, p1, "permit.completion-declared") and of(events, p1, "permit.closed")

        # (3) A failed gas test blocks and names the reading, the limit and the clause.
        w3 = f"W3-{t}"
        p3 = f"WP-{w3}-CS"
        await bus.publish(
            "work.planned",
            work(w3, project, "B", ["confined_space"], at(11), at(15)),
            key=project,
            time=at(10, 30),
        )
        await site.wait(p3, "permit.signature-requested", 4)
        await site.prepare(p3, at(10, 35), area="B")
        await bus.publish(
            "safety.gas-test-recorded",
            gas(f"G3-{t}", project, "B", at(10, 40), lel=15.0),
            key=project,
            time=at(10, 40),
        )
        await site.wait_reading(p3, f"G3-{t}")
        await site.sign_all(p3, at(10, 45), [r for r in ROLES if r != "host_rep"])
        await site.sign(p3, "host_rep", at(10, 45), site_presence="B")
        await out.wait_for(lambda es: bool(blocks_after_approval(es, p3)), what="the gas block")
        blocked = of(out.events(), p3, "permit.blocked")[-1]
        assert blocked.data["reasons"] == ["gas_test_failed"]
        first = blocked.data["details"][0]
        assert first["reading"] == "lel_pct" and first["value"] == 15.0 and first["clause"] == "§5.3.2 a"

        detail = (await http.get(f"/permits/{p1}")).json()
        assert detail["status"] == "closed"
        types = [h["type"] for h in detail["history"]]
        assert types[0] == "permit.requested" and types.count("permit.signature-requested") == 4
        assert types[-1] == "permit.closed"
        assert {h["actor"] for h in detail["history"] if h["type"] == "permit.signed"} == set(ROLES.values())
        stats = (await http.get("/stats")).json()["work_permits"]
        assert (
            stats["blocked_reasons"]["simops_conflict"] == 1
            and stats["blocked_reasons"]["gas_test_failed"] == 1
        )
        assert stats["conflicts_by_rule"] == {"same_area_hot_work": 1}
        assert stats["median_cycle_minutes"] is not None and stats["issued_within_sla_share"] == 1.0
        assert stats["by_class_grade"] == {"confined_space": 1, "hot_work/second": 2}


async def test_sla_expiry_suspension_wrong_signers_and_duplicates() -> None:
    t = tag()
    zone_id, project = f"Z-{t}", f"P-{t}"
    async with Bus() as bus, serving(definition) as (rt, _):
        out = await bus.watch(Topic.PERMIT_EVENTS.value)
        site = Site(bus, out, zone_id, project, "C")
        await site.tick(at(6))
        await bus.publish("zone.established", {"zone": zone(zone_id, project)}, key=zone_id, time=at(6))
        await stored(rt, "zones", zone_id)
        await bus.publish("activity.recorded", checkin(zone_id, at(7)), key=zone_id, time=at(7))
        lifting, slow = f"WL-{t}", f"WS-{t}"
        pl, ps = f"WP-{lifting}-LF", f"WP-{slow}-GW"
        planned = await bus.publish(
            "work.planned",
            work(lifting, project, "C", ["lifting"], at(9), at(12), load_t=20),
            key=project,
            time=at(7),
        )
        await bus.publish(
            "work.planned", work(slow, project, "D", [], at(9), at(12)), key=project, time=at(7)
        )
        events = await site.wait(pl, "permit.signature-requested", 5)
        assert of(events, pl, "permit.requested")[0].data["permit"]["grade"] == "third"
        await site.wait(ps, "permit.signature-requested", 3)
        # Wrong signers are refused, each with its reason.
        wrong = [
            {"permit_id": pl, "member_id": "M-X", "role": "host_rep", "site_presence": "C"},
            {"permit_id": pl, "member_id": "M-H", "role": "secretary"},
            {"permit_id": "WP-nope", "member_id": "M-H", "role": "host_rep"},
        ]
        for w in wrong:
            await site.command(
                "permit.sign", {**w, "decision": "approve", "signed_at": at(7, 10).isoformat()}, at(7, 10)
            )
        await site.prepare(pl, at(7, 15), area="C")
        await site.sign_all(pl, at(7, 20), list(ROLES))
        await site.sign(pl, "professional_department", at(7, 20), member_id="M-H", site_presence="C")
        await site.sign(pl, "host_rep", at(7, 25))  # a second signature for the same role
        got = await site.wait_refusals(pl, 4)
        assert ["signer_lacks_role"] in got
        assert ["role_not_required", "signer_lacks_role"] in got
        assert ["role_already_signed"] in got
        assert ["already_signed_other_role", "signer_lacks_role"] in got
        assert refusals(out.events(), "WP-nope") == [["unknown_permit"]]

        # (4) Ticks past the SLA: one breach naming the roles and the people who have not signed.
        await site.sign(ps, "host_rep", at(7, 30), site_presence=None)
        await site.wait(ps, "permit.signed")
        await site.tick(at(10))
        await site.tick(at(11, 5))
        await site.tick(at(11, 30))
        events = await site.wait(ps, "permit.sla-breached")
        breach = of(events, ps, "permit.sla-breached")
        assert len(breach) == 1
        assert breach[0].data["waiting_on_roles"] == ["construction_lead", "supervision_engineer"]
        assert breach[0].data["waiting_on_members"] == ["M-C", "M-S"]
        assert of(events, pl, "permit.sla-breached") and not of(events, pl, "permit.issued")

        # (5) A major incident suspends every issued permit of the project.
        for w in ("W5", "W6"):
            await bus.publish(
                "work.planned",
                work(f"{w}-{t}", project, "E", [], at(11, 40), at(12, 30)),
                key=project,
                time=at(11, 35),
            )
            await site.wait(f"WP-{w}-{t}-GW", "permit.signature-requested", 3)
            for role in ("host_rep", "construction_lead", "supervision_engineer"):
                await site.sign(f"WP-{w}-{t}-GW", role, at(11, 36), site_presence="E")
            await site.wait(f"WP-{w}-{t}-GW", "permit.issued")
        await bus.publish(
            "safety.incident-reported",
            {
                "incident_id": f"I-{t}",
                "project_id": project,
                "area": "elsewhere",
                "severity": "major",
                "kind": "fire",
                "occurred_at": at(11, 45).isoformat(),
                "description": "火情",
            },
            key=project,
            time=at(11, 45),
        )
        await site.wait(f"WP-W5-{t}-GW", "permit.suspended")
        await site.wait(f"WP-W6-{t}-GW", "permit.suspended")
        # After a major incident only management_safety resumes.
        await site.command("permit.resume", {"permit_id": f"WP-W5-{t}-GW", "member_id": "M-H"}, at(11, 50))
        assert await site.wait_refusals(f"WP-W5-{t}-GW", 1) == [["role_not_allowed"]]
        await site.command("permit.resume", {"permit_id": f"WP-W5-{t}-GW", "member_id": "M-M"}, at(11, 55))
        await site.wait(f"WP-W5-{t}-GW", "permit.resumed")
        await site.tick(at(12, 31))
        await site.wait(f"WP-W5-{t}-GW", "permit.expired")
        await site.wait(f"WP-W6-{t}-GW", "permit.expired")  # a suspended permit expires too

        # (6) Duplicates change nothing: the same event again, the same plan again (no re-plan).
        await bus.resend(planned, key=project)
        await bus.publish(
            "work.planned",
            work(lifting, project, "C", ["lifting"], at(9), at(12), load_t=20),
            key=project,
            time=at(7),
        )
        await site.tick(at(13))
        events = await out.quiet(0.5)
        assert len(of(events, pl, "permit.requested")) == 1 and not of(events, pl, "permit.revised")
        assert len(of(events, ps, "permit.sla-breached")) == 1


async def test_no_active_zone_blocks_then_the_permit_proceeds_by_itself() -> None:
    t = tag()
    zone_id, project = f"Z-{t}", f"P-{t}"
    async with Bus() as bus, serving(definition):
        out = await bus.watch(Topic.PERMIT_EVENTS.value)
        site = Site(bus, out, zone_id, project)
        await site.tick(at(6))
        drawing = {
            "drawing_id": f"D-{t}",
            "project_id": project,
            "title": "工艺图",
            "submitted_by_unit_id": "C1",
        }
        await bus.publish("drawing.submitted", drawing, key=project, time=at(7))
        events = await site.wait(f"DR-D-{t}", "permit.blocked")
        assert of(events, f"DR-D-{t}", "permit.blocked")[0].data["reasons"] == ["no_active_zone"]
        await bus.publish(
            "zone.established", {"zone": zone(zone_id, project, "proposed")}, key=zone_id, time=at(7, 10)
        )
        await bus.publish(
            "zone.updated", {"zone": zone(zone_id, project, systems=[])}, key=zone_id, time=at(8)
        )
        events = await site.wait(f"DR-D-{t}", "permit.signature-requested", 3)
        assert sorted(e.data["role"] for e in of(events, f"DR-D-{t}", "permit.signature-requested")) == [
            "host_rep",
            "management_safety",
            "supervision_engineer",
        ]
        for role in ("host_rep", "supervision_engineer", "management_safety"):
            await site.sign(f"DR-D-{t}", role, at(9), site_presence=None)
        await out.wait_for(lambda es: bool(blocks_after_approval(es, f"DR-D-{t}")), what="the systems block")
        assert blocks_after_approval(out.events(), f"DR-D-{t}") == [["contractor_safety_not_adopted"]]
        await bus.publish("zone.updated", {"zone": zone(zone_id, project)}, key=zone_id, time=at(10))
        await site.wait(f"DR-D-{t}", "permit.issued")
