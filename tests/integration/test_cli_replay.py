"""``pbz replay`` on the real broker and server: the assessment's store, dropped and rebuilt
from its input topics while it runs, gives the same scores, revisions and ranking as before,
and the service goes on consuming afterwards."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from services.assessment.app import definition
from shared.events import Topic
from tests.integration.test_assessment_flow import RULES, computed, t, zone
from tests.support import Bus, bearer, caught_up, identity, listening, pbz, stored


async def _month(bus: Bus, rt: Any, zones: list[tuple[str, str]]) -> None:
    await bus.publish("clock.ticked", {"now": t(1, 0)}, key="clock")
    for z, p in zones:
        await bus.publish("zone.established", {"zone": zone(z, p)}, key=z)
        await stored(rt, "zones", z)
    for n, (z, p) in enumerate(zones):
        for rule in RULES:
            met = not (n == 1 and rule == "theme_party_day")
            data = {
                "zone_id": z,
                "period": "2026-04",
                "rule": rule,
                "required": 1,
                "actual": int(met),
                "met": met,
            }
            await bus.publish("activity.compliance-evaluated", data, key=z)
        for i in range(3):
            inspection = {
                "inspection_id": f"Q-{z}-{i}",
                "project_id": p,
                "procedure_code": f"W-{i}",
                "result": "excellent" if i else "pass",
                "inspected_at": t(3 + i),
            }
            await bus.publish("quality.procedure-inspected", inspection, key=p)
        for role, unit, score in (
            ("host", f"H-{z}", 95),
            ("construction", f"C-{z}", 90 - n),
            ("management", "M1", 96),
        ):
            evaluation = {
                "evaluation_id": f"E-{z}-{role}",
                "zone_id": z,
                "period": "2026-04",
                "evaluator_unit_id": unit,
                "evaluator_role": role,
                "score": score,
            }
            await bus.publish("evaluation.submit", evaluation, key=z)


def _ranked_at_revision(events: list[Any], zone_id: str) -> bool:
    """A ranking of the period has been published with the zone's latest computed score."""
    latest = computed(events, zone_id)[-1].data["score"]
    return any(
        e.type == "assessment.ranking-published"
        and e.data["period"] == "2026-04"
        and (zone_id, latest) in [(r["zone_id"], r["score"]) for r in e.data["ranking"]]
        for e in events
    )


async def _scores(url: str, zones: list[str]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, headers=await bearer("PO0001")) as http:
        ranked = (await http.get("/assessments", params={"period": "2026-04"})).json()
        history = {z: (await http.get(f"/zones/{z}/assessments")).json()["revisions"] for z in zones}
    return {
        "ranking": [(r["zone_id"], r["score"]) for r in ranked["ranking"] if r["zone_id"] in zones],
        "history": {
            z: [(r["period"], r["revision"], r["score"], r["grade"]) for r in revisions]
            for z, revisions in history.items()
        },
    }


async def test_replay_rebuilds_the_same_scores_and_the_service_goes_on() -> None:
    tag = uuid.uuid4().hex[:6]
    zones = [(f"ZA-{tag}", f"PA-{tag}"), (f"ZB-{tag}", f"PB-{tag}")]
    names = [z for z, _ in zones]
    since = datetime.now(UTC).isoformat()
    async with Bus() as bus, listening(definition) as (rt, url):
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
        await _month(bus, rt, zones)
        # The close comes after the month's facts are in (as on a site, where a month's facts
        # arrive during the month): the first run handles them in the order they were sent.
        await caught_up(rt)
        await bus.publish("clock.ticked", {"now": t(2, 12, month=5)}, key="clock")  # April closes
        await out.wait_for(lambda es: all(computed(es, z) for z in names), what="April assessed")
        late = {
            "inspection_id": f"Q-late-{tag}",
            "project_id": zones[0][1],
            "procedure_code": "W-9",
            "result": "fail",
            "inspected_at": t(29),
        }
        await bus.publish("quality.procedure-inspected", late, key=zones[0][1])
        await out.wait_for(lambda es: len(computed(es, names[0])) == 2, what="revision 2")
        # The ranking follows the revision on its own (a rank-period message keyed by the
        # period), so the scores are read once it shows the revised score.
        await out.wait_for(lambda es: _ranked_at_revision(es, names[0]), what="ranking revised")
        before = await _scores(url, names)
        assert before["history"][names[0]][-1][1] == 2 and len(before["ranking"]) == 2

        # Rebuilding a store needs an operator: the party office is refused, OP0001 is not.
        party_office = {"PBZ_TOKEN": await identity().token("PO0001")}
        args = ("replay", "assessment", "--from", since, "--yes", "--url", url)
        rc, text, err = await pbz(*args, env=party_office)
        assert rc != 0 and "403" in err and "Traceback" not in err, text + err
        operator = {"PBZ_TOKEN": await identity().token("OP0001")}
        rc, text, err = await pbz(*args, env=operator)
        assert rc == 0, text + err
        assert "assessment: replayed" in text and "events/s" in text
        assert "rebuilding from" in err
        replayed = int(text.split("replayed ")[1].split()[0])
        assert replayed >= 2 * (len(RULES) + 3 + 3) + 4  # every fact, zone and tick of the test
        async with httpx.AsyncClient(base_url=url, headers=await bearer("OP0001")) as http:
            status = (await http.get("/ops/replay")).json()
        assert status["state"] == "done" and status["done"] == replayed
        assert await rt.db["processed_events"].count_documents({}) >= replayed - 1
        assert await _scores(url, names) == before

        # Consuming again, from where the rebuild ended: a new late fact makes revision 3.
        late2 = {**late, "inspection_id": f"Q-late2-{tag}", "result": "excellent"}
        await bus.publish("quality.procedure-inspected", late2, key=zones[0][1])
        await out.wait_for(
            lambda es: len({e.data["revision"] for e in computed(es, names[0])}) == 3,
            what="revision 3 after the replay",
        )
        async with httpx.AsyncClient(base_url=url) as http:
            ready = (await http.get("/readyz")).json()
        assert ready["checks"]["replay"] == "ok"


async def test_replay_is_refused_with_a_reason_and_needs_a_start() -> None:
    async with listening(definition) as (_, url):
        rc, _, err = await pbz("replay", "assessment", "--yes", "--url", url)
        assert rc == 2 and "exactly one of --from TIME and --from-beginning" in err
        rc, _, err = await pbz("replay", "assessment", "--from-beginning", "--url", url)
        assert rc == 2 and "--yes" in err  # no terminal to ask on: nothing dropped
        rc, _, err = await pbz("replay", "nowhere", "--from-beginning", "--yes")
        assert rc == 2 and "no service 'nowhere'" in err
    rc, _, err = await pbz("replay", "assessment", "--from-beginning", "--yes", "--url", url)
    assert rc == 3 and "not answering" in err and "Traceback" not in err
