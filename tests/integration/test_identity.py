"""Identity and authorization on the real provider (Keycloak), broker and store: tokens are
checked, each refusal comes with its reason code, commands carry the actor from the token,
the roster shows as much as the reader may see, reads are in the access log, and an erased
member's name is in no service's store afterwards."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from services.activity_log.app import definition as activity_log
from services.assessment.app import definition as assessment
from services.permit_fasttrack.app import definition as permit_fasttrack
from services.simulator.realm import EXPIRY_CLIENT
from services.zone_registry.app import definition as zone_registry
from shared.events import CloudEvent, Topic
from shared.logs import configure_access_log
from shared.service import Runtime
from tests.support import ISSUER, Bus, Watcher, bearer, eventually, identity, person, serving, stored

HOST = {"unit_id": "H1", "name": "采油一厂", "role": "host"}
CON = {"unit_id": "C1", "name": "油建一公司", "role": "construction"}
SUP = {"unit_id": "S1", "name": "监理一公司", "role": "supervision"}
# Demo people of the realm (member ids MB0001... are users of the provider).
SECRETARY, REP, LEAD, STRANGER = "MB0501", "MB0502", "MB0503", "MB0504"


def roster_entry(member_id: str, role: str, employer: str, name: str, phone: str) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "name": name,
        "home_branch": f"{name}所在党支部",
        "employer_unit_id": employer,
        "employment": "staff",
        "zone_role": role,
        "phone": phone,
    }


def answers(events: list[CloudEvent], command: str) -> list[CloudEvent]:
    return [e for e in events if e.data.get("command_id") == command]


async def rejection(watcher: Watcher, command_id: str) -> list[str]:
    """The reasons a command was refused with (waits for its answer)."""
    events = await watcher.wait_for(
        lambda es: bool(answers(es, command_id)), what=f"the answer to {command_id}"
    )
    [answer] = answers(events, command_id)
    return list(answer.data["reasons"])


async def zone_with_roster(http: httpx.AsyncClient, out: Watcher, tag: str) -> str:
    """A zone established by the party office, its secretary enrolled by the party office and
    two members by the secretary — all over HTTP with real tokens."""
    body = {
        "zone_id": f"ZT-{tag}",
        "name": f"身份测试协作区{tag}",
        "mode": "project_cobuild",
        "region": "北区",
    }
    r = await http.post("/zones", json={**body, "units": [HOST, CON, SUP], "project_ids": [f"P-{tag}"]})
    assert r.status_code == 202, r.text
    zone_id = body["zone_id"]
    await out.wait_for(lambda es: any(e.type == "zone.established" for e in es), what="the zone")
    secretary = roster_entry(SECRETARY, "secretary", "H1", f"书记{tag}", "13900000501")
    r = await http.post(f"/zones/{zone_id}/members", json={k: v for k, v in secretary.items()})
    assert r.status_code == 202, r.text
    for m in (
        roster_entry(REP, "host_rep", "H1", f"代表{tag}", "13900000502"),
        roster_entry(LEAD, "construction_lead", "C1", f"负责人{tag}", "13900000503"),
    ):
        r = await http.post(f"/zones/{zone_id}/members", json=m, headers=await bearer(SECRETARY))
        assert r.status_code == 202, r.text
    await out.wait_for(
        lambda es: any(e.type == "zone.member-joined" and len(e.data["zone"]["members"]) == 3 for e in es),
        what="three members on the roster",
    )
    return zone_id


# --------------------------------------------------------------------------- tokens


def forged(claims: dict[str, Any], kid: str) -> str:
    """A token with the provider's key id and plausible claims, signed by a key of our own."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


