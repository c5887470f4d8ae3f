"""activity-log on the real broker and server: a month of activities, the month closed by
ticks, restarts and replays that emit nothing new, and every refusal reason."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.activity_log.app import definition
from shared.events import CloudEvent, Topic
from tests.support import Bus, eventually, running, serving, stored

TZ = ZoneInfo("Asia/Shanghai")
MEMBERS = [
    {
        "member_id": f"M{i}",
        "name": f"党员{i}",
        "home_branch": "某支部",
        "employer_unit_id": "H1",
        "employment": "staff",
        "zone_role": role,
    }
    for i, role in enumerate(["secretary", "host_rep", "member"], start=1)
]


def snapshot(zone_id: str, status: str = "active") -> dict[str, Any]:
    return {
        "zone_id": zone_id,
        "name": f"协作区{zone_id}",
        "mode": "project_cobuild",
        "status": status,
        "region": "北区",
        "host_unit_id": "H1",
        "project_ids": ["P1"],
        "units": [{"unit_id": "H1", "name": "采油一厂", "role": "host"}],
        "systems": ["daily_checkin"],
        "members": MEMBERS,
        "established_at": "2026-04-01T00:00:00+08:00",
    }


def activity(
    zone_id: str, kind: str, day: date, hh: int, slot: str | None = None, **extra: Any
) -> dict[str, Any]:
    start = datetime(day.year, day.month, day.day, hh, tzinfo=TZ)
    data: dict[str, Any] = {
        "activity_id": f"A-{zone_id}-{day.isoformat()}-{kind}-{slot or hh}",
        "zone_id": zone_id,
        "kind": kind,
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(minutes=30)).isoformat(),
        "location": "项目部",
        "topic": kind,
        "organizer_member_id": "M1",
        "attendee_member_ids": ["M1", "M2", "M3"],
    }
    if slot:
        data["slot"] = slot
    data.update(extra)
    return data


def compliance(events: list[CloudEvent], zone_id: str) -> dict[str, tuple[int, int, bool]]:
    return {
        e.data["rule"]: (e.data["required"], e.data["actual"], e.data["met"])
        for e in events
        if e.type == "activity.compliance-evaluated" and e.data["zone_id"] == zone_id
    }


async def tick(bus: Bus, when: str) -> None:
    await bus.publish("clock.ticked", {"now": when}, key="clock")


async def test_a_month_closed_by_ticks_is_evaluated_exactly_once() -> None:
    zone_id = f"Z-{uuid.uuid4().hex[:6]}"
    suffix = f"_t{uuid.uuid4().hex[:8]}"
    april = [date(2026, 4, d) for d in range(1, 31)]
    async with Bus() as bus:
        out = await bus.watch(Topic.ACTIVITY_EVENTS.value)
        async with serving(definition, suffix=suffix, drop=False) as (rt, http):
            await tick(bus, "2026-03-31T23:00:00+08:00")
            await bus.publish(
                "zone.established",
                {"zone": snapshot(zone_id)},
                key=zone_id,
                time=datetime(2026, 4, 1, tzinfo=TZ),
            )
            await stored(rt, "zones", zone_id)
            acts = []
            for d in april:
                if d.weekday() < 6:
                    acts += [
                        activity(zone_id, "daily_checkin", d, 7, "morning"),
                        activity(zone_id, "daily_checkin", d, 17, "evening"),
                    ]
                if d.weekday() == 3 and d.day != 16:  # no weekly meeting in the week of 16 April
                    acts.append(activity(zone_id, "weekly_meeting", d, 16))
            acts.append(
                activity(
                    zone_id,
                    "joint_meeting",
                    date(2026, 4, 2),
                    10,
                    problems_raised=[{"problem_id": f"PR-{zone_id}", "title": "占道"}],
                )
            )
            acts.append(
                activity(
                    zone_id, "monthly_analysis", date(2026, 4, 30), 15, problems_resolved=[f"PR-{zone_id}"]
                )
            )
            for a in acts:
                await bus.publish("activity.record", a, key=zone_id)
            await out.wait_for(
                lambda es: len([e for e in es if e.type == "activity.recorded"]) == len(acts),
                what="every activity recorded",
            )
            await tick(bus, "2026-05-01T23:59:00+08:00")  # end + grace not yet passed
            await tick(bus, "2026-05-02T00:00:00+08:00")
            events = await out.wait_for(lambda es: len(compliance(es, zone_id)) == 5, what="five evaluations")
            assert compliance(events, zone_id) == {
                "theme_party_day": (1, 0, False),
                "joint_meeting": (1, 1, True),
                "monthly_analysis": (1, 1, True),
                "weekly_meeting": (5, 4, False),
                "daily_checkin": (52, 52, True),
            }
            assert [e.type for e in events].count("problem.raised") == 1
            assert [e.type for e in events].count("problem.resolved") == 1
            read = (await http.get(f"/zones/{zone_id}/compliance", params={"period": "2026-04"})).json()
            assert (
                read["closed"] is True
                and {r["rule"]: r["met"] for r in read["rules"]}["weekly_meeting"] is False
            )
            problems = (await http.get(f"/zones/{zone_id}/problems")).json()
            assert problems["resolved"][0]["hours_to_resolve"] == 28 * 24 + 5
            attendance = (await http.get("/members/M2/attendance")).json()
            assert attendance["activities"] == len(acts) and attendance["by_kind"]["weekly_meeting"] == 4
            page = (
                await http.get(
                    f"/zones/{zone_id}/activities", params={"kind": "weekly_meeting", "page_size": 2}
                )
            ).json()
            assert page["total"] == 4 and len(page["items"]) == 2
            # The same activity again: one record, one event.
            await bus.publish("activity.record", acts[0], key=zone_id)
        # Restarted, the ticks replayed: nothing new.
        async with running(definition, suffix=suffix) as rt:
            await tick(bus, "2026-05-02T00:00:00+08:00")
            await tick(bus, "2026-05-03T00:00:00+08:00")
            await bus.publish(
                "activity.record", activity(zone_id, "other", date(2026, 4, 30), 20), key=zone_id
            )
            await out.wait_for(
                lambda es: any(e.type == "activity.recorded" and e.data["kind"] == "other" for e in es)
            )
            events = await out.quiet(0.5)
            assert len([e for e in events if e.type == "activity.compliance-evaluated"]) == 5
            assert len([e for e in events if e.type == "activity.recorded"]) == len(acts) + 1
            assert await rt.db["evaluations"].count_documents({}) == 1


async def test_each_refusal_reason_reaches_activity_rejected() -> None:
    zone_id = f"Z-{uuid.uuid4().hex[:6]}"
    proposed = f"Z-{uuid.uuid4().hex[:6]}"
    day = date(2026, 4, 2)
    async with Bus() as bus, running(definition) as rt:
        out = await bus.watch(Topic.ACTIVITY_EVENTS.value)
        await tick(bus, "2026-04-02T06:00:00+08:00")
        await bus.publish(
            "zone.established", {"zone": snapshot(zone_id)}, key=zone_id, time=datetime(2026, 4, 1, tzinfo=TZ)
        )
        await bus.publish(
            "zone.established",
            {"zone": snapshot(proposed, "proposed")},
            key=proposed,
            time=datetime(2026, 4, 1, tzinfo=TZ),
        )
        await stored(rt, "zones", zone_id)
        await stored(rt, "zones", proposed)
        await tick(bus, "2026-04-02T08:00:00+08:00")
        cases = {
            "unknown_zone": activity("Z-404", "weekly_meeting", day, 9),
            "zone_not_active": activity(proposed, "weekly_meeting", day, 9),
            "attendee_not_on_roster": activity(
                zone_id, "weekly_meeting", day, 9, attendee_member_ids=["M1", "M99"]
            ),
            "organizer_not_on_roster": activity(zone_id, "joint_meeting", day, 9, organizer_member_id="M99"),
            "ends_before_start": activity(
                zone_id, "monthly_analysis", day, 9, ended_at="2026-04-02T08:00:00+08:00"
            ),
            "starts_in_future": activity(zone_id, "theme_party_day", date(2026, 4, 4), 9),
            "checkin_slot_missing": activity(zone_id, "daily_checkin", day, 9),
            "unknown_kind": activity(zone_id, "karaoke", day, 9),
            "unknown_problem": activity(zone_id, "other", day, 9, problems_resolved=["PR-404"]),
        }
        for a in cases.values():
            await bus.publish("activity.record", a, key=a["zone_id"], time=datetime(2026, 4, 2, 8, tzinfo=TZ))
        events = await out.wait_for(
            lambda es: len([e for e in es if e.type == "activity.rejected"]) == len(cases), what="refusals"
        )
        got = {e.data["activity_id"]: e.data["reasons"] for e in events if e.type == "activity.rejected"}
        for code, a in cases.items():
            assert got[a["activity_id"]] == [code], (code, got[a["activity_id"]])
        assert not [e for e in events if e.type == "activity.recorded"]


async def test_a_zone_with_its_own_requirement_is_judged_by_it_live_and_at_the_close() -> None:
    tag = uuid.uuid4().hex[:6]
    plain, strict = f"Z-{tag}-plain", f"Z-{tag}-strict"
    overrides = {strict: {"weekly_meetings_per_week": 2}}
    async with Bus() as bus, serving(definition, cadence_zone_overrides=overrides) as (rt, http):
        out = await bus.watch(Topic.ACTIVITY_EVENTS.value)
        await tick(bus, "2026-03-31T23:00:00+08:00")
        for zone_id in (plain, strict):
            await bus.publish(
                "zone.established",
                {"zone": snapshot(zone_id)},
                key=zone_id,
                time=datetime(2026, 4, 1, tzinfo=TZ),
            )
            await stored(rt, "zones", zone_id)
        meetings = [
            activity(zone_id, "weekly_meeting", d, 16)
            for zone_id in (plain, strict)
            for d in (date(2026, 4, day) for day in (2, 9, 16, 23, 30))
        ]
        for a in meetings:
            await bus.publish("activity.record", a, key=a["zone_id"])
        await out.wait_for(
            lambda es: len([e for e in es if e.type == "activity.recorded"]) == len(meetings),
            what="every meeting recorded",
        )
        await tick(bus, "2026-04-30T20:00:00+08:00")
        evening = datetime(2026, 4, 30, 20, tzinfo=TZ)
        await eventually(lambda: rt.clock.now() >= evening, what="the service's clock at the tick")

        async def weekly_live(zone_id: str) -> dict[str, Any]:
            read = (await http.get(f"/zones/{zone_id}/compliance", params={"period": "2026-04"})).json()
            assert read["closed"] is False
            return next(r for r in read["rules"] if r["rule"] == "weekly_meeting")

        assert (await weekly_live(plain))["met"] is True
        assert (await weekly_live(strict))["met"] is False and (await weekly_live(strict))["actual"] == 0

        await tick(bus, "2026-05-02T00:00:00+08:00")
        events = await out.wait_for(
            lambda es: len(compliance(es, plain)) == 5 and len(compliance(es, strict)) == 5,
            what="both zones evaluated",
        )
        assert compliance(events, plain)["weekly_meeting"] == (5, 5, True)
        assert compliance(events, strict)["weekly_meeting"] == (5, 0, False)
