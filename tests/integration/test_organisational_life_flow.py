"""activity-log on the real broker and server (issue 19): 三会一课 and organisational life by the
rules — a 党员大会 whose quorum did not hold, leave recorded before the start (and refused
after it), a 党课 missed in a quarter, a reminder due to the secretary before the quarter
closes, and a 主题党日 off the zone's fixed day."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.activity_log.app import definition
from shared.events import CloudEvent, Topic
from tests.support import Bus, bearer, person, serving, stored

TZ = ZoneInfo("Asia/Shanghai")
SEC, A, B, F, P = "MB0501", "MB0502", "MB0503", "MB0504", "MB0505"


def member(member_id: str, role: str = "member", employment: str = "staff", **more: Any) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "name": f"党员{member_id}",
        "home_branch": "某支部",
        "employer_unit_id": "H1" if employment == "staff" else "C1",
        "employment": employment,
        "zone_role": role,
        "joined_on": "2026-04-01",
        **more,
    }


ROSTER = [
    member(SEC, "secretary"),
    member(A),
    member(B),
    # A migrant worker away since March: a 流动党员活动证 holder — attends, no vote.
    member(F, employment="migrant_worker", away_since="2026-03-01"),
    # A 预备党员: no vote (党章 第七条).
    member(P, probationary=True),
]


def snapshot(zone_id: str, theme_party_day: int | None = None) -> dict[str, Any]:
    return {
        "zone_id": zone_id,
        "name": f"协作区{zone_id}",
        "mode": "project_cobuild",
        "status": "active",
        "region": "北区",
        "host_unit_id": "H1",
        "project_ids": [f"P-{zone_id}"],
        "units": [{"unit_id": "H1", "name": "采油一厂", "role": "host"}],
        "systems": ["daily_checkin"],
        "members": ROSTER,
        "established_at": "2026-04-01T00:00:00+08:00",
        "settings": {"signing": "parallel", "theme_party_day": theme_party_day},
    }


def meeting(zone_id: str, kind: str, start: datetime, attendees: list[str], **more: Any) -> dict[str, Any]:
    return {
        "activity_id": f"A-{zone_id}-{kind}-{start:%m%d%H}",
        "zone_id": zone_id,
        "kind": kind,
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(hours=1)).isoformat(),
        "location": "项目部会议室",
        "topic": kind,
        "organizer_member_id": SEC,
        "attendee_member_ids": attendees,
        **more,
    }


def at(day: str, hh: int = 9, mm: int = 0) -> datetime:
    return datetime.fromisoformat(f"{day}T{hh:02d}:{mm:02d}:00+08:00")


async def tick(bus: Bus, when: datetime) -> None:
    await bus.publish("clock.ticked", {"now": when.isoformat()}, key="clock")


async def zone_ready(bus: Bus, rt: Any, zone_id: str, theme_party_day: int | None = None) -> None:
    await tick(bus, at("2026-03-31", 23))
    await bus.publish(
        "zone.established",
        {"zone": snapshot(zone_id, theme_party_day)},
        key=zone_id,
        time=at("2026-04-01", 0),
    )
    await stored(rt, "zones", zone_id)


def of_type(events: list[CloudEvent], event_type: str, zone_id: str) -> list[CloudEvent]:
    return [e for e in events if e.type == event_type and e.data.get("zone_id") == zone_id]


async def test_a_party_members_meeting_without_quorum_and_leave_before_the_start() -> None:
    zone_id = f"ZQ-{uuid.uuid4().hex[:6]}"
    start = at("2026-04-14", 14)
    async with Bus() as bus, serving(definition) as (rt, http):
        out = await bus.watch(Topic.ACTIVITY_EVENTS.value)
        await zone_ready(bus, rt, zone_id)
        await tick(bus, at("2026-04-14", 8))
        leave = {
            "activity_id": f"A-{zone_id}-party_members_meeting-041414",
            "zone_id": zone_id,
            "activity_starts_at": start.isoformat(),
            "reason": "赴外地参加培训",
        }
        # B asks the day before: excused. A asks after the start (backdated): refused, absent.
        await bus.publish(
            "activity.request-leave",
            {
                **leave,
                "leave_id": f"LV-B-{zone_id}",
                "member_id": B,
                "requested_at": at("2026-04-13").isoformat(),
            },
            key=zone_id,
            time=at("2026-04-13"),
            actor=person(B),
        )
        await bus.publish(
            "activity.request-leave",
            {
                **leave,
                "leave_id": f"LV-A-{zone_id}",
                "member_id": A,
                "requested_at": at("2026-04-14", 8).isoformat(),
            },
            key=zone_id,
            time=at("2026-04-14", 15),
            actor=person(A),
        )
        # Another member cannot ask leave for someone else; the secretary can.
        await bus.publish(
            "activity.request-leave",
            {
                **leave,
                "leave_id": f"LV-P-{zone_id}",
                "member_id": P,
                "requested_at": at("2026-04-13").isoformat(),
            },
            key=zone_id,
            time=at("2026-04-13"),
            actor=person(F),
        )
        events = await out.wait_for(
            lambda es: (
                len(of_type(es, "activity.leave-rejected", zone_id)) == 2
                and len(of_type(es, "activity.leave-recorded", zone_id)) == 1
            ),
            what="two leaves refused, one recorded",
        )
        refused = {
            e.data["member_id"]: e.data["reasons"]
            for e in of_type(events, "activity.leave-rejected", zone_id)
        }
        assert refused == {A: ["leave_after_start"], P: ["not_own_leave"]}

        # Present: the secretary (votes), the floating member and the probationary one (no vote).
        decision = {"decision_id": "D-1", "title": "接收预备党员", "votes_for": 1}
        await bus.publish(
            "activity.record",
            meeting(zone_id, "party_members_meeting", start, [SEC, F, P], decisions=[decision]),
            key=zone_id,
            time=at("2026-04-14", 16),
        )
        events = await out.wait_for(
            lambda es: bool(of_type(es, "activity.attendance-recorded", zone_id)), what="the attendance"
        )
        (att,) = of_type(events, "activity.attendance-recorded", zone_id)
        d = att.data
        assert (d["present"], d["on_leave"], d["absent"]) == (3, 1, 1)
        assert (d["voters_expected"], d["voters_present"], d["quorum_needed"], d["quorum_held"]) == (
            3,
            1,
            2,
            False,
        )
        rows = {r["member_id"]: (r["status"], r["standing"], r["has_vote"]) for r in d["members"]}
        assert rows == {
            SEC: ("present", "full", True),
            A: ("absent", "full", True),
            B: ("on_leave", "full", True),
            F: ("present", "certificate", False),
            P: ("present", "probationary", False),
        }
        assert d["decisions"][0]["passed"] is False and d["decisions"][0]["votes_needed"] == 2

        # The record reads the same over HTTP; A's own record shows the absence.
        read = (await http.get(f"/activities/{d['activity_id']}/attendance")).json()
        assert read["quorum_held"] is False and read["on_leave"] == 1
        mine = (await http.get(f"/members/{A}/attendance", headers=await bearer(A))).json()
        assert (mine["expected"], mine["present"], mine["absent"], mine["rate"]) == (1, 0, 1, 0.0)

        # The next one holds its quorum: two of the three voters present.
        await bus.publish(
            "activity.record",
            meeting(
                zone_id,
                "party_members_meeting",
                at("2026-04-28", 14),
                [SEC, A],
                decisions=[decision | {"votes_for": 2}],
            ),
            key=zone_id,
            time=at("2026-04-28", 16),
        )
        events = await out.wait_for(
            lambda es: len(of_type(es, "activity.attendance-recorded", zone_id)) == 2,
            what="the second meeting",
        )
        second = of_type(events, "activity.attendance-recorded", zone_id)[-1].data
        assert (second["quorum_held"], second["decisions"][0]["passed"]) == (True, True)
        # A work check-in keeps its attendance in the record, without an event.
        await bus.publish(
            "activity.record",
            meeting(zone_id, "daily_checkin", at("2026-04-29", 7), [SEC, A], slot="morning"),
            key=zone_id,
            time=at("2026-04-29", 8),
        )
        await out.wait_for(
            lambda es: len(of_type(es, "activity.recorded", zone_id)) == 3, what="the check-in"
        )
        assert len(of_type(await out.quiet(0.5), "activity.attendance-recorded", zone_id)) == 2


async def test_a_party_class_missed_in_a_quarter_after_a_reminder_to_the_secretary() -> None:
    zone_id = f"ZC-{uuid.uuid4().hex[:6]}"
    async with Bus() as bus, serving(definition) as (rt, http):
        out = await bus.watch(Topic.ACTIVITY_EVENTS.value)
        await zone_ready(bus, rt, zone_id, theme_party_day=15)
        held = [
            meeting(zone_id, "party_members_meeting", at("2026-05-12", 14), [SEC, A, B]),
            # The theme party day on the 16th: the six systems count it, the fixed day (15th) does not.
            meeting(zone_id, "theme_party_day", at("2026-05-16", 9), [SEC, A, B, F]),
        ]
        for m in held:
            await bus.publish("activity.record", m, key=zone_id, time=at("2026-05-20"))
        await out.wait_for(
            lambda es: len(of_type(es, "activity.recorded", zone_id)) == 2, what="two activities"
        )

        # 20 June: ten days before the quarter closes, the 党课 is still missing.
        await tick(bus, at("2026-06-19", 23))
        await tick(bus, at("2026-06-21", 8))
        events = await out.wait_for(
            lambda es: bool(of_type(es, "activity.reminder-due", zone_id)), what="the quarter's reminder"
        )
        (reminder,) = [
            e for e in of_type(events, "activity.reminder-due", zone_id) if e.data["period"] == "2026-Q2"
        ]
        r = reminder.data
        assert (r["rule"], r["required"], r["actual"], r["days_left"]) == ("party_class", 1, 0, 9)
        assert r["secretary_member_ids"] == [SEC] and r["period_closes_on"] == "2026-06-30"
        assert "第十五条" in r["article"]
        await tick(bus, at("2026-06-22", 8))

        # The quarter closes (its end + the grace): the 党课 rule unmet, the 党员大会 met.
        await tick(bus, at("2026-07-02", 0, 30))
        events = await out.wait_for(
            lambda es: any(
                e.data["period"] == "2026-Q2"
                for e in of_type(es, "activity.organisational-life-evaluated", zone_id)
            ),
            what="the quarter's rules",
        )
        quarter = {
            e.data["rule"]: (e.data["required"], e.data["actual"], e.data["met"])
            for e in of_type(events, "activity.organisational-life-evaluated", zone_id)
            if e.data["period"] == "2026-Q2"
        }
        assert quarter == {"party_members_meeting": (1, 1, True), "party_class": (1, 0, False)}
        may = {
            e.data["rule"]: e.data["met"]
            for e in of_type(events, "activity.organisational-life-evaluated", zone_id)
            if e.data["period"] == "2026-05"
        }
        assert may["theme_party_day_on_fixed_day"] is False
        six = {
            e.data["rule"]: e.data["met"]
            for e in of_type(events, "activity.compliance-evaluated", zone_id)
            if e.data["period"] == "2026-05"
        }
        assert six["theme_party_day"] is True
        read = (await http.get(f"/zones/{zone_id}/organisational-life", params={"period": "2026-Q2"})).json()
        assert read["closed"] is True and [x["rule"] for x in read["reminders"]] == ["party_class"]
        assert {x["rule"]: x["met"] for x in read["rules"]} == {
            "party_members_meeting": True,
            "party_class": False,
        }
        # Each reminder once, each close once.
        await tick(bus, at("2026-07-03"))
        events = await out.quiet(0.5)
        assert (
            len(
                [
                    e
                    for e in of_type(events, "activity.reminder-due", zone_id)
                    if e.data["period"] == "2026-Q2"
                ]
            )
            == 1
        )
        assert (
            len(
                [
                    e
                    for e in of_type(events, "activity.organisational-life-evaluated", zone_id)
                    if e.data["period"] == "2026-Q2"
                ]
            )
            == 2
        )
        year = (await http.get("/cadence", params={"year": "2026"})).json()
        tallies = {(t["kind"], t["rule"]): (t["evaluated"], t["met"]) for t in year["rules"]}
        assert tallies[("organisational_life", "party_class")][0] >= 1
