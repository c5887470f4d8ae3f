"""The permit's whole life (issue 15) over the real broker and store, time by clock ticks:
re-plan voiding approvals, cancel, resubmission after rejection, lapse after the planned end,
a zone closed and re-covered, interruption with a re-test on resume, extension within and beyond
the cap, handover acknowledged and not, completion refused then accepted, a drawing through two
rounds of comments, and one signer's inbox before and after they sign."""

from __future__ import annotations

import hashlib
from datetime import datetime

from services.permit_fasttrack.app import definition
from shared.events import Topic
from tests.integration.permit_site import ROLES, Site, at, gas, of, tag, zone
from tests.support import Bus, Watcher, eventually, serving, stored

GENERAL = ["host_rep", "construction_lead", "supervision_engineer"]


async def commented(out: Watcher, comment_id: str) -> None:
    await out.wait_for(
        lambda es: any(
            e.type == "permit.updated"
            and e.data["change"] == "comment_added"
            and e.data["detail"]["comment_id"] == comment_id
            for e in es
        ),
        what=comment_id,
    )


async def test_changes_and_ends_replan_cancel_resubmit_lapse_and_a_zone_closed_then_re_covered() -> None:
    t = tag()
    async with Bus() as bus, serving(definition) as (rt, http):
        out = await bus.watch(Topic.PERMIT_EVENTS.value)
        site = Site(bus, out, f"Z-{t}", f"P-{t}", "A")
        await site.start(rt, at(6))

        # Re-plan: approvals given are void when the time changes, and asked again; the same again is a no-op.
        w, p = f"WR-{t}", f"WP-WR-{t}-GW"
        await site.plan(w, [], at(9), at(12), at(7))
        await site.wait(p, "permit.signature-requested", 3)
        await site.sign(p, "host_rep", at(7, 10), site_presence=None)
        await site.sign(p, "construction_lead", at(7, 10))
        await site.wait(p, "permit.signed", 2)
        await site.plan(w, [], at(10), at(12), at(7, 20))
        events = await site.wait(p, "permit.revised")
        revised = of(events, p, "permit.revised")[0].data
        assert (
            revised["changed"] == ["planned_start"] and revised["approvals_void"] and revised["revision"] == 2
        )
        assert revised["permit"]["signatures"] == []
        await site.wait(p, "permit.signature-requested", 6)  # asked again
        # Cancel: the work will not be done.
        await bus.publish(
            "work.cancelled",
            {
                "work_id": w,
                "project_id": site.project,
                "reason": "方案调整",
                "cancelled_at": at(7, 30).isoformat(),
            },
            key=site.project,
            time=at(7, 30),
        )
        cancelled = of(await site.wait(p, "permit.cancelled"), p, "permit.cancelled")[0]
        assert cancelled.data["reason"] == "work_cancelled"

        # Resubmission after a rejection: a new revision, the rejection kept in the history.
        rj = f"WP-WJ-{t}-GW"
        await site.plan(f"WJ-{t}", [], at(9), at(12), at(7, 40))
        await site.wait(rj, "permit.signature-requested", 3)
        await site.sign(rj, "supervision_engineer", at(7, 45), decision="reject", comment="交叉作业未协调")
        await site.wait(rj, "permit.rejected")
        await site.command(
            "permit.resubmit",
            {"permit_id": rj, "member_id": "M-C", "resubmitted_at": at(8).isoformat(), "comment": "已协调"},
            at(8),
        )
        events = await site.wait(rj, "permit.resubmitted")
        assert of(events, rj, "permit.resubmitted")[0].data["revision"] == 2
        await site.wait(rj, "permit.signature-requested", 6)
        detail = (await http.get(f"/permits/{rj}")).json()
        assert [h["type"] for h in detail["history"]].count("permit.rejected") == 1 and detail[
            "revision"
        ] == 2

        # Lapse: never issued by its planned end.
        await site.tick(at(12))
        lapsed = of(await site.wait(rj, "permit.lapsed"), rj, "permit.lapsed")[0]
        assert datetime.fromisoformat(lapsed.data["planned_end"]) == at(12)

        # A zone closed suspends its issued permits and blocks the open ones; a new zone re-routes them.
        live, waiting = f"WP-WZ-{t}-GW", f"WP-WQ-{t}-GW"
        await site.plan(f"WZ-{t}", [], at(13), at(18), at(12, 10))
        await site.issue(live, at(12, 20), roles=GENERAL)
        await site.plan(f"WQ-{t}", [], at(14), at(18), at(12, 30))
        await site.wait(waiting, "permit.signature-requested", 3)
        await bus.publish(
            "zone.closed", {"zone": zone(site.zone_id, site.project, "closed")}, key=site.zone_id, time=at(13)
        )
        suspended = of(await site.wait(live, "permit.suspended"), live, "permit.suspended")[0]
        assert suspended.data["cause"] == "zone_closed"
        blocked = of(await site.wait(waiting, "permit.blocked"), waiting, "permit.blocked")[-1]
        assert blocked.data["reasons"] == ["no_active_zone"]
        z2 = f"Z2-{t}"
        await bus.publish("zone.established", {"zone": zone(z2, site.project)}, key=z2, time=at(13, 30))
        for pid in (live, waiting):
            events = await site.wait(pid, "permit.signature-requested", 6)
            assert of(events, pid, "permit.signature-requested")[-1].data["permit"]["zone_id"] == z2
        site.zone_id = z2
        for role in GENERAL:
            await site.sign(live, role, at(13, 40), site_presence=None)
        issued = of(await site.wait(live, "permit.issued", 2), live, "permit.issued")[-1]
        assert issued.data["permit"]["zone_id"] == z2

        # Finished permits are kept a year (GB 30871-2022 Appendix B.3), then purged. The clock
        # moves a quarter at a time (a tick further ahead than PBZ_CLOCK_MAX_SKEW_HOURS, 92 days,
        # is refused: issue 12).
        for days in (90, 180, 270, 360, 364):
            await site.tick(at(8, days=days))
        await stored(rt, "permit_retention", p)
        assert (await http.get(f"/permits/{p}")).status_code == 200
        await site.tick(at(8, days=366))

        async def purged() -> bool:
            return (await http.get(f"/permits/{p}")).status_code == 404

        await eventually(purged, what=f"{p} purged after a year")
        assert (await http.get(f"/permits/{live}")).status_code == 200  # finished just now: kept


