"""zone-registry on the real broker and server: automatic coverage, activation, refusals, replay."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from services.zone_registry.app import definition
from shared.events import CloudEvent, Topic
from tests.support import Bus, person, serving

HOST = {"unit_id": "H1", "name": "采油一厂", "role": "host"}
CON = {"unit_id": "C1", "name": "油建一公司", "role": "construction"}
SUP = {"unit_id": "S1", "name": "监理一公司", "role": "supervision"}


def registered(
    pid: str, scale: str, category: str, units: list[dict[str, Any]], region: str = "北区"
) -> dict[str, Any]:
    return {
        "project_id": pid,
        "name": f"工程{pid}",
        "category": category,
        "scale": scale,
        "key_project": True,
        "region": region,
        "planned_start": "2026-04-01",
        "planned_end": "2026-12-31",
        "units": units,
    }


def zone_events(events: list[CloudEvent]) -> list[CloudEvent]:
    return [e for e in events if e.type.startswith("zone.")]


async def test_key_projects_are_covered_automatically_and_replay_changes_nothing() -> None:
    tag = uuid.uuid4().hex[:6]
    large, small1, small2 = f"PL-{tag}", f"PS1-{tag}", f"PS2-{tag}"
    async with Bus() as bus, serving(definition) as (_, http):
        out = await bus.watch(Topic.ZONE_EVENTS.value)
        sent = [
            await bus.publish(
                "project.registered", registered(large, "large", "new_build", [HOST, CON, SUP]), key=large
            ),
            await bus.publish(
                "project.registered", registered(small1, "small", "renovation", [HOST, CON]), key=small1
            ),
            await bus.publish(
                "project.registered",
                registered(small2, "small", "safety_remediation", [HOST, CON]),
                key=small1,
            ),
        ]
        await out.wait_for(lambda es: len(zone_events(es)) >= 3, what="zone events for three projects")
        zones = (await http.get("/zones")).json()
        assert len(zones) == 2
        by_mode = {z["mode"]: z for z in zones}
        assert by_mode["project_cobuild"]["status"] == "active"
        assert by_mode["project_cobuild"]["project_ids"] == [large]
        assert by_mode["regional_alliance"]["status"] == "active"
        assert sorted(by_mode["regional_alliance"]["project_ids"]) == sorted([small1, small2])
        assert by_mode["regional_alliance"]["host_unit_id"] == "H1"
        coverage = (await http.get("/coverage")).json()
        assert coverage == {"key_projects": 3, "covered": 3, "share": 1.0, "uncovered": []}
        events = await out.quiet(0.5)
        # Zone events are keyed by zone: order holds per zone, not across zones.
        assert sorted(e.type for e in events) == ["zone.established", "zone.established", "zone.updated"]

        # Replaying the same events changes nothing and says nothing.
        for e in sent:
            await bus.resend(e, key=e.data["project_id"])
        marker = await bus.publish("zone.close", {"zone_id": "Z-nope"}, key="Z-nope")
        await out.wait_for(lambda es: any(x.data.get("command_id") == marker.id for x in es))
        assert sorted(e.type for e in zone_events(out.events())) == [
            "zone.command-rejected",
            "zone.established",
            "zone.established",
            "zone.updated",
        ]
        assert len((await http.get("/zones")).json()) == 2


async def test_a_zone_lacking_supervision_is_proposed_then_activated_by_adding_it() -> None:
    pid = f"PG-{uuid.uuid4().hex[:6]}"
    async with Bus() as bus, serving(definition) as (_, http):
        out = await bus.watch(Topic.ZONE_EVENTS.value)
        await bus.publish("project.registered", registered(pid, "large", "epc", [HOST, CON]), key=pid)
        events = await out.wait_for(lambda es: any(e.type == "zone.coverage-gap" for e in es))
        gap = next(e for e in events if e.type == "zone.coverage-gap")
        assert gap.data["project_id"] == pid
        assert gap.data["missing_roles"] == ["supervision"]
        assert gap.data["zone"]["status"] == "proposed"
        zone_id = gap.data["zone"]["zone_id"]
        assert (await http.get("/coverage")).json()["covered"] == 0
        await bus.publish("zone.add-unit", {"zone_id": zone_id, **SUP}, key=zone_id)
        events = await out.wait_for(lambda es: any(e.type == "zone.updated" for e in es))
        updated = next(e for e in events if e.type == "zone.updated")
        assert updated.data["zone"]["status"] == "active"
        assert (await http.get("/coverage")).json() == {
            "key_projects": 1,
            "covered": 1,
            "share": 1.0,
            "uncovered": [],
        }

        # Members: floating ones counted, phone numbers never in an event (in the API: only
        # the party office sees them in full; tests/integration/test_identity.py shows the rest).
        member = {
            "zone_id": zone_id,
            "member_id": "MB-1",
            "name": "李师傅",
            "home_branch": "四川某村党支部",
            "employer_unit_id": "C1",
            "employment": "migrant_worker",
            "zone_role": "member",
            "phone": "13900000000",
        }
        await bus.publish("zone.add-member", member, key=zone_id)
        events = await out.wait_for(lambda es: any(e.type == "zone.member-joined" for e in es))
        joined = next(e for e in events if e.type == "zone.member-joined")
        assert "phone" not in joined.data["zone"]["members"][0]
        detail = (await http.get(f"/zones/{zone_id}")).json()
        assert detail["floating_member_count"] == 1 and detail["members"][0]["phone"] == "13900000000"
        stats = (await http.get("/stats")).json()
        assert stats["members"] == 1 and stats["floating_members"] == 1 and stats["units"] == 3
        assert (await http.get("/zones/ZC-unknown")).status_code == 404


async def test_a_command_re_keyed_to_the_work_topic_keeps_its_actor_and_is_decided_once() -> None:
    """Issue 12 re-keys a zone command to pbz.zone.work; issue 13's actor must travel with it
    (the CloudEvents authcontext, byte for byte) and be checked once, where the zone decides."""
    pid = f"PW-{uuid.uuid4().hex[:6]}"
    async with Bus() as bus, serving(definition) as (rt, _):
        out = await bus.watch(Topic.ZONE_EVENTS.value)
        work = await bus.watch(Topic.ZONE_WORK.value)
        await bus.publish("project.registered", registered(pid, "large", "epc", [HOST, CON, SUP]), key=pid)
        events = await out.wait_for(lambda es: any(e.type == "zone.established" for e in es))
        zone_id = next(e for e in events if e.type == "zone.established").data["zone"]["zone_id"]
        member = {
            "zone_id": zone_id,
            "member_id": "MB-7",
            "name": "王师傅",
            "home_branch": "某党支部",
            "employer_unit_id": "C1",
            "employment": "staff",
            "zone_role": "member",
        }
        # A stranger (not the secretary, not the party office) adds someone, keyed otherwise.
        sent = await bus.publish("zone.add-member", member, key="not-the-zone", actor=person("MB-666"))
        copies = await work.wait_for(lambda es: any(e.id == sent.id for e in es), what="the re-keyed command")
        [copy] = [e for e in copies if e.id == sent.id]
        assert (copy.source, copy.model_extra) == (sent.source, sent.model_extra)  # actor included
        assert copy.model_extra and copy.model_extra["authid"] == "MB-666"
        events = await out.wait_for(
            lambda es: any(e.data.get("command_id") == sent.id for e in es), what="the refusal"
        )
        await out.quiet(0.5)
        refusals = [e for e in out.events() if e.data.get("command_id") == sent.id]
        assert [(e.type, e.data["reasons"]) for e in refusals] == [
            ("zone.command-rejected", ["not_secretary"])
        ]
        history = await rt.db["zone_history"].find({"zone_id": zone_id}).to_list(None)
        assert [(h["actor"]["id"], h["accepted"], h["reasons"]) for h in history] == [
            ("MB-666", False, ["not_secretary"])
        ]


async def test_every_senseless_command_is_refused_with_a_reason() -> None:
    pid = f"PR-{uuid.uuid4().hex[:6]}"
    async with Bus() as bus, serving(definition) as (_, http):
        out = await bus.watch(Topic.ZONE_EVENTS.value)
        await bus.publish(
            "project.registered", registered(pid, "large", "new_build", [HOST, CON, SUP]), key=pid
        )
        zone_id = f"ZC-{pid}"
        await out.wait_for(lambda es: any(e.type == "zone.established" for e in es))
        member = {
            "zone_id": zone_id,
            "member_id": "MB-1",
            "name": "王",
            "home_branch": "采油一厂党支部",
            "employer_unit_id": "H1",
            "employment": "staff",
            "zone_role": "host_rep",
        }
        await bus.publish("zone.add-member", member, key=zone_id)
        await out.wait_for(lambda es: any(e.type == "zone.member-joined" for e in es))
        establish = {
            "name": f"工程{pid} 项目共建党建协作区",
            "mode": "project_cobuild",
            "project_ids": [],
            "region": "北区",
            "units": [HOST],
        }
        cases = [
            ("zone.add-unit", {"zone_id": "Z-404", **SUP}, "unknown_zone"),
            ("zone.establish", establish, "duplicate_zone_name"),
            (
                "zone.add-unit",
                {"zone_id": zone_id, "unit_id": "X1", "name": "食堂", "role": "caterer"},
                "unknown_role",
            ),
            ("zone.add-member", member, "member_already_on_roster"),
            ("zone.remove-member", {"zone_id": zone_id, "member_id": "MB-404"}, "member_not_on_roster"),
            ("zone.adopt-systems", {"zone_id": zone_id, "systems": ["karaoke"]}, "unknown_system"),
        ]
        # A new zone is its own aggregate, handled on its own key: its name check is ordered
        # after the close only if the refusal has been seen first (a closed zone frees its name).
        closing = [
            ("zone.close", {"zone_id": zone_id}, None),
            ("zone.close", {"zone_id": zone_id}, "zone_already_closed"),
        ]
        expected: dict[str, str] = {}

        def refused(es: list[Any]) -> bool:
            return len([e for e in es if e.type == "zone.command-rejected"]) >= len(expected)

        for batch in (cases, closing):
            for event_type, data, reason in batch:
                cmd = await bus.publish(event_type, data, key=zone_id)
                if reason:
                    expected[cmd.id] = reason
            events = await out.wait_for(refused, what="refusals")
        refusals = {e.data["command_id"]: e for e in events if e.type == "zone.command-rejected"}
        for command_id, reason in expected.items():
            assert reason in refusals[command_id].data["reasons"], (reason, refusals[command_id].data)
        assert any(e.type == "zone.closed" for e in events)
        assert refusals[next(iter(expected))].data["zone_id"] == "Z-404"
        # The HTTP command endpoints publish too, and answer with the command id.
        r = await http.post(f"/zones/{zone_id}/close", json={"reason": "again"})
        assert r.status_code == 202
        command_id = r.json()["command_id"]
        events = await out.wait_for(lambda es: any(e.data.get("command_id") == command_id for e in es))
        assert next(e for e in events if e.data.get("command_id") == command_id).data["reasons"] == [
            "zone_already_closed"
        ]


async def test_two_establishes_of_one_name_at_once_found_one_zone() -> None:
    """Sent together by two clients (no zone id: the service makes one from each command), they
    are handled in turn on the name's partition: one zone, one refusal — even with partitions
    handled side by side (as two instances would)."""
    name = f"共建党建协作区-{uuid.uuid4().hex[:6]}"
    establish = {
        "name": name,
        "mode": "project_cobuild",
        "project_ids": [],
        "region": "北区",
        "units": [HOST],
    }
    async with Bus() as bus, serving(definition, partitions="all"):
        out = await bus.watch(Topic.ZONE_EVENTS.value)
        sent = await asyncio.gather(*(bus.publish("zone.establish", establish, key=k) for k in ("c1", "c2")))
        ids = {cmd.id for cmd in sent}
        events = await out.wait_for(
            lambda es: len([e for e in es if e.causationid in ids]) >= 2, what="both answers"
        )
        await out.quiet(1.0)
        answers = [e for e in out.events() if e.causationid in ids]
        assert sorted(e.type for e in answers) == ["zone.command-rejected", "zone.established"], events
        [refusal] = [e for e in answers if e.type == "zone.command-rejected"]
        assert refusal.data["reasons"] == ["duplicate_zone_name"]


async def test_a_closed_alliance_keeps_its_id_and_the_next_one_is_numbered_after_it() -> None:
    tag = uuid.uuid4().hex[:6]
    region = f"南区{tag}"
    first, second = f"PA-{tag}", f"PB-{tag}"
    async with Bus() as bus, serving(definition) as (_, http):
        out = await bus.watch(Topic.ZONE_EVENTS.value)
        await bus.publish(
            "project.registered", registered(first, "small", "renovation", [HOST, CON], region), key=first
        )
        [founded] = await out.wait_for(
            lambda es: [e for e in es if e.type == "zone.established"], what="the first alliance"
        )
        old_id = founded.data["zone"]["zone_id"]
        assert old_id.startswith("ZR-H1-") and old_id.endswith("-1")
        await bus.publish(
            "project.completed", {"project_id": first, "completed_at": "2026-05-01T00:00:00+08:00"}, key=first
        )
        await out.wait_for(lambda es: any(e.type == "zone.closed" for e in es), what="the alliance closed")
        await bus.publish(
            "project.registered", registered(second, "small", "renovation", [HOST, CON], region), key=second
        )
        events = await out.wait_for(
            lambda es: len([e for e in es if e.type == "zone.established"]) == 2, what="a second alliance"
        )
        new_id = [e for e in events if e.type == "zone.established"][1].data["zone"]["zone_id"]
        assert new_id == old_id[: -len("-1")] + "-2"
        assert (await http.get(f"/zones/{old_id}")).json()["status"] == "closed"
        assert (await http.get(f"/zones/{new_id}")).json()["project_ids"] == [second]
