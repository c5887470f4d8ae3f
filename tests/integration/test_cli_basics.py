"""``pbz`` as a user runs it (the console script) on the real broker: publish checks before
sending, tail reads and filters, status and lag answer, every command explains itself with
``--help`` and an example, and a broker, service or identity provider that is down is one
clear line (never a traceback)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.assessment.app import definition as assessment
from shared.events import Topic
from tests.support import Bus, free_port, listening, pbz, serving

COMMANDS = [
    ["publish"],
    ["tail"],
    ["dlq", "list"],
    ["dlq", "show"],
    ["dlq", "redrive"],
    ["replay"],
    ["lag"],
    ["status"],
    ["token"],
]
DOWN = {"PBZ_KAFKA_BOOTSTRAP": "127.0.0.1:1", "PBZ_MONGO_URL": "mongodb://127.0.0.1:1"}


def inspection(project: str, result: str = "pass") -> str:
    return json.dumps(
        {
            "inspection_id": f"Q-{uuid.uuid4().hex[:6]}",
            "project_id": project,
            "procedure_code": "W-1",
            "result": result,
            "inspected_at": "2026-04-07T09:00:00+08:00",
        }
    )


async def test_every_command_has_help_with_an_example() -> None:
    results = await asyncio.gather(*(pbz(*cmd, "--help") for cmd in COMMANDS))
    for cmd, (rc, out, err) in zip(COMMANDS, results, strict=True):
        assert rc == 0, (cmd, err)
        assert "Example" in out and f"pbz {cmd[0]}" in out.split("Example")[1], cmd


async def test_publish_checks_then_sends_and_tail_reads_it_back() -> None:
    project = f"P-{uuid.uuid4().hex[:6]}"
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    async with Bus() as bus:
        quality = await bus.watch(Topic.QUALITY.value)
        rc, out, err = await pbz(
            "publish",
            "quality.procedure-inspected",
            "--key",
            project,
            "--data",
            inspection(project, "superb"),
        )
        assert rc == 1 and "nothing sent" in err and "data.result" in err
        rc, _, err = await pbz("publish", "quality.procedure-inspectd", "--data", "{}")
        assert rc == 1 and "did you mean quality.procedure-inspected" in err
        rc, out, err = await pbz(
            "publish",
            "quality.procedure-inspected",
            "--key",
            project,
            "--time",
            "2026-04-07T01:00:00+00:00",
            "--data",
            inspection(project),
        )
        assert rc == 0, err
        event_id = out.strip()
        evs = await quality.wait_for(lambda es: any(e.id == event_id for e in es))
        assert not [
            e for e in evs if e.data.get("result") == "superb" and e.data.get("project_id") == project
        ]
        [record] = [r for r in quality.records if json.loads(r.value)["id"] == event_id]
        assert record.key == project.encode()
        assert json.loads(record.value)["traceparent"].startswith("00-")

    rc, out, err = await pbz("tail", "ent.quality", "--since", since, "--idle", "2")
    assert rc == 0, err
    [line] = [x for x in out.splitlines() if project in x]
    assert "quality.procedure-inspected" in line and line.startswith("2026-04-07 09:00:00")  # site time
    rc, out, _ = await pbz(
        "tail", "all", "--since", since, "--type", "quality.procedure-inspected", "--json", "--limit", "1"
    )
    assert rc == 0 and json.loads(out.splitlines()[0])["type"] == "quality.procedure-inspected"
    rc, _, err = await pbz("tail", "ent.nothing")
    assert rc == 2 and "unknown topics" in err


async def test_status_and_lag_answer_with_a_service_up() -> None:
    async with listening(assessment) as (rt, url):
        env = {
            "PBZ_SERVICE_URLS": json.dumps({"assessment": url}),
            "PBZ_INSTANCE_SUFFIX": rt.settings.instance_suffix,
        }
        rc, out, err = await pbz("status", env=env)
        assert rc == 1, err  # the other services are not running here
        [line] = [x for x in out.splitlines() if x.startswith("assessment")]
        assert "ready" in line and "clock events" in line and url in line
        assert "kafka             ok" in out and "mongo             ok" in out
        assert "zone-registry     down" in out
        rc, out, err = await pbz("lag", "--service", "assessment", env=env)
        assert rc == 0, err
        assert f"pbz-assessment{rt.settings.instance_suffix}: lag 0" in out
        assert "pbz.clock" in out


@pytest.mark.parametrize(
    "cmd",
    [
        ["publish", "clock.ticked", "--data", '{"now": "2026-04-07T09:00:00+08:00"}'],
        ["tail", "all", "--idle", "1"],
        ["dlq", "list"],
        ["dlq", "redrive", "--wait", "1"],
        ["lag"],
        ["replay", "assessment", "--from", "1h", "--yes"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
async def test_a_broker_or_service_that_is_down_is_one_clear_line(cmd: list[str]) -> None:
    rc, out, err = await pbz(*cmd, env={**DOWN, "PBZ_PORT_OFFSET": "50000"})
    assert rc == 3, out + err
    assert err.startswith("error: ") and "Traceback" not in err + out
    assert "unreachable" in err or "not answering" in err


async def test_status_with_nothing_running_says_what_is_down() -> None:
    rc, out, err = await pbz("status", env={**DOWN, "PBZ_PORT_OFFSET": "50000"})
    assert rc == 1 and "Traceback" not in out + err
    assert "kafka             unreachable" in out and "mongo             unreachable" in out
    assert out.count(" down: ") == 4


# --------------------------------------------------------------------------- pbz token


async def test_token_for_a_demo_person_from_keycloak_opens_a_route_and_clear_refusals() -> None:
    """``pbz token`` against the real provider (Keycloak, realm pbz): the token it prints is
    accepted by a service; a wrong password and a provider that is not there are refused
    clearly."""
    from services.simulator.realm import DEMO_PASSWORD
    from services.zone_registry.app import definition as zone_registry

    rc, out, err = await pbz("token", "PO0001", "--password", DEMO_PASSWORD)
    assert rc == 0, err
    token = out.strip()
    async with serving(zone_registry, as_=None) as (_, http):
        answer = await http.get("/zones", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        assert (await http.get("/zones")).status_code == 401
    rc, out, err = await pbz("token", "PO0001", "--password", "wrong")
    assert rc == 1 and "no token for PO0001: 401" in err and "Traceback" not in err
    rc, _, err = await pbz(
        "token",
        "PO0001",
        "--password",
        DEMO_PASSWORD,
        env={"PBZ_OIDC_ISSUER": f"http://127.0.0.1:{free_port()}/realms/pbz"},
    )
    assert rc == 3 and "identity provider" in err and "Traceback" not in err
