"""zone-registry on the real broker and server (issue 19): a floating member passing six months
away raises ``zone.transfer-due`` once, the transfer is recorded, the history of the members
brought back is kept and counted, and the zone's own settings change by ``zone.configure``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.zone_registry.app import definition
from shared.events import CloudEvent, Topic
from tests.support import Bus, Watcher, bearer, eventually, person, serving

TZ = ZoneInfo("Asia/Shanghai")
HOST = {"unit_id": "H1", "name": "采油一厂", "role": "host"}
CON = {"unit_id": "C1", "name": "油建一公司", "role": "construction"}
SUP = {"unit_id": "S1", "name": "监理一公司", "role": "supervision"}
SECRETARY, REP = "MB0501", "MB0502"


def at(day: str, hh: int = 9) -> datetime:
    return datetime.fromisoformat(f"{day}T{hh:02d}:00:00+08:00")


def entry(member_id: str, employment: str, role: str = "member", **more: Any) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "name": f"党员{member_id}",
        "home_branch": f"{member_id}的家乡党支部",
        "employer_unit_id": "H1" if employment == "staff" else "C1",
        "employment": employment,
        "zone_role": role,
        **more,
    }


def due(events: list[CloudEvent]) -> list[CloudEvent]:
    return [e for e in events if e.type == "zone.transfer-due"]


async def answer_to(out: Watcher, command: CloudEvent) -> CloudEvent:
    events = await out.wait_for(
        lambda es: any(e.causationid == command.id for e in es), what=f"the answer to {command.type}"
    )
    return next(e for e in events if e.causationid == command.id)


async def _counted(read: Any) -> dict[str, Any] | None:
    body: dict[str, Any] = await read()
    return body if body["figures"]["attendances"] >= 1 else None


async def tick(bus: Bus, when: datetime) -> None:
    await bus.publish("clock.ticked", {"now": when.isoformat()}, key="clock")


async def test_a_floating_member_passing_six_months_away_falls_due_once_and_is_counted() -> None:
    zone_id = f"ZF-{uuid.uuid4().hex[:6]}"
    far, near, staff = f"MF-{zone_id}", f"MG-{zone_id}", SECRETARY
    async with Bus() as bus, serving(definition) as (_, http):
        out = await bus.watch(Topic.ZONE_EVENTS.value)
        await tick(bus, at("2026-03-30"))
        establish = {
            "zone_id": zone_id,
            "name": f"流动党员协作区{zone_id}",
            "mode": "project_cobuild",
            "region": "北区",
            "project_ids": [f"P-{zone_id}"],
            "units": [HOST, CON, SUP],
        }
        await bus.publish("zone.establish", establish, key=zone_id, time=at("2026-03-30"))
        await out.wait_for(lambda es: any(e.type == "zone.established" for e in es), what="the zone")
        members = [
            entry(staff, "staff", "secretary"),
            # Left home on 10 October: six months on 10 April (a 流动党员活动证 until then).
            entry(far, "migrant_worker", away_since="2025-10-10"),
            # Away since September already: the transfer is due the day they join.
            entry(near, "dispatched", away_since="2025-09-01"),
        ]
        for m in members:
            await bus.publish(
                "zone.add-member", {"zone_id": zone_id, **m}, key=zone_id, time=at("2026-03-31")
            )
        await out.wait_for(
            lambda es: any(
                e.type == "zone.member-joined" and len(e.data["zone"]["members"]) == 3 for e in es
            ),
            what="three members",
        )
        (first,) = due(await out.wait_for(lambda es: len(due(es)) == 1, what="the transfer due at once"))
        assert first.data["member_id"] == near and first.data["due_on"] == "2026-03-01"
        assert first.data["months_away"] == 6 and first.data["home_branch"] == f"{near}的家乡党支部"
        joined = [e for e in out.events() if e.type == "zone.member-joined"][-1]
        snap = {m["member_id"]: m for m in joined.data["zone"]["members"]}
        assert snap[far]["away_since"] == "2025-10-10" and snap[far]["joined_on"] == "2026-03-31"

        # The day before six months: nothing; the day itself: raised, once; the days after: nothing.
        await tick(bus, at("2026-04-09", 23))
        await tick(bus, datetime.fromisoformat("2026-04-10T00:30:00+08:00"))
        events = await out.wait_for(lambda es: len(due(es)) == 2, what="the transfer of the six-month member")
        second = due(events)[-1]
        assert (second.data["member_id"], second.data["due_on"], second.data["away_since"]) == (
            far,
            "2026-04-10",
            "2025-10-10",
        )
        await tick(bus, at("2026-04-11"))
        await tick(bus, at("2026-04-12"))
        marker = await bus.publish("zone.close", {"zone_id": "Z-nope"}, key="Z-nope")
        await answer_to(out, marker)
        assert len(due(out.events())) == 2

        # The transfer recorded: the member votes from that day; refusals say why.
        moved = await bus.publish(
            "zone.record-transfer",
            {
                "zone_id": zone_id,
                "member_id": far,
                "transferred_on": "2026-04-20",
                "new_home_branch": "联合党支部",
            },
            key=zone_id,
            time=at("2026-04-20"),
        )
        updated = await answer_to(out, moved)
        assert updated.type == "zone.updated"
        mine = {m["member_id"]: m for m in updated.data["zone"]["members"]}[far]
        assert (mine["transferred_on"], mine["home_branch"]) == ("2026-04-20", "联合党支部")
        again = await bus.publish(
            "zone.record-transfer",
            {"zone_id": zone_id, "member_id": far, "transferred_on": "2026-04-21"},
            key=zone_id,
        )
        assert (await answer_to(out, again)).data["reasons"] == ["already_transferred"]
        of_staff = await bus.publish(
            "zone.record-transfer",
            {"zone_id": zone_id, "member_id": staff, "transferred_on": "2026-04-21"},
            key=zone_id,
        )
        assert (await answer_to(out, of_staff)).data["reasons"] == ["not_floating"]
        by_member = await bus.publish(
            "zone.record-transfer",
            {"zone_id": zone_id, "member_id": near, "transferred_on": "2026-04-21"},
            key=zone_id,
            actor=person(REP),
        )
        assert (await answer_to(out, by_member)).data["reasons"] == ["not_secretary"]

        # Who attended (activity-log's fact): counted in the member's history since brought back.
        await bus.publish(
            "activity.attendance-recorded",
            {
                "activity_id": f"A-{zone_id}",
                "zone_id": zone_id,
                "kind": "party_members_meeting",
                "started_at": "2026-04-15T14:00:00+08:00",
                "present": 2,
                "on_leave": 0,
                "absent": 1,
                "voters_expected": 1,
                "voters_present": 1,
                "quorum_needed": 1,
                "quorum_held": True,
                "members": [
                    {"member_id": staff, "status": "present", "standing": "full", "has_vote": True},
                    {"member_id": far, "status": "present", "standing": "certificate", "has_vote": False},
                    {"member_id": near, "status": "absent", "standing": "transfer_due", "has_vote": False},
                ],
            },
            key=zone_id,
        )
        left = await bus.publish(
            "zone.remove-member", {"zone_id": zone_id, "member_id": near}, key=zone_id, time=at("2026-05-06")
        )
        assert (await answer_to(out, left)).type == "zone.member-left"

        async def history() -> dict[str, Any]:
            r = await http.get(
                f"/zones/{zone_id}/floating-members", params={"on": "2026-05-10", "year": "2026"}
            )
            assert r.status_code == 200, r.text
            body: dict[str, Any] = r.json()
            return body

        # The attendance fact comes on another topic: wait until it is counted.
        body = await eventually(lambda: _counted(history), what="the attendance counted")
        f = body["figures"]
        assert (f["ever"], f["members"], f["on_rosters"], f["left"]) == (2, 2, 1, 1)
        assert (f["transferred"], f["transfer_due"], f["holding_certificate"]) == (1, 0, 0)
        assert f["by_employment"] == {"dispatched": 1, "migrant_worker": 1}
        assert f["brought_back_in_period"] == 2 and f["attended_any"] == 1
        rows = {m["member_id"]: m for m in body["members"]}
        assert rows[far]["from_home_branch"] == f"{far}的家乡党支部"  # where they came from, kept
        assert (rows[far]["activities_attended"], rows[far]["standing"]) == (1, "transferred")
        assert (rows[near]["left_on"], rows[near]["activities_attended"]) == ("2026-05-06", 0)
        # Home branches are sensitive: the secretary reads them, another member does not.
        assert (
            await http.get(f"/zones/{zone_id}/floating-members", headers=await bearer(SECRETARY))
        ).status_code == 200
        refused = await http.get(f"/zones/{zone_id}/floating-members", headers=await bearer(REP))
        assert (refused.status_code, refused.json()["reason"]) == (403, "not_secretary")
        everywhere = (await http.get("/floating-members", params={"on": "2026-05-10"})).json()
        assert {m["member_id"] for m in everywhere["members"]} >= {far, near}


async def test_a_zone_configures_its_signing_and_its_theme_party_day() -> None:
    zone_id = f"ZS-{uuid.uuid4().hex[:6]}"
    async with Bus() as bus, serving(definition) as (_, http):
        out = await bus.watch(Topic.ZONE_EVENTS.value)
        body = {
            "zone_id": zone_id,
            "name": f"旧流程协作区{zone_id}",
            "mode": "project_cobuild",
            "region": "北区",
            "units": [HOST, CON, SUP],
            "signing": "sequential",
        }
        r = await http.post("/zones", json=body)
        assert r.status_code == 202, r.text
        events = await out.wait_for(lambda es: any(e.type == "zone.established" for e in es), what="the zone")
        assert events[-1].data["zone"]["settings"] == {"signing": "sequential", "theme_party_day": None}
        r = await http.post(f"/zones/{zone_id}/settings", json={"signing": "parallel", "theme_party_day": 15})
        assert r.status_code == 202, r.text
        events = await out.wait_for(lambda es: any(e.type == "zone.updated" for e in es), what="the settings")
        assert events[-1].data["zone"]["settings"] == {"signing": "parallel", "theme_party_day": 15}
        assert (await http.get(f"/zones/{zone_id}")).json()["settings"]["theme_party_day"] == 15
        for wrong, reasons in (
            ({"theme_party_day": 15}, ["nothing_to_change"]),
            ({"signing": "by_fax"}, ["unknown_signing_mode"]),
            ({"theme_party_day": 32}, ["theme_day_out_of_range"]),
        ):
            cmd = await bus.publish("zone.configure", {"zone_id": zone_id, **wrong}, key=zone_id)
            assert (await answer_to(out, cmd)).data["reasons"] == reasons
        by_secretary = await bus.publish(
            "zone.configure",
            {"zone_id": zone_id, "signing": "sequential"},
            key=zone_id,
            actor=person(SECRETARY),
        )
        assert (await answer_to(out, by_secretary)).data["reasons"] == ["not_party_office"]
