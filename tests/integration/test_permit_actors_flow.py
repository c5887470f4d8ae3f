"""Who may do what on a permit (issue 13, permit side), over the real broker and store: the
actor read from each command's CloudEvents authcontext; every refusal with its reason code, and
every accepted or refused command in the permit's history with its actor."""

from __future__ import annotations

from typing import Any

from services.permit_fasttrack.app import definition
from shared.events import Topic
from tests.integration.permit_site import EMPLOYER, ROLES, Site, at, gas, member, of, tag, zone
from tests.support import Bus, bearer, serving, stored

GENERAL = ["host_rep", "construction_lead", "supervision_engineer"]


async def test_signing_closing_and_resuming_are_for_the_right_person_only() -> None:
    t = tag()
    z = zone(f"Z-{t}", f"P-{t}")
    # A contractor's employee holding the supervision role: the roster lets it, the permit does not.
    z["members"].append({**member("M-S2", "supervision_engineer"), "employer_unit_id": "C1"})
    async with Bus() as bus, serving(definition, trusted_command_sources=["site-terminal"]) as (rt, http):
        out = await bus.watch(Topic.PERMIT_EVENTS.value)
        site = Site(bus, out, f"Z-{t}", f"P-{t}", "A")
        await bus.publish(
            "authorization.registered",
            {
                "member_id": "M-OLD",
                "name": "老证",
                "unit_id": "H1",
                "roles": ["professional_department"],
                "certificates": [
                    {"certificate_id": "X", "kind": "special_operation", "expires_on": "2026-03-31"}
                ],
                "registered_at": at(5).isoformat(),
            },
            key="M-OLD",
            time=at(5),
        )
        await stored(rt, "authorization_register", "M-OLD")
        await site.start(rt, at(6), z)
        p = f"WP-WA-{t}-GW"
        await site.plan(f"WA-{t}", [], at(9), at(17), at(7))
        await site.wait(p, "permit.signature-requested", 3)
        sign = {"permit_id": p, "role": "host_rep", "decision": "approve", "signed_at": at(7, 10).isoformat()}
        await site.command("permit.sign", {**sign, "member_id": "M-H"}, at(7, 10), actor="")  # no actor
        await site.command(
            "permit.sign", {**sign, "member_id": "M-H"}, at(7, 11), actor="M-C"
        )  # someone else
        await site.command(
            "permit.sign", {**sign, "member_id": "M-S2", "role": "supervision_engineer"}, at(7, 12)
        )
        await site.command("permit.sign", {**sign, "member_id": "M-H"}, at(7, 13))  # accepted
        await site.command(
            "permit.sign", {**sign, "member_id": "M-H", "role": "construction_lead"}, at(7, 14)
        )
        got = await site.wait_refusals(p, 4)
        assert got == [
            ["actor_unknown"],
            ["not_signer"],
            ["role_unit_mismatch"],
            ["already_signed_other_role", "signer_lacks_role"],
        ]
        # A trusted system (by name) acts for the member it names without an actor of its own.
        await bus.publish(
            "permit.sign",
            {**sign, "member_id": "M-C", "role": "construction_lead"},
            key=site.zone_id,
            time=at(7, 15),
            source="site-terminal",
            actor=None,  # the trusted system sends no actor of its own
        )
        await site.wait(p, "permit.signed", 2)
        await site.sign(p, "supervision_engineer", at(7, 16))
        await site.wait(p, "permit.issued")

        # Close: construction_lead or host_rep only; resume after a fatal incident: management_safety only.
        await site.command(
            "permit.close", {"permit_id": p, "member_id": "M-S", "closed_at": at(9).isoformat()}, at(9)
        )
        assert (await site.wait_refusals(p, 5))[-1] == ["role_not_allowed"]
        await bus.publish(
            "safety.incident-reported",
            {
                "incident_id": f"I-{t}",
                "project_id": site.project,
                "area": "Z",
                "severity": "fatal",
                "kind": "injury",
                "occurred_at": at(10).isoformat(),
                "description": "高处坠落",
            },
            key=site.project,
            time=at(10),
        )
        await site.wait(p, "permit.suspended")
        await site.command("permit.resume", {"permit_id": p, "member_id": "M-H"}, at(10, 30))
        assert (await site.wait_refusals(p, 6))[-1] == ["role_not_allowed"]
        await site.command("permit.resume", {"permit_id": p, "member_id": "M-M"}, at(10, 40))
        await site.wait(p, "permit.resumed")

        # An approver of Table B.1 with an expired certificate, and one signing away from the site.
        lift = f"WP-WF-{t}-LF"
        await site.plan(f"WF-{t}", ["lifting"], at(12), at(16), at(11), load_t=60)
        await site.wait(lift, "permit.signature-requested", 5)
        pd = {
            "permit_id": lift,
            "role": "professional_department",
            "decision": "approve",
            "signed_at": at(11, 10).isoformat(),
            "member_id": "M-OLD",
        }
        await site.command("permit.sign", {**pd, "site_presence": "A"}, at(11, 10))
        await site.command("permit.sign", {**pd, "site_presence": "office"}, at(11, 11))
        assert await site.wait_refusals(lift, 2) == [
            ["certificate_expired"],
            ["certificate_expired", "not_on_site"],
        ]

        history = (await http.get(f"/permits/{p}")).json()["history"]
        refused = [
            (h["actor"], h["detail"]["reasons"]) for h in history if h["type"] == "permit.command-rejected"
        ]
        assert refused[:3] == [
            ("(no actor)", ["actor_unknown"]),
            ("M-C", ["not_signer"]),
            ("M-S2", ["role_unit_mismatch"]),
        ]
        signed = [h["actor"] for h in history if h["type"] == "permit.signed"]
        assert signed == ["M-H", "site-terminal", "M-S"]
        assert [h["actor"] for h in history if h["type"] == "permit.resumed"] == ["M-M"]
        assert EMPLOYER["M-M"] == "M1" and ROLES["management_safety"] == "M-M"
        assert of(out.events(), p, "permit.closed") == []


