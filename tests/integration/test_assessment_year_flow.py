"""assessment on the real broker and server (issue 19): a reclassified incident lowers a closed
month's score with a new revision and a new ranking, both with the reason; a zone without data
is ``no_data`` (never 100 / excellent) and listed beside the ranking; an inspection corrected
before it is heard of waits for it; the quarter and the year rolled up per zone, host unit and
region; the year-end report with each figure's provenance."""

from __future__ import annotations

import uuid
from typing import Any

from services.assessment.app import definition
from shared.events import CloudEvent, Topic
from tests.integration.test_assessment_flow import RULES, t, zone
from tests.support import Bus, serving, stored


def of(events: list[CloudEvent], kind: str, zone_id: str, period: str = "2026-04") -> list[CloudEvent]:
    return [
        e
        for e in events
        if e.type == kind and e.data.get("zone_id") == zone_id and e.data["period"] == period
    ]


def rankings(events: list[CloudEvent], period: str = "2026-04") -> list[CloudEvent]:
    return [e for e in events if e.type == "assessment.ranking-published" and e.data["period"] == period]


async def month_of_facts(bus: Bus, z: str, p: str, tag: str) -> None:
    """Every rule met, two excellent inspections, a minor incident: 80 for safety."""
    for rule in RULES:
        await bus.publish(
            "activity.compliance-evaluated",
            {"zone_id": z, "period": "2026-04", "rule": rule, "required": 1, "actual": 1, "met": True},
            key=z,
        )
    for i in range(2):
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
        "safety.incident-reported",
        {
            "incident_id": f"I-{z}",
            "project_id": p,
            "area": "A",
            "severity": "minor",
            "kind": "injury",
            "occurred_at": t(10),
            "description": "轻伤",
        },
        key=p,
    )
    await bus.publish(
        "improvement.recorded",
        {
            "project_id": p,
            "title": "胶粘挂网",
            "cost_saved_cny": 50000,
            "days_saved": 3,
            "improvement_id": f"IMP-{z}",
            "method_before": "砸皮露砖",
            "method_after": "胶粘挂网",
            "cost_before_cny": 120000,
            "cost_after_cny": 70000,
            "days_before": 10,
            "days_after": 7,
        },
        key=p,
    )


async def close_april(bus: Bus) -> None:
    await bus.publish("clock.ticked", {"now": t(2, 12, month=5)}, key="clock")  # end + 36 h


async def three_zones(bus: Bus, rt: Any, tag: str) -> tuple[str, str, str, str, str]:
    """Two zones with a month of facts (host units apart), one with nothing at all."""
    a, b, empty = f"ZA-{tag}", f"ZB-{tag}", f"ZN-{tag}"
    pa, pb = f"PA-{tag}", f"PB-{tag}"
    await bus.publish("clock.ticked", {"now": t(1, 0)}, key="clock")
    for z, p in ((a, pa), (b, pb), (empty, f"PN-{tag}")):
        await bus.publish("zone.established", {"zone": zone(z, p)}, key=z)
        await stored(rt, "zones", z)
    await month_of_facts(bus, a, pa, tag)
    await month_of_facts(bus, b, pb, tag)
    for z in (a, b):  # every fact of April heard of before April closes
        for fact_id in (f"incident:I-{z}", f"quality:Q-{z}-0", f"quality:Q-{z}-1"):
            await stored(rt, "facts", fact_id)
        for rule in RULES:
            await stored(rt, "facts", f"compliance:{z}:2026-04:{rule}")
    return a, b, empty, pa, pb


async def test_a_reclassified_incident_lowers_a_closed_months_score_with_a_new_revision_and_ranking() -> None:
    tag = uuid.uuid4().hex[:6]
    async with Bus() as bus, serving(definition) as (rt, http):
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
        a, b, empty, pa, _ = await three_zones(bus, rt, tag)
        await close_april(bus)
        events = await out.wait_for(lambda es: len(rankings(es)) == 1, what="the first ranking")
        [first_a] = of(events, "assessment.computed", a)
        [first_b] = of(events, "assessment.computed", b)
        # party building 100, safety 80 (a minor incident), quality 100; nothing else to measure
        assert first_a.data["score"] == first_b.data["score"] == 93.33
        [ranking] = rankings(events)
        assert ranking.data["revision"] == 1 and ranking.data["reason"] == "period_closed"
        assert [r["rank"] for r in ranking.data["ranking"]] == [1, 1]

        # The HSE system reclassifies A's incident, minor → fatal, two weeks after the close.
        await bus.publish(
            "safety.incident-reclassified",
            {
                "incident_id": f"I-{a}",
                "project_id": pa,
                "severity": "fatal",
                "previous_severity": "minor",
                "reason": "伤者医治无效",
                "reclassified_at": t(15, month=5),
            },
            key=pa,
        )
        events = await out.wait_for(lambda es: len(rankings(es)) == 2, what="the ranking's revision 2")
        [_, revised] = of(events, "assessment.computed", a)
        assert revised.data["revision"] == 2
        assert revised.data["reason"] == "incident_reclassified"
        assert revised.data["caused_by"].startswith(f"reclassified:I-{a}:")
        assert revised.data["indicators"]["safety"]["score"] == 0.0
        assert revised.data["score"] == 66.67 and revised.data["grade"] == "pass"
        assert revised.data["previous_score"] == first_a.data["score"]
        assert len(of(events, "assessment.computed", b)) == 1  # B untouched
        second = rankings(events)[1]
        assert second.data["revision"] == 2 and second.data["reason"] == "incident_reclassified"
        assert [r["zone_id"] for r in second.data["ranking"]] == [b, a]
        assert second.data["no_data"] == [empty]
        # The same reclassification again changes nothing.
        await bus.publish(
            "safety.incident-reclassified",
            {
                "incident_id": f"I-{a}",
                "project_id": pa,
                "severity": "fatal",
                "reason": "伤者医治无效",
                "reclassified_at": t(15, month=5),
            },
            key=pa,
        )
        events = await out.quiet(0.6)
        assert len(of(events, "assessment.computed", a)) == 2 and len(rankings(events)) == 2

        history = (await http.get(f"/zones/{a}/assessments")).json()["revisions"]
        april = [r for r in history if r["period"] == "2026-04"]
        assert [(r["revision"], r["reason"]) for r in april] == [
            (1, "period_closed"),
            (2, "incident_reclassified"),
        ]
        assert april[1]["previous_score"] == first_a.data["score"]
        ranked = (await http.get("/assessments", params={"period": "2026-04"})).json()
        assert ranked["revision"] == 2 and ranked["reason"] == "incident_reclassified"
        assert [r["zone_id"] for r in ranked["ranking"]] == [b, a]
        assert [n["zone_id"] for n in ranked["no_data"]] == [empty]


