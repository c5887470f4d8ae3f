"""Permits to GB 30871-2022 over the real broker and store: linked permits from one work plan
(§4.6), the hot-work grade raised at night and on a public holiday (§5.1.1) with Table B.1's
approver from the authorization register, the gas sample at most 30 minutes before the work
starts (§5.3.1 c), a monitoring lapse suspending an issued confined space (§6.5), a guardian
checking out (§4.10 f), a conflict at 20 m but none at 40 m (§7.6), and a permit that cannot close
before its isolation is removed (§4.2 b, §4.14)."""

from __future__ import annotations

from datetime import datetime

from services.permit_fasttrack.app import definition
from shared.events import Topic
from tests.integration.permit_site import ROLES, Site, at, blocks_after_approval, gas, of, tag
from tests.support import Bus, serving, stored

REGISTER = {
    "member_id": "M-SD",
    "name": "安全处长",
    "unit_id": "H1",
    "roles": ["safety_department"],
    "certificates": [{"certificate_id": "C-1", "kind": "special_operation", "expires_on": "2027-06-30"}],
}


async def test_linked_permits_grades_and_the_gas_sample_before_the_work_starts() -> None:
    t = tag()
    async with Bus() as bus, serving(definition) as (rt, http):
        out = await bus.watch(Topic.PERMIT_EVENTS.value)
        site = Site(bus, out, f"Z-{t}", f"P-{t}", "A")
        await bus.publish(
            "authorization.registered",
            {**REGISTER, "registered_at": at(5).isoformat()},
            key="M-SD",
            time=at(5),
        )
        await stored(rt, "authorization_register", "M-SD")
        await site.start(rt, at(5))

        # One work plan, two special works: two permits linked to each other, each its own approvals.
        w = f"WL-{t}"
        hw, wh = f"WP-{w}-HW", f"WP-{w}-WH"
        await site.plan(w, ["hot_work", "work_at_height"], at(9), at(17), at(7), height_m=8)
        for pid, other, roles in ((hw, wh, 4), (wh, hw, 4)):
            events = await site.wait(pid, "permit.signature-requested", roles)
            snapshot = of(events, pid, "permit.requested")[0].data["permit"]
            assert snapshot["linked_permit_ids"] == [other]
        asked = {e.data["role"] for e in of(out.events(), wh, "permit.signature-requested")}
        assert asked == {
            "host_rep",
            "construction_lead",
            "supervision_engineer",
            "professional_department",
        }  # Ⅱ
        no_signer = of(out.events(), wh, "permit.no-signer")
        assert (
            no_signer[0].data["role"] == "professional_department"
            and no_signer[0].data["secretary_member_ids"]
        )

        # The 30-minute rule: a 06:20 test does not issue hot work that starts at 14:00.
        late = f"WP-WT-{t}-HW"
        await site.plan(f"WT-{t}", ["hot_work"], at(14), at(17), at(6), area="T")
        await bus.publish(
            "safety.gas-test-recorded",
            gas(f"GT1-{t}", site.project, "T", at(6, 20)),
            key=site.project,
            time=at(6, 20),
        )
        await site.wait_reading(late, f"GT1-{t}")
        await site.prepare(late, at(6, 30), area="T")
        for role in ROLES:
            await site.sign(late, role, at(6, 40), site_presence="T" if role == "host_rep" else None)
        await out.wait_for(lambda es: bool(blocks_after_approval(es, late)), what="the stale-sample block")
        assert blocks_after_approval(out.events(), late)[-1] == ["gas_test_missing"]
        await site.tick(at(13, 30))
        await bus.publish(
            "safety.gas-test-recorded",
            gas(f"GT2-{t}", site.project, "T", at(13, 40)),
            key=site.project,
            time=at(13, 40),
        )
        issued = of(await site.wait(late, "permit.issued"), late, "permit.issued")[0]
        assert datetime.fromisoformat(issued.data["valid_from"]) == at(14)

        # Grades raised one level (§5.1.1): at night, and on a public holiday (2026-05-01); the
        # 一级 approver (the safety department) is asked by name from the authorization register.
        night, holiday = f"WP-WN-{t}-HW", f"WP-WQ-{t}-HW"
        await site.plan(f"WN-{t}", ["hot_work"], at(21), at(23), at(13, 45), area="N")
        await site.plan(
            f"WQ-{t}", ["hot_work"], at(9, days=24), at(12, days=24), at(13, 45), area="Q"
        )  # Friday 05-01
        for pid, trigger in ((night, "night"), (holiday, "public_holiday")):
            events = await site.wait(pid, "permit.signature-requested", 5)
            snapshot = of(events, pid, "permit.requested")[0].data["permit"]
            assert snapshot["grade"] == "first", pid
            asked = {
                e.data["role"]: e.data["member_ids"] for e in of(events, pid, "permit.signature-requested")
            }
            assert asked["safety_department"] == ["M-SD"]
            detail = (await http.get(f"/permits/{pid}")).json()
            assert detail["grade_basis"] == ["elsewhere", trigger]
        stats = (await http.get("/stats")).json()["work_permits"]
        assert (
            stats["by_class_grade"]["hot_work/first"] == 2
            and stats["by_class_grade"]["work_at_height/II"] == 1
        )