async def test_a_token_is_checked_for_signature_issuer_audience_and_expiry() -> None:
    async with serving(zone_registry, as_=None, oidc_leeway_s=0) as (_, http):
        assert (await http.get("/healthz")).status_code == 200  # operations need no token
        assert (await http.get("/openapi.json")).status_code == 200
        r = await http.get("/zones")
        assert (r.status_code, r.json()["reason"]) == (401, "token_missing")
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        r = await http.get("/zones", headers={"Authorization": "Bearer not-a-jwt"})
        assert (r.status_code, r.json()["reason"]) == (401, "token_invalid")

        real = await identity().token(REP)
        assert (await http.get("/zones", headers={"Authorization": f"Bearer {real}"})).status_code == 200
        claims = jwt.decode(real, options={"verify_signature": False})
        kid = jwt.get_unverified_header(real)["kid"]
        # Wrongly signed: right key id, right claims, another key.
        r = await http.get("/zones", headers={"Authorization": f"Bearer {forged(claims, kid)}"})
        assert (r.status_code, r.json()["reason"]) == (401, "token_invalid")
        # Altered: the provider's signature over other claims.
        head, _, sig = real.split(".")
        raised = jwt.utils.base64url_encode(
            json.dumps({**claims, "roles": ["party_office"]}).encode()
        ).decode()
        r = await http.get("/zones", headers={"Authorization": f"Bearer {head}.{raised}.{sig}"})
        assert (r.status_code, r.json()["reason"]) == (401, "token_invalid")

        # Expired: a token of the client whose tokens live 2 s, refused once it is past.
        async with httpx.AsyncClient() as idp:
            issued = await idp.post(
                f"{ISSUER}/protocol/openid-connect/token",
                data={
                    "grant_type": "password",
                    "client_id": EXPIRY_CLIENT,
                    "username": REP.lower(),
                    "password": "pbz-demo",
                },
            )
        short = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        assert (await http.get("/zones", headers=short)).status_code in (200, 401)
        expired = await eventually(
            lambda: _refused(http, short), timeout=30, what="the short-lived token to expire"
        )
        assert expired == "token_expired"

        # A valid token without one of the system's roles: an enterprise publisher's.
        r = await http.get("/zones", headers=await bearer("pm-system"))
        assert (r.status_code, r.json()["reason"]) == (403, "role_required")


async def _refused(http: httpx.AsyncClient, headers: dict[str, str]) -> str | None:
    r = await http.get("/zones", headers=headers)
    return r.json()["reason"] if r.status_code == 401 else None


# --------------------------------------------------------------------------- zone-registry


@contextlib.contextmanager
def access_log(tmp_path: Path) -> Any:
    path = tmp_path / "access.log"
    configure_access_log(str(path))
    try:
        yield path
    finally:
        configure_access_log("")


async def test_the_roster_changes_only_by_its_secretary_or_the_party_office(tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:6]
    async with Bus() as bus, serving(zone_registry) as (_, http):
        out = await bus.watch(Topic.ZONE_EVENTS.value)
        zone_id = await zone_with_roster(http, out, tag)

        async def refused(member: dict[str, Any], who: str) -> list[str]:
            r = await http.post(f"/zones/{zone_id}/members", json=member, headers=await bearer(who))
            assert r.status_code == 202, r.text
            return await rejection(out, r.json()["command_id"])

        newcomer = roster_entry("MB0505", "member", "C1", f"新人{tag}", "13900000505")
        assert await refused(newcomer, REP) == ["not_secretary"]
        himself = roster_entry(STRANGER, "member", "C1", f"自荐{tag}", "13900000504")
        assert await refused(himself, STRANGER) == ["not_secretary", "self_enrolment"]
        # The HTTP layer refuses what a role cannot do at all; on Kafka the domain does.
        r = await http.post(f"/zones/{zone_id}/close", json={}, headers=await bearer(SECRETARY))
        assert (r.status_code, r.json()["reason"]) == (403, "role_required")
        closing = await bus.publish("zone.close", {"zone_id": zone_id}, key=zone_id, actor=person(SECRETARY))
        assert await rejection(out, closing.id) == ["not_party_office"]
        nobody = await bus.publish(
            "zone.remove-member", {"zone_id": zone_id, "member_id": REP}, key=zone_id, actor=None
        )
        assert await rejection(out, nobody.id) == ["actor_unknown"]

        # Every command, accepted or refused, is in the zone's history with its actor.
        history = (await http.get(f"/zones/{zone_id}/history", headers=await bearer(SECRETARY))).json()
        seen = [
            (h["command_type"], (h["actor"] or {}).get("id"), h["accepted"], h["reasons"])
            for h in history["items"]
        ]
        assert ("zone.establish", "PO0001", True, []) in seen
        assert ("zone.add-member", "PO0001", True, []) in seen
        assert ("zone.add-member", SECRETARY, True, []) in seen
        assert ("zone.add-member", REP, False, ["not_secretary"]) in seen
        assert ("zone.add-member", STRANGER, False, ["not_secretary", "self_enrolment"]) in seen
        assert ("zone.close", SECRETARY, False, ["not_party_office"]) in seen
        assert ("zone.remove-member", None, False, ["actor_unknown"]) in seen
        assert f"新人{tag}" not in json.dumps(history, ensure_ascii=False)  # ids only, no names
        r = await http.get(f"/zones/{zone_id}/history", headers=await bearer(REP))
        assert (r.status_code, r.json()["reason"]) == (403, "not_secretary")