async def test_while_the_work_runs_interruption_extension_handover_and_completion() -> None:
    t = tag()
    async with Bus() as bus, serving(definition) as (rt, http):
        out = await bus.watch(Topic.PERMIT_EVENTS.value)
        site = Site(bus, out, f"Z-{t}", f"P-{t}", "A")
        await site.start(rt, at(5))

        # Handover: the 08:00 shift change on height permits from 06:00; one acknowledged, one not.
        acked, missed = f"WP-WH-{t}-WH", f"WP-WN-{t}-WH"
        await site.plan(f"WH-{t}", ["work_at_height"], at(6), at(12), at(5, 10), area="H", height_m=4)
        await site.plan(f"WN-{t}", ["work_at_height"], at(6), at(12), at(5, 10), area="N", height_m=4)
        await site.issue(acked, at(5, 30), area="H")
        await site.issue(missed, at(5, 30), area="N")
        for who, position, side in (
            ("M-C", "work_lead", "outgoing"),
            ("M-X", "work_lead", "incoming"),
            ("M-G", "guardian", "outgoing"),
            ("M-G2", "guardian", "incoming"),
        ):
            await site.command(
                "permit.handover",
                {
                    "permit_id": acked,
                    "member_id": who,
                    "position": position,
                    "side": side,
                    "acknowledged_at": at(8, 5).isoformat(),
                },
                at(8, 5),
            )
        await site.wait_for(
            lambda es: any(
                e.type == "permit.updated"
                and e.data["change"] == "handover_completed"
                and e.data["permit"]["permit_id"] == acked
                for e in es
            ),
            "handover",
        )
        await site.tick(at(8, 31))
        suspended = of(await site.wait(missed, "permit.suspended"), missed, "permit.suspended")[0]
        assert suspended.data["cause"] == "handover_missing"
        assert not of(out.events(), acked, "permit.suspended")
        assert (await http.get(f"/permits/{acked}")).json()["guardian_member_id"] == "M-G2"

        # Interruption of a confined space and a re-test on resume (§6.3 f: a pause over 60 min).
        cs = f"WP-WC-{t}-CS"
        await site.plan(f"WC-{t}", ["confined_space"], at(9), at(17), at(8, 32))
        await site.issue(cs, at(8, 40), gas_at=at(8, 40))
        await site.tick(at(10))
        await bus.publish(
            "safety.gas-test-recorded",
            gas(f"GM1-{t}", site.project, "A", at(10, 10)),
            key=site.project,
            time=at(10, 10),
        )
        await site.wait_reading(cs, f"GM1-{t}")
        await site.command(
            "permit.interrupt",
            {"permit_id": cs, "member_id": "M-C", "reason": "停电", "interrupted_at": at(10, 15).isoformat()},
            at(10, 15),
        )
        await site.wait(cs, "permit.interrupted")
        resume = {
            "permit_id": cs,
            "member_id": "M-C",
            "resumed_at": at(11, 30).isoformat(),
            "site_presence": "A",
        }
        await site.command("permit.resume-work", resume, at(11, 30))
        assert await site.wait_refusals(cs, 1) == [["gas_retest_required"]]
        await bus.publish(
            "safety.gas-test-recorded",
            gas(f"GM2-{t}", site.project, "A", at(11, 35)),
            key=site.project,
            time=at(11, 35),
        )
        await site.wait_reading(cs, f"GM2-{t}")
        await site.command("permit.resume-work", {**resume, "resumed_at": at(11, 40).isoformat()}, at(11, 40))
        resumed = of(await site.wait(cs, "permit.work-resumed"), cs, "permit.work-resumed")[0]
        assert resumed.data["gas_test_id"] == f"GM2-{t}"

        # Completion refused, then accepted; closing one permit closes none of its linked permits.
        await site.command(
            "permit.declare-complete",
            {"permit_id": acked, "member_id": "M-C", "declared_at": at(11).isoformat()},
            at(11),
        )
        await site.wait(acked, "permit.completion-declared")
        decide = {"permit_id": acked, "member_id": "M-H", "decided_at": at(11, 10).isoformat()}
        await site.command(
            "permit.accept-completion", {**decide, "decision": "reject", "reason": "护栏未恢复"}, at(11, 10)
        )
        refused = of(await site.wait(acked, "permit.completion-refused"), acked, "permit.completion-refused")[
            0
        ]
        assert refused.data["reason"] == "护栏未恢复" and refused.data["permit"]["status"] == "issued"
        await site.command(
            "permit.declare-complete",
            {"permit_id": acked, "member_id": "M-C", "declared_at": at(11, 20).isoformat()},
            at(11, 20),
        )
        await site.wait(acked, "permit.completion-declared", 2)
        await site.command(
            "permit.accept-completion",
            {**decide, "decision": "approve", "guards_restored": True, "housekeeping_done": True},
            at(11, 30),
        )
        await site.wait(acked, "permit.closed")
        doc = await http.get(f"/permits/{acked}/document")
        assert doc.status_code == 200 and "高处安全作业票" in doc.text and "完工验收" in doc.text
        digest = hashlib.sha256(doc.content).hexdigest()
        assert doc.headers["x-content-sha256"] == digest
        assert (await http.get(f"/permits/{acked}")).json()["document_sha256"] == digest
        assert (await http.get("/permits/nope/document")).status_code == 404

        # Extension within the class's cap (二级 hot work: 72 h from the start of validity), re-checked (a
        # fresh gas test) and re-signed on site by the approver (the host unit); beyond the cap, refused.
        hw = f"WP-WE-{t}-HW"
        await site.plan(f"WE-{t}", ["hot_work"], at(12), at(15), at(11, 45), area="E")
        await site.issue(hw, at(11, 50), gas_at=at(11, 50), area="E")
        await bus.publish(
            "safety.gas-test-recorded",
            gas(f"GE2-{t}", site.project, "E", at(14, 45)),
            key=site.project,
            time=at(14, 45),
        )
        await site.wait_reading(hw, f"GE2-{t}")
        ext = {
            "permit_id": hw,
            "member_id": "M-H",
            "reason": "焊口返修",
            "extended_at": at(14, 50).isoformat(),
            "site_presence": "E",
        }
        await site.command("permit.extend", {**ext, "valid_until": at(12, 1, days=3).isoformat()}, at(14, 50))
        assert await site.wait_refusals(hw, 1) == [["extension_beyond_cap"]]
        await site.command("permit.extend", {**ext, "valid_until": at(12, days=3).isoformat()}, at(14, 51))
        extended = of(await site.wait(hw, "permit.extended"), hw, "permit.extended")[0]
        assert datetime.fromisoformat(extended.data["valid_until"]) == at(12, days=3)
        assert datetime.fromisoformat(extended.data["previous_valid_until"]) == at(15)
        detail = (await http.get(f"/permits/{hw}")).json()
        assert detail["extensions"][0]["by"] == "M-H" and detail["revision"] > 1