# People of the realm (Keycloak), each signing in with their own token: MB0531... are demo users.
HTTP_ROLES = {
    "host_rep": ("MB0531", "H1"),
    "construction_lead": ("MB0532", "C1"),
    "supervision_engineer": ("MB0533", "S1"),
    "management_safety": ("MB0534", "M1"),
}
HTTP_GUARDIAN, HTTP_SHIFT_LEADER, HTTP_CREW = "MB0535", "MB0536", "MB0537"


def http_zone(zone_id: str, project: str) -> dict[str, Any]:
    z = zone(zone_id, project)
    people = [(m, role, unit) for role, (m, unit) in HTTP_ROLES.items()]
    people += [
        (HTTP_GUARDIAN, "member", "C1"),
        (HTTP_SHIFT_LEADER, "member", "H1"),
        (HTTP_CREW, "member", "C1"),
    ]
    z["members"] = [{**member(m, role), "employer_unit_id": unit} for m, role, unit in people]
    return z


async def test_over_http_each_person_signs_with_their_own_token_and_the_permit_is_issued() -> None:
    """Issue 13's HTTP side on issue 14/15's permit: every command of a hot-work permit's life
    before issue is posted with the person's own Keycloak token; the command carries that
    person as its actor, the permit takes it, and it is issued; someone signing for another is
    refused (not_signer); the inbox is one's own."""
    t = tag()
    async with Bus() as bus, serving(definition) as (rt, http):
        out = await bus.watch(Topic.PERMIT_EVENTS.value)
        site = Site(bus, out, f"Z-{t}", f"P-{t}", "A")
        await site.start(rt, at(6), http_zone(site.zone_id, site.project))
        p = f"WP-WH-{t}-HW"
        await site.plan(f"WH-{t}", ["hot_work"], at(9), at(17), at(7))
        await site.wait(p, "permit.signature-requested", 4)
        lead, host = HTTP_ROLES["construction_lead"][0], HTTP_ROLES["host_rep"][0]

        async def post(who: str, path: str, body: dict[str, Any]) -> str:
            r = await http.post(f"/permits/{p}/{path}", json=body, headers=await bearer(who))
            assert r.status_code == 202, r.text
            return str(r.json()["command_id"])

        mine = await http.get(f"/members/{lead}/inbox", headers=await bearer(lead))
        assert [i["permit_id"] for i in mine.json()["items"]] == [p]
        other = await http.get(f"/members/{host}/inbox", headers=await bearer(lead))
        assert (other.status_code, other.json()["reason"]) == (403, "not_own_record")
        when = at(7, 20).isoformat()
        await post(
            lead, "guardian", {"member_id": lead, "guardian_member_id": HTTP_GUARDIAN, "named_at": when}
        )
        await post(
            HTTP_GUARDIAN,
            "check-in",
            {"member_id": HTTP_GUARDIAN, "site_presence": "A", "checked_in_at": when},
        )
        await post(
            host, "brief", {"member_id": host, "receiver_member_id": HTTP_GUARDIAN, "briefed_at": when}
        )
        await post(
            HTTP_SHIFT_LEADER,
            "check-ticket",
            {"member_id": HTTP_SHIFT_LEADER, "site_presence": "A", "checked_at": when},
        )
        sign = {"decision": "approve", "signed_at": at(7, 30).isoformat()}
        forged = await post(
            HTTP_CREW, "sign", {**sign, "member_id": host, "role": "host_rep", "site_presence": "A"}
        )
        for role, (m, _) in HTTP_ROLES.items():
            presence = {"site_presence": "A"} if role == "host_rep" else {}
            await post(m, "sign", {**sign, "member_id": m, "role": role, **presence})
        await bus.publish(
            "safety.gas-test-recorded",
            gas(f"G-{t}", site.project, "A", at(8, 45)),
            key=site.project,
            time=at(8, 45),
        )
        await site.tick(at(8, 40))
        await site.wait(p, "permit.issued")
        history = (await http.get(f"/permits/{p}")).json()["history"]
        assert [h["actor"] for h in history if h["type"] == "permit.signed"] == [
            m for m, _ in HTTP_ROLES.values()
        ]
        refused = [h for h in history if h["type"] == "permit.command-rejected"]
        assert [(h["actor"], h["detail"]["reasons"]) for h in refused] == [(HTTP_CREW, ["not_signer"])]
        rejections = [e for e in out.events("permit.command-rejected") if e.data["permit_id"] == p]
        assert [e.data["command_id"] for e in rejections] == [forged]  # the HTTP command's own id