async def test_the_roster_shows_as_much_as_the_reader_may_see_and_every_read_is_logged(
    tmp_path: Path,
) -> None:
    tag = uuid.uuid4().hex[:6]
    async with Bus() as bus, serving(zone_registry) as (_, http):
        out = await bus.watch(Topic.ZONE_EVENTS.value)
        zone_id = await zone_with_roster(http, out, tag)
        with access_log(tmp_path) as log_path:
            office = (await http.get(f"/zones/{zone_id}")).json()["members"]
            secretary = (await http.get(f"/zones/{zone_id}", headers=await bearer(SECRETARY))).json()[
                "members"
            ]
            member = (await http.get(f"/zones/{zone_id}", headers=await bearer(REP))).json()["members"]
            stranger = await http.get(f"/zones/{zone_id}", headers=await bearer(STRANGER))
            hse = await http.get(f"/zones/{zone_id}", headers=await bearer("HS0001"))
        lead = {m["member_id"]: m for m in office}[LEAD]
        assert lead["phone"] == "13900000503" and lead["home_branch"] == f"负责人{tag}所在党支部"
        lead = {m["member_id"]: m for m in secretary}[LEAD]
        assert lead["phone"] == "139****0503" and lead["employment"] == "staff"
        lead = {m["member_id"]: m for m in member}[LEAD]
        assert lead["name"] == f"负责人{tag}" and lead["phone"] is None and lead["home_branch"] is None
        assert lead["employment"] is None and lead["employer_unit_id"] is None
        assert (stranger.status_code, stranger.json()["reason"]) == (403, "not_in_zone")
        assert (hse.status_code, hse.json()["reason"]) == (403, "not_in_zone")
        # The access log: one line per roster read, with who read which zone, no names.
        lines = [json.loads(line) for line in log_path.read_text().splitlines()]
        reads = [(x["access"], x["actor"], x["zone_id"]) for x in lines]
        assert reads == [("roster_read", who, zone_id) for who in ("PO0001", SECRETARY, REP)]
        assert f"负责人{tag}" not in log_path.read_text() and "13900000503" not in log_path.read_text()


# --------------------------------------------------------------------------- activity-log, assessment


def snapshot(zone_id: str, members: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "zone_id": zone_id,
        "name": f"协作区{zone_id}",
        "mode": "project_cobuild",
        "status": "active",
        "region": "北区",
        "host_unit_id": "H1",
        "project_ids": [f"P-{zone_id}"],
        "units": [HOST, CON, SUP],
        "systems": ["daily_checkin"],
        "members": [{k: v for k, v in m.items() if k != "phone"} for m in members],
        "established_at": "2026-04-01T00:00:00+08:00",
    }


