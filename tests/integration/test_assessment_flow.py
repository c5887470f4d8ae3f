"""assessment on the real broker and server: two zones, a month of facts, the close,
a late inspection that makes revision 2, the ranking, and duplicates that change nothing."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.assessment.app import definition
from shared.events import CloudEvent, Topic
from tests.support import Bus, eventually, serving, stored

TZ = ZoneInfo("Asia/Shanghai")
RULES = ("theme_party_day", "joint_meeting", "monthly_analysis", "weekly_meeting", "daily_checkin")


def zone(zone_id: str, project: str) -> dict[str, Any]:
    return {
        "zone_id": zone_id,
        "name": zone_id,
        "mode": "project_cobuild",
        "status": "active",
        "region": "北区",
        "host_unit_id": f"H-{zone_id}",
        "project_ids": [project],
        "units": [
            {"unit_id": f"H-{zone_id}", "name": "采油厂", "role": "host"},
            {"unit_id": f"C-{zone_id}", "name": "油建", "role": "construction"},
            {"unit_id": "M1", "name": "基建中心", "role": "management"},
        ],
        "systems": [],
        "members": [],
        "established_at": "2026-04-01T06:00:00+08:00",
    }


def t(day: int, hh: int = 10, month: int = 4) -> str:
    return datetime(2026, month, day, hh, tzinfo=TZ).isoformat()


def computed(events: list[CloudEvent], zone_id: str) -> list[CloudEvent]:
    return [
        e
        for e in events
        if e.type == "assessment.computed" and e.data["zone_id"] == zone_id and e.data["period"] == "2026-04"
    ]


async def test_a_month_assessed_ranked_and_revised_by_a_late_fact() -> None:
    tag = uuid.uuid4().hex[:6]
    good, hurt = f"ZA-{tag}", f"ZB-{tag}"
    pg, ph = f"PA-{tag}", f"PB-{tag}"
    async with Bus() as bus, serving(definition) as (rt, http):
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
        await bus.publish("clock.ticked", {"now": t(1, 0)}, key="clock")
        for z, p in ((good, pg), (hurt, ph)):
            await bus.publish("zone.established", {"zone": zone(z, p)}, key=z)
            await stored(rt, "zones", z)
        for z, p in ((good, pg), (hurt, ph)):
            for rule in RULES:
                met = not (z == hurt and rule == "theme_party_day")
                await bus.publish(
                    "activity.compliance-evaluated",
                    {
                        "zone_id": z,
                        "period": "2026-04",
                        "rule": rule,
                        "required": 1,
                        "actual": int(met),
                        "met": met,
                    },
                    key=z,
                )
            for i in range(4):
                await bus.publish(
                    "quality.procedure-inspected",
                    {
                        "inspection_id": f"Q-{z}-{i}",
                        "project_id": p,
                        "procedure_code": f"W-{i}",
                        "result": "excellent",
                        "inspected_at": t(3 + i),
                    },
                    key=p,
                )
            await bus.publish(
                "project.milestone-reached",
                {
                    "project_id": p,
                    "milestone": "welded",
                    "planned_date": "2026-04-20",
                    "actual_date": "2026-04-18",
                },
                key=p,
            )
            await bus.publish(
                "improvement.recorded",
                {"project_id": p, "title": "优化", "cost_saved_cny": 100000, "days_saved": 5},
                key=p,
            )
            for role, unit, score in (
                ("host", f"H-{z}", 95),
                ("construction", f"C-{z}", 93),
                ("management", "M1", 96 if z == good else 80),
            ):
                await bus.publish(
                    "evaluation.submit",
                    {
                        "evaluation_id": f"E-{z}-{role}",
                        "zone_id": z,
                        "period": "2026-04",
                        "evaluator_unit_id": unit,
                        "evaluator_role": role,
                        "score": score,
                    },
                    key=z,
                )
        incident = await bus.publish(
            "safety.incident-reported",
            {
                "incident_id": f"I-{tag}",
                "project_id": ph,
                "area": "A",
                "severity": "minor",
                "kind": "injury",
                "occurred_at": t(10),
                "description": "轻伤",
            },
            key=ph,
        )
        await bus.publish(
            "safety.incident-reported",
            {
                "incident_id": f"N-{tag}",
                "project_id": pg,
                "area": "A",
                "severity": "near_miss",
                "kind": "equipment",
                "occurred_at": t(11),
                "description": "未遂",
            },
            key=pg,
        )

        # The running period can be read live, explained (once the incident is in: a busy
        # machine may take longer than any quiet spell to handle it).
        async def live_with_the_incident() -> Any:
            body = (await http.get(f"/zones/{hurt}/live", params={"period": "2026-04"})).json()
            return body if "1 minor" in body["explanation"]["safety"] else None

        live = await eventually(
            live_with_the_incident, timeout=60, what="the incident in the live assessment"
        )
        assert live["indicators"]["safety"]["score"] == 80.0
        assert "1 minor" in live["explanation"]["safety"]

        await bus.publish("clock.ticked", {"now": t(2, 11, month=5)}, key="clock")  # end + 35 h: not yet
        await bus.publish("clock.ticked", {"now": t(2, 12, month=5)}, key="clock")  # end + 36 h: closed
        events = await out.wait_for(
            lambda es: any(
                e.type == "assessment.ranking-published" and e.data["period"] == "2026-04" for e in es
            ),
            what="the ranking",
        )
        [a] = computed(events, good)
        [b] = computed(events, hurt)
        assert a.data["revision"] == 1 and b.data["revision"] == 1
        assert a.data["indicators"]["safety"]["score"] == 100.0  # near misses do not count
        assert b.data["indicators"]["safety"]["score"] == 80.0
        assert b.data["indicators"]["party_building"]["score"] == 80.0
        assert a.data["indicators"]["quality"]["score"] == 100.0
        assert a.data["evaluation"]["score"] == 95.0  # (95 + 93) / 2 × 0.5 + 96 × 0.5
        assert a.data["score"] == 98.5 and a.data["grade"] == "excellent"
        [ranking] = [
            e for e in events if e.type == "assessment.ranking-published" and e.data["period"] == "2026-04"
        ]
        assert [r["zone_id"] for r in ranking.data["ranking"]] == [good, hurt]
        assert ranking.data["revision"] == 1

        # A late inspection for the closed month: a new revision, never a silent change.
        await bus.publish(
            "quality.procedure-inspected",
            {
                "inspection_id": f"Q-late-{tag}",
                "project_id": pg,
                "procedure_code": "W-9",
                "result": "fail",
                "inspected_at": t(29),
            },
            key=pg,
        )
        events = await out.wait_for(lambda es: len(computed(es, good)) == 2, what="revision 2")
        revised = computed(events, good)[1]
        assert revised.data["revision"] == 2
        assert revised.data["indicators"]["quality"]["figures"] == {
            "inspected": 5,
            "excellent": 4,
            "pass": 0,
            "fail": 1,
        }
        assert revised.data["indicators"]["quality"]["score"] == 80.0

        # Duplicates change nothing.
        await bus.resend(incident, key=ph)
        await bus.publish(
            "quality.procedure-inspected",
            {
                "inspection_id": f"Q-late-{tag}",
                "project_id": pg,
                "procedure_code": "W-9",
                "result": "fail",
                "inspected_at": t(29),
            },
            key=pg,
        )
        await bus.publish("clock.ticked", {"now": t(3, 12, month=5)}, key="clock")
        events = await out.quiet(0.6)
        assert len(computed(events, good)) == 2 and len(computed(events, hurt)) == 1
        history = (await http.get(f"/zones/{good}/assessments")).json()
        assert [(r["period"], r["revision"]) for r in history["revisions"] if r["period"] == "2026-04"] == [
            ("2026-04", 1),
            ("2026-04", 2),
        ]
        ranked = (await http.get("/assessments", params={"period": "2026-04"})).json()
        assert ranked["closed"] and [r["zone_id"] for r in ranked["ranking"]] == [good, hurt]


async def test_evaluations_that_make_no_sense_are_refused() -> None:
    z = f"ZE-{uuid.uuid4().hex[:6]}"
    async with Bus() as bus, serving(definition) as (rt, _):
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
        await bus.publish("zone.established", {"zone": zone(z, "P-x")}, key=z)
        await stored(rt, "zones", z)
        base = {
            "evaluation_id": "E",
            "zone_id": z,
            "period": "2026-04",
            "evaluator_unit_id": f"H-{z}",
            "evaluator_role": "host",
            "score": 90,
        }
        await bus.publish("evaluation.submit", base, key=z)
        cases = {
            "duplicate_evaluation": base,
            "score_out_of_range": {
                **base,
                "evaluator_role": "construction",
                "evaluator_unit_id": f"C-{z}",
                "score": 101,
            },
            "evaluator_role_mismatch": {
                **base,
                "evaluator_role": "management",
                "evaluator_unit_id": f"H-{z}",
            },
            "unknown_evaluator_role": {**base, "evaluator_role": "mayor"},
            "unknown_zone": {**base, "zone_id": "Z-404"},
        }
        sent = {code: await bus.publish("evaluation.submit", data, key=z) for code, data in cases.items()}
        events = await out.wait_for(
            lambda es: len([e for e in es if e.type == "assessment.command-rejected"]) == len(cases)
        )
        got = {
            e.data["command_id"]: e.data["reasons"] for e in events if e.type == "assessment.command-rejected"
        }
        for code, cmd in sent.items():
            assert code in got[cmd.id], (code, got[cmd.id])