async def test_a_zone_without_data_is_no_data_and_the_year_rolls_up() -> None:
    tag = uuid.uuid4().hex[:6]
    async with Bus() as bus, serving(definition) as (rt, http):
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
        a, b, empty, _, pb = await three_zones(bus, rt, tag)
        # B's second inspection is corrected to a fail before the inspection itself is heard of.
        await bus.publish(
            "quality.inspection-corrected",
            {
                "inspection_id": f"Q-late-{b}",
                "project_id": pb,
                "result": "fail",
                "previous_result": "excellent",
                "reason": "复检不合格",
                "corrected_at": t(20),
            },
            key=pb,
        )
        await bus.publish(
            "quality.procedure-inspected",
            {
                "inspection_id": f"Q-late-{b}",
                "project_id": pb,
                "procedure_code": "W-9",
                "result": "excellent",
                "inspected_at": t(12),
            },
            key=pb,
        )
        await stored(rt, "facts", f"quality:Q-late-{b}")
        await close_april(bus)
        events = await out.wait_for(lambda es: len(rankings(es)) == 1, what="the ranking")
        [nothing] = of(events, "assessment.no-data", empty)
        assert nothing.data["no_data"] == "no_facts" and nothing.data["revision"] == 1
        assert not of(events, "assessment.computed", empty)  # never 100 / excellent
        [qb] = of(events, "assessment.computed", b)
        assert qb.data["indicators"]["quality"]["figures"]["fail"] == 1  # the correction applied
        [ranking] = rankings(events)
        assert empty not in [r["zone_id"] for r in ranking.data["ranking"]]
        assert ranking.data["no_data"] == [empty]

        # A late "2+1" rating for the closed month: a new revision with its reason.
        await bus.publish(
            "evaluation.submit",
            {
                "evaluation_id": f"E-{a}",
                "zone_id": a,
                "period": "2026-04",
                "evaluator_unit_id": "M1",
                "evaluator_role": "management",
                "score": 90,
            },
            key=a,
        )
        events = await out.wait_for(
            lambda es: len(of(es, "assessment.computed", a)) == 2, what="a's revision 2"
        )
        late = of(events, "assessment.computed", a)[1]
        assert (
            late.data["reason"] == "late_evaluation" and late.data["caused_by"] == f"{a}|2026-04|management"
        )
        assert late.data["evaluation"]["management"] == 90 and late.data["evaluation_missing"]

        history = (await http.get(f"/zones/{empty}/assessments")).json()["revisions"]
        assert [(r["status"], r["score"], r["grade"]) for r in history if r["period"] == "2026-04"] == [
            ("no_data", None, None)
        ]

        by_zone = (await http.get("/rollups", params={"level": "zone", "period": "2026-Q2"})).json()
        mine = {r["key"]: r for r in by_zone["rollups"] if r["key"] in (a, b, empty)}
        assert mine[empty]["status"] == "no_data" and mine[empty]["score"] is None
        assert mine[empty]["months_no_data"] == 1
        assert mine[a]["score"] == 93.33 and mine[a]["months_scored"] == 1
        assert mine[b]["score"] == 82.22  # quality 2 of 3 excellent after the correction
        assert mine[a]["figures"]["safety.minor"] == 1.0
        hosts = (await http.get("/rollups", params={"level": "host_unit", "period": "2026"})).json()
        mine_h = {r["key"]: r for r in hosts["rollups"] if r["key"] in (f"H-{a}", f"H-{b}", f"H-{empty}")}
        assert mine_h[f"H-{empty}"]["status"] == "no_data" and mine_h[f"H-{empty}"]["zones_scored"] == 0
        assert mine_h[f"H-{a}"]["score"] == mine[a]["score"]
        bad = await http.get("/rollups", params={"level": "host_unit", "period": "2026-04"})
        assert bad.status_code == 422

        report = (await http.get("/reports/year-end", params={"year": "2026"})).json()
        sections = {s["name"]: s for s in report["sections"]}
        assert list(sections) == [
            "coverage",
            "zones_and_members",
            "cadence",
            "permits",
            "safety",
            "quality",
            "benefit",
            "ranking",
        ]
        assert sections["safety"]["figures"]["minor"]["value"] >= 2
        assert sections["safety"]["figures"]["minor"]["provenance"] == "measured"
        derived = sections["benefit"]["figures"]["cost_saved.derived"]
        assert derived["provenance"] == "derived" and derived["value"] >= 100000
        assert "benefit.cost_saved.derived (derived)" in report["not_measured"]
        assert empty in report["no_data_zones"]
        assert {a, b} <= {r["zone_id"] for r in report["ranking"]}