def an_activity(zone_id: str, organizer: str, n: int) -> dict[str, Any]:
    return {
        "activity_id": f"A-{zone_id}-{n}",
        "zone_id": zone_id,
        "kind": "joint_meeting",
        "started_at": "2026-04-02T09:00:00+08:00",
        "ended_at": "2026-04-02T10:00:00+08:00",
        "location": "项目部",
        "topic": "联席会",
        "organizer_member_id": organizer,
        "attendee_member_ids": [organizer],
    }


async def two_zones(bus: Bus, runtimes: list[Runtime], tag: str) -> tuple[str, str]:
    """Zone A holds SECRETARY, REP and LEAD; zone B holds STRANGER (as its secretary)."""
    a, b = f"ZA-{tag}", f"ZB-{tag}"
    roster_a = [
        roster_entry(SECRETARY, "secretary", "H1", "甲", "1"),
        roster_entry(REP, "host_rep", "H1", "乙", "2"),
        roster_entry(LEAD, "construction_lead", "C1", "丙", "3"),
    ]
    await bus.publish("zone.established", {"zone": snapshot(a, roster_a)}, key=a)
    await bus.publish(
        "zone.established",
        {"zone": snapshot(b, [roster_entry(STRANGER, "secretary", "H1", "丁", "4")])},
        key=b,
    )
    for rt in runtimes:
        await stored(rt, "zones", a)
        await stored(rt, "zones", b)
    return a, b


async def test_activities_and_ratings_name_their_actor_and_another_zone_is_refused(tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:6]
    async with (
        Bus() as bus,
        serving(activity_log) as (al, al_http),
        serving(assessment) as (asm, asm_http),
    ):
        out = await bus.watch(Topic.ACTIVITY_EVENTS.value, Topic.ASSESSMENT_EVENTS.value)
        commands = await bus.watch(Topic.ACTIVITY_COMMANDS.value)
        a, b = await two_zones(bus, [al, asm], tag)

        # The happy path with a real token: the command carries the person from the token.
        r = await al_http.post(
            "/activities", json=an_activity(a, SECRETARY, 1), headers=await bearer(SECRETARY)
        )
        assert r.status_code == 202, r.text
        events = await out.wait_for(
            lambda es: any(e.type == "activity.recorded" for e in es), what="recorded"
        )
        assert any(e.data["activity_id"] == f"A-{a}-1" for e in events if e.type == "activity.recorded")
        cid = r.json()["command_id"]
        [sent] = [e for e in await commands.wait_for(lambda es: any(e.id == cid for e in es)) if e.id == cid]
        assert (sent.model_extra or {})["authid"] == SECRETARY and "zone_member" in sent.model_extra[
            "authclaims"
        ]

        # A token for another zone: refused for the record, and for reading.
        r = await al_http.post(
            "/activities", json=an_activity(b, STRANGER, 2), headers=await bearer(SECRETARY)
        )
        rejected = await out.wait_for(
            lambda es: any(e.type == "activity.rejected" for e in es), what="rejected"
        )
        assert [e.data["reasons"] for e in rejected if e.type == "activity.rejected"] == [
            ["actor_not_on_roster"]
        ]
        for path in (f"/zones/{b}/compliance", f"/zones/{b}/activities", f"/zones/{b}/problems"):
            r = await al_http.get(path, headers=await bearer(SECRETARY))
            assert (r.status_code, r.json()["reason"]) == (403, "not_in_zone"), path
        r = await asm_http.get(f"/zones/{b}/live", headers=await bearer(SECRETARY))
        assert (r.status_code, r.json()["reason"]) == (403, "not_in_zone")
        assert (
            await al_http.get(f"/zones/{a}/compliance", headers=await bearer(SECRETARY))
        ).status_code == 200
        r = await al_http.get("/compliance", headers=await bearer(SECRETARY))
        assert (r.status_code, r.json()["reason"]) == (403, "role_required")
        nobody = await bus.publish("activity.record", an_activity(a, SECRETARY, 3), key=a, actor=None)
        unnamed_activity = nobody.data["activity_id"]
        events = await out.wait_for(
            lambda es: any(
                e.type == "activity.rejected" and e.data["activity_id"] == unnamed_activity for e in es
            )
        )
        [answer] = [
            e for e in events if e.type == "activity.rejected" and e.data["activity_id"] == unnamed_activity
        ]
        assert answer.data["reasons"] == ["actor_unknown"]

        # Attendance: one's own, one's secretary's reading, and nobody else's.
        assert (await al_http.get(f"/members/{REP}/attendance", headers=await bearer(REP))).status_code == 200
        assert (
            await al_http.get(f"/members/{REP}/attendance", headers=await bearer(SECRETARY))
        ).status_code == 200
        r = await al_http.get(f"/members/{REP}/attendance", headers=await bearer(LEAD))
        assert (r.status_code, r.json()["reason"]) == (403, "not_own_record")

        # "2+1": a unit is rated by its own member.
        def rating(unit: str, role: str) -> dict[str, Any]:
            return {
                "evaluation_id": f"EV-{tag}-{role}",
                "zone_id": a,
                "period": "2026-04",
                "evaluator_unit_id": unit,
                "evaluator_role": role,
                "score": 90,
            }

        r = await asm_http.post("/evaluations", json=rating("C1", "construction"), headers=await bearer(REP))
        assert await rejection(out, r.json()["command_id"]) == ["evaluator_not_of_unit"]
        r = await asm_http.post("/evaluations", json=rating("H1", "host"), headers=await bearer(STRANGER))
        assert await rejection(out, r.json()["command_id"]) == ["actor_not_on_roster"]
        unnamed = await bus.publish("evaluation.submit", rating("H1", "host"), key=a, actor=None)
        assert await rejection(out, unnamed.id) == ["actor_unknown"]
        r = await asm_http.post("/evaluations", json=rating("C1", "construction"), headers=await bearer(LEAD))
        await eventually(
            lambda: asm.db["ratings"].find_one({"evaluation_id": f"EV-{tag}-construction"}), what="the rating"
        )
        assert not answers(out.events(), r.json()["command_id"])