async def test_monitoring_guardian_conflicts_and_isolation_on_the_running_work() -> None:
    t = tag()
    async with Bus() as bus, serving(definition) as (rt, http):
        out = await bus.watch(Topic.PERMIT_EVENTS.value)
        site = Site(bus, out, f"Z-{t}", f"P-{t}", "A")
        await site.start(rt, at(5))

        # Continuous monitoring of a confined space: no reading for 2 h suspends the issued permit.
        cs = f"WP-WC-{t}-CS"
        await site.plan(f"WC-{t}", ["confined_space"], at(8), at(16), at(6))
        await site.issue(cs, at(7, 40), gas_at=at(7, 40))
        await site.tick(at(9, 30))
        await bus.publish(
            "safety.gas-test-recorded",
            gas(f"GM-{t}", site.project, "A", at(9, 35)),
            key=site.project,
            time=at(9, 35),
        )
        await site.wait_reading(cs, f"GM-{t}")
        await site.tick(at(11, 34))
        assert not of(out.events(), cs, "permit.suspended")
        await site.tick(at(11, 36))
        suspended = of(await site.wait(cs, "permit.suspended"), cs, "permit.suspended")[0]
        assert suspended.data["cause"] == "gas_monitoring_lapsed"

        # The guardian checks out: the permit is withdrawn and the work stops (§4.10 f).
        g = f"WP-WG-{t}-WH"
        await site.plan(f"WG-{t}", ["work_at_height"], at(12), at(16), at(11, 40), area="G", height_m=3)
        await site.issue(g, at(11, 45), area="G")
        await site.command(
            "permit.check-out",
            {"permit_id": g, "member_id": "M-G", "checked_out_at": at(12, 30).isoformat()},
            at(12, 30),
        )
        out_event = of(await site.wait(g, "permit.suspended"), g, "permit.suspended")[0]
        assert out_event.data["cause"] == "guardian_left"

        # Hot work 20 m from a blind-plate job conflicts (§7.6: within 30 m); 40 m away it does not.
        bp = f"WP-WB-{t}-BP"
        near = {"area": "B", "x_m": 100.0, "y_m": 0.0, "pipeline_id": "PL-1"}
        await site.plan(f"WB-{t}", ["blind_plate"], at(12), at(16), at(11, 50), area="B", location=near)
        await site.issue(bp, at(11, 55), area="B")
        h20, h40 = f"WP-W20-{t}-HW", f"WP-W40-{t}-HW"
        await site.plan(
            f"W20-{t}",
            ["hot_work"],
            at(13),
            at(15),
            at(12, 40),
            area="H20",
            location={"area": "H20", "x_m": 120.0, "y_m": 0.0},
        )
        await site.plan(
            f"W40-{t}",
            ["hot_work"],
            at(13),
            at(15),
            at(12, 40),
            area="H40",
            location={"area": "H40", "x_m": 100.0, "y_m": 40.0},
        )
        await site.issue(h40, at(12, 45), gas_at=at(12, 45), area="H40")
        await site.prepare(h20, at(12, 45), area="H20")
        await bus.publish(
            "safety.gas-test-recorded",
            gas(f"GH-{t}", site.project, "H20", at(12, 45)),
            key=site.project,
            time=at(12, 45),
        )
        await site.wait_reading(h20, f"GH-{t}")
        for role in ROLES:
            await site.sign(h20, role, at(12, 50), site_presence="H20" if role == "host_rep" else None)
        await out.wait_for(lambda es: bool(blocks_after_approval(es, h20)), what="the conflict")
        block = of(out.events(), h20, "permit.blocked")[-1]
        assert block.data["reasons"] == ["simops_conflict"]
        assert block.data["details"] == [
            {
                "reason": "simops_conflict",
                "permit_id": bp,
                "rule": "hot_work_near_blind_plate",
                "distance_m": 20.0,
            }
        ]
        stats = (await http.get("/stats")).json()["work_permits"]
        assert stats["conflicts_by_rule"] == {"hot_work_near_blind_plate": 1}
        assert stats["suspensions_by_cause"] == {"gas_monitoring_lapsed": 1, "guardian_left": 1}

        # A listed isolation: no issue before it is confirmed, no close before it is removed.
        iso = f"ISO-{t}"
        cs2 = f"WP-WI-{t}-CS"
        await site.plan(
            f"WI-{t}",
            ["confined_space"],
            at(13),
            at(16),
            at(12, 50),
            area="I",
            isolations=[{"isolation_id": iso, "kind": "blind_plate", "point": "进料线"}],
        )
        await site.wait(cs2, "permit.signature-requested", 4)
        await site.prepare(cs2, at(12, 52), area="I")
        await bus.publish(
            "safety.gas-test-recorded",
            gas(f"GI-{t}", site.project, "I", at(12, 52)),
            key=site.project,
            time=at(12, 52),
        )
        await site.wait_reading(cs2, f"GI-{t}")
        for role in ROLES:
            await site.sign(cs2, role, at(12, 55), site_presence="I" if role == "host_rep" else None)
        await out.wait_for(lambda es: bool(blocks_after_approval(es, cs2)), what="the isolation block")
        assert blocks_after_approval(out.events(), cs2)[-1] == ["isolation_not_applied"]
        await bus.publish(
            "isolation.applied",
            {
                "isolation_id": iso,
                "project_id": site.project,
                "kind": "blind_plate",
                "point": "进料线",
                "lock_id": "L-7",
                "applied_by": "M-H",
                "applied_at": at(12, 58).isoformat(),
            },
            key=site.project,
            time=at(12, 58),
        )
        await site.wait(cs2, "permit.issued")
        for who in ("M-C", "M-H"):
            await site.command(
                "permit.close", {"permit_id": cs2, "member_id": who, "closed_at": at(15).isoformat()}, at(15)
            )
        assert await site.wait_refusals(cs2, 1) == [["isolation_not_removed"]]
        await bus.publish(
            "isolation.removed",
            {
                "isolation_id": iso,
                "project_id": site.project,
                "removed_by": "M-H",
                "removed_at": at(15, 10).isoformat(),
            },
            key=site.project,
            time=at(15, 10),
        )
        await out.wait_for(
            lambda es: any(
                e.type == "permit.updated" and e.data["change"] == "isolation_removed" for e in es
            ),
            what="isolation removed",
        )
        await site.command(
            "permit.close",
            {"permit_id": cs2, "member_id": "M-H", "closed_at": at(15, 15).isoformat()},
            at(15, 15),
        )
        await site.wait(cs2, "permit.closed")
        doc = (await http.get(f"/permits/{cs2}/document")).text
        assert "受限空间安全作业票" in doc and iso in doc and "L-7" in doc