async def test_a_drawing_through_two_rounds_and_one_signers_inbox() -> None:
    t = tag()
    async with Bus() as bus, serving(definition) as (rt, http):
        out = await bus.watch(Topic.PERMIT_EVENTS.value)
        site = Site(bus, out, f"Z-{t}", f"P-{t}", "A")
        await site.start(rt, at(6))
        d, dr = f"D-{t}", f"DR-D-{t}"
        await bus.publish(
            "drawing.submitted",
            {
                "drawing_id": d,
                "project_id": site.project,
                "title": "工艺管线图",
                "submitted_by_unit_id": "C1",
            },
            key=site.project,
            time=at(7),
        )
        await site.wait(dr, "permit.signature-requested", 3)
        w = f"WP-WI-{t}-GW"
        await site.plan(f"WI-{t}", [], at(13), at(17), at(8))
        await site.wait(w, "permit.signature-requested", 3)

        # The inbox of M-S before signing: the drawing (2-day SLA) and the work permit (4 h), nearest first.
        inbox = (await http.get("/members/M-S/inbox")).json()
        assert [(i["permit_id"], i["role"]) for i in inbox["items"]] == [
            (w, "supervision_engineer"),
            (dr, "supervision_engineer"),
        ]
        assert inbox["items"][0]["kind"] == "work_permit" and inbox["items"][0]["what"] == "signature"
        role_box = (await http.get(f"/zones/{site.zone_id}/inbox", params={"role": "host_rep"})).json()
        assert {i["permit_id"] for i in role_box["items"]} == {w, dr}

        # Round 1: a comment; no approval while it is open; the designer's revision resolves it.
        comment = {
            "drawing_id": d,
            "comment_id": f"C1-{t}",
            "member_id": "M-S",
            "role": "supervision_engineer",
            "sheet": "S-03",
            "issue": "管线与电缆沟冲突",
            "added_at": at(9).isoformat(),
        }
        await site.command("drawing.comment-added", comment, at(9))
        await commented(out, f"C1-{t}")
        await site.sign(dr, "host_rep", at(9, 10), site_presence=None)
        assert await site.wait_refusals(dr, 1) == [["open_comments"]]
        await bus.publish(
            "drawing.revised",
            {
                "drawing_id": d,
                "project_id": site.project,
                "revision": 2,
                "resolved_comment_ids": [f"C1-{t}"],
                "revised_at": at(11).isoformat(),
            },
            key=site.project,
            time=at(11),
        )
        # Round 2: another comment, another revision; then the three roles approve and the review closes.
        await site.command(
            "drawing.comment-added",
            {
                **comment,
                "comment_id": f"C2-{t}",
                "member_id": "M-M",
                "role": "management_safety",
                "sheet": "S-05",
                "issue": "缺防火间距标注",
                "added_at": at(13).isoformat(),
            },
            at(13),
        )
        await commented(out, f"C2-{t}")  # (commands and revisions travel on different topics)
        await bus.publish(
            "drawing.revised",
            {
                "drawing_id": d,
                "project_id": site.project,
                "revision": 3,
                "resolved_comment_ids": [f"C2-{t}"],
                "revised_at": at(15).isoformat(),
            },
            key=site.project,
            time=at(15),
        )
        await out.wait_for(
            lambda es: (
                sum(1 for e in es if e.type == "permit.updated" and e.data["change"] == "drawing_revised")
                == 2
            ),
            what="two revisions",
        )
        for role in ("host_rep", "supervision_engineer", "management_safety"):
            await site.sign(dr, role, at(16), site_presence=None)
        await site.wait(dr, "permit.issued")
        stats = (await http.get("/stats")).json()["drawing_reviews"]
        assert stats["rounds"] == {"3": 1} and stats["comments"] == 2 and stats["open_comments"] == 0
        assert stats["count"] == 1 and stats["median_cycle_days"] is not None

        # After M-S signs the work permit, it leaves their inbox; the others' stay.
        await site.sign(w, "supervision_engineer", at(16, 10))
        await site.wait(w, "permit.signed")
        await stored(rt, "open_permits", w)
        inbox = (await http.get("/members/M-S/inbox")).json()
        assert inbox["items"] == []
        assert [i["permit_id"] for i in (await http.get("/members/M-H/inbox")).json()["items"]] == [w]
        assert ROLES["host_rep"] == "M-H"