async def test_a_permit_command_carries_the_signer_from_the_token() -> None:
    async with Bus() as bus, serving(permit_fasttrack) as (_, http):
        commands = await bus.watch(Topic.PERMIT_COMMANDS.value)
        body = {
            "member_id": LEAD,
            "role": "construction_lead",
            "decision": "approve",
            "signed_at": "2026-04-02T09:00:00+08:00",
        }
        r = await http.post("/permits/WP-x/sign", json=body, headers=await bearer(LEAD))
        assert r.status_code == 202, r.text
        events = await commands.wait_for(lambda es: any(e.id == r.json()["command_id"] for e in es))
        [sent] = [e for e in events if e.id == r.json()["command_id"]]
        assert sent.model_extra == {**(sent.model_extra or {}), "authtype": "user", "authid": LEAD}
        r = await http.post("/permits/WP-x/sign", json=body)  # the party office signs nothing
        assert (r.status_code, r.json()["reason"]) == (403, "role_required")
        r = await http.post(
            "/permits/WP-x/resume", json={"member_id": "HS0001"}, headers=await bearer("HS0001")
        )
        assert r.status_code == 202  # HSE resumes after incidents (the permit's rules decide the rest)


# --------------------------------------------------------------------------- erasure


async def all_documents(runtimes: list[Runtime]) -> str:
    """Every document of every collection of every service's database, as text."""
    parts = []
    for rt in runtimes:
        for name in await rt.db.list_collection_names():
            async for doc in rt.db[name].find({}):
                parts.append(json.dumps(doc, default=str, ensure_ascii=False))
    return "\n".join(parts)


