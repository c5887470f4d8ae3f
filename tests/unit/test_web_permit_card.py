"""The signer's card on the new permit API, without the real services (a mock transport): the
class, grade, area, each precondition met or not and why, gas readings, isolations, the guardian
and the signatures; the inbox from the permit service's per-person route; approve/reject and the
guardian's check-in sent through the permit service's write routes with the person's token."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from services.web import signin
from services.web.app import create_app
from services.web.settings import WebSettings

SID = "card-session"
NOW = "2026-04-27T09:00:00+08:00"
BLOCK = {
    "reasons": ["guardian_not_on_site", "gas_test_failed"],
    "details": [
        {
            "reason": "gas_test_failed",
            "test_id": "G2",
            "reading": "lel_pct",
            "value": 12.0,
            "limit": "< 10 %LEL",
            "clause": "SPEC §3.3",
        }
    ],
}
PERMIT: dict[str, Any] = {
    "permit_id": "WP-W1-hot_work",
    "kind": "work_permit",
    "zone_id": "Z1",
    "project_id": "P1",
    "source_id": "pm-system:W1",
    "area": "A-3",
    "risk_types": ["hot_work"],
    "status": "blocked",
    "requested_at": "2026-04-27T08:00:00+08:00",
    "sla_deadline": "2026-04-27T12:00:00+08:00",
    "signatures": [
        {
            "role": "host_rep",
            "member_id": "MB0002",
            "decision": "approve",
            "comment": "现场已确认",
            "signed_at": "2026-04-27T08:30:00+08:00",
            "site_presence": "A-3",
        }
    ],
    "blocked_reasons": BLOCK["reasons"],
    "work_class": "hot_work",
    "grade": "first",
    "version": 7,
    "revision": 1,
    "guardian_member_id": "MB0001",
    "title": "管廊动火",
    "grade_basis": [],
    "required_roles": ["host_rep"],
    "waiting_on_roles": [],
    "waiting_on_members": [],
    "planned_start": "2026-04-27T09:00:00+08:00",
    "planned_end": "2026-04-27T15:00:00+08:00",
    "sla_breached": False,
    "guardian_on_site": False,
    "briefing": {"giver_member_id": "MB0002", "receiver_member_id": "MB0001", "at": NOW},
    "ticket_check": None,
    "isolations": [
        {
            "isolation_id": "I1",
            "kind": "blind_plate",
            "point": "DN100 进口",
            "applied": True,
            "applied_by": "MB0002",
            "lock_id": "L-7",
            "applied_at": NOW,
            "removed": False,
        },
        {"isolation_id": "I2", "kind": "electrical_lockout", "point": "泵电机", "applied": False},
    ],
    "gas_readings": [
        {
            "test_id": "G2",
            "area": "A-3",
            "tested_at": "2026-04-27T08:50:00+08:00",
            "o2_pct": 20.9,
            "lel_pct": 12.0,
            "h2s_mg_m3": 0.0,
            "tester": "MB0002",
            "passed": False,
        }
    ],
    "extensions": [],
    "handovers": [],
    "completion": None,
    "comments": [],
    "drawing_revision": 1,
    "history": [
        {
            "event_id": "e1",
            "type": "permit.requested",
            "actor": "system",
            "at": NOW,
            "revision": 1,
            "detail": {},
        },
        {
            "event_id": "e2",
            "type": "permit.blocked",
            "actor": "system",
            "at": NOW,
            "revision": 1,
            "detail": BLOCK,
        },
    ],
    "document_sha256": "ab" * 32,
}
ZONE = {
    "zone_id": "Z1",
    "members": [
        {"member_id": "MB0001", "name": "王监护", "zone_role": "member"},
        {"member_id": "MB0002", "name": "李甲方", "zone_role": "host_rep"},
    ],
}


class Services:
    def __init__(self) -> None:
        self.sent: list[httpx.Request] = []
        self.permits: dict[str, dict[str, Any]] = {"WP-W1-hot_work": PERMIT}
        self.inbox: list[dict[str, Any]] | None = None  # None: the lifting permit to sign

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST":
            self.sent.append(request)
            return httpx.Response(
                202, json={"event_id": "x", "type": "permit.check-in", "status": "accepted"}
            )
        if path == "/clock":
            return httpx.Response(200, json={"now": NOW})
        if path == "/members/MB0001/inbox" and self.inbox is not None:
            return httpx.Response(200, json={"items": self.inbox, "total": len(self.inbox)})
        if path == "/members/MB0001/inbox":
            assert request.headers["authorization"] == "Bearer a-token"
            item = {
                "permit_id": "WP-W2-lifting",
                "kind": "work_permit",
                "work_class": "lifting",
                "grade": "second",
                "title": "吊装",
                "project_id": "P1",
                "zone_id": "Z1",
                "area": "A-4",
                "status": "pending_signatures",
                "role": "construction_lead",
                "what": "signature",
                "since": NOW,
                "deadline": "2026-04-27T10:00:00+08:00",
                "sla_left_minutes": 45.0,
            }
            return httpx.Response(200, json={"items": [item], "total": 1})
        if path.startswith("/permits/") and path.split("/")[2] in self.permits:
            return httpx.Response(200, json=self.permits[path.split("/")[2]])
        if path == "/zones/Z1":
            return httpx.Response(200, json=ZONE)
        return httpx.Response(404, json={"detail": path, "reason": "not_found"})


@pytest.fixture
async def site() -> Any:
    settings = WebSettings(_env_file=None, web_default_locale="en", port_offset=0)  # type: ignore[call-arg]
    fake = Services()
    app = create_app(settings, transport=httpx.MockTransport(fake))
    app.state.sessions.save(
        SID,
        {
            "member_id": "MB0001",
            "roles": ["zone_member"],
            "access": "a-token",
            "expires_at": time.time() + 600,
            "csrf": "the-csrf-token",
        },
    )
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as c:
            c.cookies.set(signin.COOKIE, SID)
            yield c, fake


async def test_the_inbox_is_the_permit_service_s_own(site: Any) -> None:
    client, _ = site
    page = (await client.get("/inbox")).text
    assert 'href="/permits/WP-W2-lifting"' in page and "Lifting · Grade 2 · A-4" in page
    assert "Construction lead" in page and "SLA left: 0 h 45 min" in page


async def test_the_card_shows_class_grade_preconditions_and_why_gas_isolations_guardian(site: Any) -> None:
    client, _ = site
    page = (await client.get("/permits/WP-W1-hot_work")).text
    for text in ("Hot work", "Grade 1", "A-3", "管廊动火", "Blocked"):
        assert text in page, text
    assert 'data-pre="guardian_not_on_site" data-state="unmet"' in page
    assert 'data-pre="gas_test_failed" data-state="unmet"' in page
    assert 'data-pre="briefing_missing" data-state="met"' in page
    assert "Reading LEL = 12.0, limit &lt; 10 %LEL (SPEC §3.3)" in page  # why, in the service's figures
    assert 'data-test="G2"' in page and "✗ failed" in page
    assert "Blind plate · DN100 进口" in page and "lock L-7" in page
    assert 'Electrical lock-out and tag-out · 泵电机 — <span class="bad">not confirmed' in page
    assert '王监护 — <span class="bad">not on site' in page  # the guardian, by name
    assert "Host representative: 李甲方" in page and "“现场已确认”" in page and "@ A-3" in page
    assert 'id="guardian-checkin"' in page  # this person is the guardian, not on site yet
    # What the page shows, as /api/permits/{id} marks it (permit.js compares the two).
    assert 'data-mark="7/blocked/1"' in page
    assert 'action="/permits/WP-W1-hot_work/sign"' not in page  # nothing to sign for them


async def test_the_guardian_s_check_in_and_a_decision_go_through_the_permit_service(site: Any) -> None:
    client, fake = site
    r = await client.post(
        "/permits/WP-W1-hot_work/guardian-checkin",
        data={"csrf_token": "the-csrf-token", "site_presence": "qr:A-3", "key": "k1"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/permits/WP-W1-hot_work?sent=guardian"
    r = await client.post(
        "/permits/WP-W1-hot_work/sign",
        data={
            "csrf_token": "the-csrf-token",
            "decision": "reject",
            "role": "host_rep",
            "comment": "盲板未到位",
        },
    )
    assert r.status_code == 303
    check_in, sign = fake.sent
    assert check_in.url.port == sign.url.port == 8003  # the permit service
    assert check_in.url.path == "/permits/WP-W1-hot_work/check-in"
    assert (
        check_in.headers["authorization"] == "Bearer a-token" and check_in.headers["idempotency-key"] == "k1"
    )
    assert json.loads(check_in.content) == {
        "member_id": "MB0001",
        "site_presence": "qr:A-3",
        "checked_in_at": NOW,
    }
    assert sign.url.path == "/permits/WP-W1-hot_work/sign"
    body = json.loads(sign.content)
    assert (body["decision"], body["comment"], body["member_id"], body["signed_at"]) == (
        "reject",
        "盲板未到位",
        "MB0001",
        NOW,
    )
    forged = await client.post("/permits/WP-W1-hot_work/guardian-checkin", data={"site_presence": "A-3"})
    assert forged.status_code == 403 and len(fake.sent) == 2


async def test_a_completion_to_accept_is_accepted_through_the_permit_service(site: Any) -> None:
    client, fake = site
    fake.permits["WP-W2-lifting"] = {**PERMIT, "permit_id": "WP-W2-lifting", "status": "completing"}
    fake.inbox = [{"permit_id": "WP-W2-lifting", "role": "host_rep", "what": "completion_acceptance"}]
    page = (await client.get("/permits/WP-W2-lifting")).text
    assert 'id="accept-completion"' in page and 'action="/permits/WP-W2-lifting/sign"' not in page
    r = await client.post(
        "/permits/WP-W2-lifting/accept-completion",
        data={"csrf_token": "the-csrf-token", "decision": "approve", "guards_restored": "on"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/permits/WP-W2-lifting?sent=completion"
    [sent] = fake.sent
    assert sent.url.path == "/permits/WP-W2-lifting/accept-completion"
    body = json.loads(sent.content)
    assert (body["decision"], body["guards_restored"], body["housekeeping_done"], body["decided_at"]) == (
        "approve",
        True,
        False,
        NOW,
    )


def _refusal(member_id: str, command_type: str, reasons: list[str], at: str = NOW) -> dict[str, Any]:
    detail = {"command_type": command_type, "member_id": member_id, "reasons": reasons, "actor": member_id}
    return {"type": "permit.command-rejected", "actor": member_id, "at": at, "revision": 1, "detail": detail}


async def test_the_steps_on_site_are_offered_while_missing_and_sent_through_the_permit_service(
    site: Any,
) -> None:
    """Before issue a roster member may record the ticket check (the briefing is given already);
    the guardian on site may check out; each goes to the permit service's own route as this person."""
    client, fake = site
    page = (await client.get("/permits/WP-W1-hot_work")).text
    assert 'id="check-ticket"' in page and 'id="brief"' not in page  # briefed already
    form = page[page.index('id="check-ticket"') :]
    form = form[: form.index("</form>")]  # each step's form carries the session's token and its key
    assert 'name="csrf_token" value="the-csrf-token"' in form
    assert 'name="key" value="WP-W1-hot_work-7-MB0001-ticket"' in form
    assert 'id="guardian-checkout"' not in page  # the guardian is not on site yet
    fake.permits["WP-W3"] = {**PERMIT, "permit_id": "WP-W3", "briefing": None, "status": "approved"}
    page = (await client.get("/permits/WP-W3")).text
    assert 'id="brief"' in page and '<option value="MB0002">李甲方</option>' in page
    assert '<option value="MB0001">' not in page  # not to oneself
    on_site = {**PERMIT, "permit_id": "WP-W4", "status": "issued", "guardian_on_site": True}
    fake.permits["WP-W4"] = on_site
    page = (await client.get("/permits/WP-W4")).text
    assert 'id="guardian-checkout"' in page and 'id="check-ticket"' not in page  # issued: too late
    token = {"csrf_token": "the-csrf-token"}
    for path, form in (
        ("/permits/WP-W3/brief", {**token, "receiver_member_id": "MB0002", "site_presence": " qr:A-3 "}),
        ("/permits/WP-W1-hot_work/check-ticket", {**token, "site_presence": "A-3", "key": "t1"}),
        ("/permits/WP-W4/guardian-checkout", token),
    ):
        r = await client.post(path, data=form)
        assert r.status_code == 303, path
    brief, ticket, out = fake.sent
    assert (brief.url.path, json.loads(brief.content)) == (
        "/permits/WP-W3/brief",
        {"member_id": "MB0001", "receiver_member_id": "MB0002", "briefed_at": NOW, "site_presence": "qr:A-3"},
    )
    assert (ticket.url.path, json.loads(ticket.content), ticket.headers["idempotency-key"]) == (
        "/permits/WP-W1-hot_work/check-ticket",
        {"member_id": "MB0001", "checked_at": NOW, "site_presence": "A-3"},
        "t1",
    )
    assert (out.url.path, json.loads(out.content)) == (
        "/permits/WP-W4/check-out",
        {"member_id": "MB0001", "checked_out_at": NOW},
    )
    assert {r.headers["authorization"] for r in fake.sent} == {"Bearer a-token"}
    forged = await client.post("/permits/WP-W3/brief", data={"receiver_member_id": "MB0002"})
    assert forged.status_code == 403 and len(fake.sent) == 3


async def test_the_card_says_which_of_this_person_s_steps_were_refused_and_why(site: Any) -> None:
    client, fake = site
    history = [
        *PERMIT["history"],
        _refusal("MB0002", "permit.sign", ["not_on_site"]),  # someone else's
        _refusal(
            "MB0001", "permit.check-ticket", ["role_not_allowed", "not_on_site"], "2026-04-27T09:05:00+08:00"
        ),
    ]
    fake.permits["WP-W5"] = {**PERMIT, "permit_id": "WP-W5", "history": history}
    page = (await client.get("/permits/WP-W5")).text
    assert 'id="refused"' in page and page.count("data-refused=") == 1
    assert 'data-refused="permit.check-ticket"' in page and "Ticket check" in page
    assert '<span data-reason="role_not_allowed">your unit or role may not do this</span>; ' in page
    assert '<span data-reason="not_on_site">not on site: the work area&#39;s code does not match' in page
    assert 'id="refused"' not in (await client.get("/permits/WP-W1-hot_work")).text