@contextlib.asynccontextmanager
async def four_services() -> AsyncIterator[list[tuple[Runtime, httpx.AsyncClient]]]:
    async with contextlib.AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(serving(d))
            for d in (zone_registry, activity_log, permit_fasttrack, assessment)
        ]


async def test_an_erased_member_is_in_no_store_and_no_later_event() -> None:
    tag = uuid.uuid4().hex[:6]
    async with Bus() as bus, four_services() as services:
        (_, http), *others = services
        out = await bus.watch(Topic.ZONE_EVENTS.value)
        zone_id = await zone_with_roster(http, out, tag)
        name, phone = f"负责人{tag}", "13900000503"
        for rt, _ in others:
            await eventually(
                lambda rt=rt: _copy_holds(rt, zone_id, name), what=f"{rt.name}'s copy of the roster"
            )
        before = await all_documents([rt for rt, _ in services])
        assert name in before and phone in before  # it was there (zone-registry and the copies)

        r = await http.post(f"/zones/{zone_id}/members/{LEAD}/erase", json={"reason": "PIPL request"})
        assert r.status_code == 202, r.text
        await out.wait_for(lambda es: any(e.type == "zone.member-erased" for e in es), what="the erasure")
        for rt, _ in others:
            await eventually(
                lambda rt=rt: _copy_erased(rt, zone_id, LEAD), what=f"{rt.name}'s copy after the erasure"
            )
        after = await all_documents([rt for rt, _ in services])
        assert name not in after and f"{name}所在党支部" not in after and phone not in after
        # The member id stays for the figures, and later events carry no personal data.
        stats = (await http.get("/stats")).json()
        assert stats["members"] >= 3
        later = roster_entry("MB0506", "member", "H1", f"后来者{tag}", "13900000506")
        r = await http.post(f"/zones/{zone_id}/members", json=later, headers=await bearer(SECRETARY))
        events = await out.wait_for(
            lambda es: any(e.type == "zone.member-joined" and len(e.data["zone"]["members"]) == 4 for e in es)
        )
        last = [e for e in events if e.type == "zone.member-joined"][-1]
        assert name not in last.model_dump_json() and phone not in last.model_dump_json()
        # Erasing is the party office's alone.
        r = await http.post(f"/zones/{zone_id}/members/{REP}/erase", json={}, headers=await bearer(SECRETARY))
        assert (r.status_code, r.json()["reason"]) == (403, "role_required")


async def _copy_holds(rt: Runtime, zone_id: str, name: str) -> bool:
    doc = await rt.db["zones"].find_one({"_id": zone_id})
    return doc is not None and any(m["name"] == name for m in doc["members"])


async def _copy_erased(rt: Runtime, zone_id: str, member_id: str) -> bool:
    doc = await rt.db["zones"].find_one({"_id": zone_id})
    return doc is not None and any(m["member_id"] == member_id and m.get("erased") for m in doc["members"])


# --------------------------------------------------------------------------- HTTP hygiene


async def test_a_retry_with_the_same_idempotency_key_publishes_no_second_command() -> None:
    tag = uuid.uuid4().hex[:6]
    async with Bus() as bus, serving(zone_registry) as (_, http):
        commands = await bus.watch(Topic.ZONE_COMMANDS.value)
        body = {"name": f"幂等{tag}", "mode": "project_cobuild", "region": "北区", "units": [HOST]}
        key = {"Idempotency-Key": f"k-{tag}"}
        first = await http.post("/zones", json=body, headers=key)
        again = await http.post("/zones", json=body, headers=key)
        assert first.status_code == again.status_code == 202
        assert first.json() == again.json()
        other = await http.post("/zones", json={**body, "name": f"另一个{tag}"}, headers=key)
        assert (other.status_code, other.json()["reason"]) == (409, "idempotency_key_reused")
        await commands.wait_for(lambda es: any(e.id == first.json()["command_id"] for e in es))
        await commands.quiet(0.5)
        assert [e.id for e in commands.events()].count(first.json()["command_id"]) == 1
        assert len([e for e in commands.events() if e.data.get("name", "").endswith(tag)]) == 1


async def test_bad_input_gets_a_documented_answer_never_a_500() -> None:
    async with serving(activity_log) as (_, al), serving(zone_registry) as (_, zr):
        for path in ("/compliance", "/zones/Z1/compliance"):
            r = await al.get(path, params={"period": "0000-01"})
            assert (r.status_code, r.json()["reason"]) == (422, "invalid_request"), path
        for raw in (b"\xff\xfe\x00{", b"{not json", b"[1, 2"):
            r = await zr.post("/zones/Z1/members", content=raw, headers={"content-type": "application/json"})
            assert r.status_code in (400, 422) and r.json()["reason"] in ("invalid_body", "invalid_request")
            r = await zr.post(
                "/zones/Z1/members/M1/remove", content=raw, headers={"content-type": "application/json"}
            )
            assert r.status_code in (400, 422)
        # The answer to a body that breaks its schema never echoes the input (a phone, a name).
        r = await zr.post("/zones/Z1/members", json={"member_id": "M1", "phone": "13912345678"})
        assert r.status_code == 422 and "13912345678" not in r.text


async def test_cors_is_closed_unless_origins_are_configured() -> None:
    preflight = {"Origin": "http://127.0.0.1:8000", "Access-Control-Request-Method": "POST"}
    async with serving(zone_registry) as (_, http):
        r = await http.options("/zones", headers=preflight)
        assert "access-control-allow-origin" not in r.headers
    async with serving(zone_registry, cors_origins=["http://127.0.0.1:8000"]) as (_, http):
        r = await http.options("/zones", headers=preflight)
        assert r.headers["access-control-allow-origin"] == "http://127.0.0.1:8000"
        r = await http.options("/zones", headers={**preflight, "Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in r.headers


def _kafka_pid() -> int:
    pid_file = Path(__file__).resolve().parents[2] / ".local" / "run" / "kafka.pid"
    if not pid_file.exists():
        pytest.skip("the local Kafka was not started by deploy/local/infra.sh here")
    return int(pid_file.read_text().strip())


async def test_a_write_answers_503_with_retry_after_while_kafka_does_not_answer() -> None:
    import os
    import signal

    async with serving(zone_registry) as (_, http):
        body = {"name": f"停摆{uuid.uuid4().hex[:6]}", "mode": "project_cobuild", "region": "北区"}
        assert (await http.post("/zones", json=body)).status_code == 202
        await http.get("/zones")  # the token is cached before the broker stops answering
        pid = _kafka_pid()
        retry = {"Idempotency-Key": f"retry-{uuid.uuid4().hex[:6]}"}
        second = {**body, "name": body["name"] + "2"}
        os.kill(pid, signal.SIGSTOP)  # the broker stops answering (as a hung or partitioned one)
        try:
            started = time.monotonic()
            r = await http.post("/zones", json=second, headers=retry)
            took = time.monotonic() - started
        finally:
            os.kill(pid, signal.SIGCONT)
        print(f"503 after {took:.2f} s while Kafka was stopped")
        assert (r.status_code, r.json()["reason"]) == (503, "broker_unavailable")
        assert int(r.headers["Retry-After"]) > 0
        # The client retries as told, with the same key, once the broker answers again.
        accepted = await eventually(
            lambda: _accepted(http, second, retry), timeout=60, what="the retry accepted once Kafka is back"
        )
        assert accepted["type"] == "zone.establish"


async def _accepted(
    http: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any] | None:
    r = await http.post("/zones", json=body, headers=headers)
    return r.json() if r.status_code == 202 else None


async def test_only_a_source_trusted_by_name_may_send_a_command_without_an_actor() -> None:
    tag = uuid.uuid4().hex[:6]
    async with Bus() as bus, serving(zone_registry, trusted_command_sources=["hr-sync"]) as (_, http):
        out = await bus.watch(Topic.ZONE_EVENTS.value)
        body = {"name": f"系统同步{tag}", "mode": "project_cobuild", "region": "北区", "units": [HOST]}
        trusted = await bus.publish(
            "zone.establish", {**body, "zone_id": f"ZS-{tag}"}, source="hr-sync", actor=None
        )
        stranger = await bus.publish(
            "zone.establish",
            {**body, "zone_id": f"ZX-{tag}", "name": f"冒名{tag}"},
            source="hr-sink",
            actor=None,
        )
        assert await rejection(out, stranger.id) == ["actor_unknown"]
        await out.wait_for(
            lambda es: any(e.type == "zone.established" and e.subject == f"ZS-{tag}" for e in es)
        )
        history = (await http.get(f"/zones/ZS-{tag}/history")).json()["items"]
        assert [(h["command_id"], h["actor"]) for h in history] == [
            (trusted.id, {"type": "system", "id": "hr-sync", "roles": []})
        ]


async def test_an_expiring_token_is_renewed_by_its_refresh_token_not_a_second_password_sign_in() -> None:
    """The simulator keeps a month of people signed in: renewing by refresh token costs the
    provider no password hash, and the renewed token is the same person's, valid."""
    from services.simulator.identity import Identity

    async with Identity.from_settings() as ids:
        first = await ids.token(REP)
        kept = ids._tokens[REP]
        assert kept.refresh is not None
        kept.expires_at = time.monotonic()  # as if its lifetime had passed
        sent: list[str] = []
        post = ids._http.post

        async def spying(url: str, *, data: dict[str, str]) -> httpx.Response:
            sent.append(data["grant_type"])
            return await post(url, data=data)

        ids._http.post = spying  # type: ignore[method-assign]
        renewed = await ids.token(REP)
        assert sent == ["refresh_token"]
        assert renewed != first
        claims = jwt.decode(renewed, options={"verify_signature": False})
        assert claims["sub"] == jwt.decode(first, options={"verify_signature": False})["sub"]
        assert (await ids.verifier.verify(renewed)).actor() == kept.actor


async def test_a_first_sign_in_costs_one_password_check_and_no_re_hash() -> None:
    """The demo realm imports its people's password as Keycloak stores a new one (Argon2id,
    its own parameters), so a first sign-in checks it and keeps it: with any other algorithm
    or strength Keycloak hashes the password again and writes it at each person's first
    sign-in (a PBKDF2 import cost 0.36 s a sign-in, this one 0.09–0.10 s)."""
    from services.simulator.realm import DEMO_PASSWORD, _password_credential

    base = ISSUER.rsplit("/realms/", 1)[0]
    imported = json.loads(_password_credential()["credentialData"])
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        admin = await http.post(
            "/realms/master/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": "admin",
                "password": "admin",
            },
        )
        headers = {"Authorization": f"Bearer {admin.json()['access_token']}"}

        async def stored_password(member_id: str) -> dict[str, Any]:
            [user] = (
                await http.get(
                    "/admin/realms/pbz/users",
                    params={"username": member_id, "exact": "true"},
                    headers=headers,
                )
            ).json()
            creds = (
                await http.get(f"/admin/realms/pbz/users/{user['id']}/credentials", headers=headers)
            ).json()
            [password] = [c for c in creds if c["type"] == "password"]
            return {"data": json.loads(password["credentialData"]), "created": password.get("createdDate")}

        member = "MB0599"  # no other test signs in as this person
        before = await stored_password(member)
        signed = await http.post(
            "/realms/pbz/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": "pbz-cli",
                "username": member,
                "password": DEMO_PASSWORD,
            },
        )
        assert signed.status_code == 200, signed.text
        after = await stored_password(member)
    assert before["data"] == imported  # as imported...
    assert after == before  # ...and kept: not hashed again nor rewritten
