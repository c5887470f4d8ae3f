"""Traces across services on the real broker: the trace context rides in the CloudEvents
distributed-tracing extension, so a permit's trace runs from ``work.planned`` (published with
``pbz``) through permit-fasttrack to ``permit.issued`` and on into the assessment; with
tracing off the context is still carried, and no span is made."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.assessment.app import definition as assessment
from services.permit_fasttrack.app import definition as permit_fasttrack
from services.permit_fasttrack.domain import permit_id_for
from shared import tracing
from shared.events import CloudEvent, Topic, make_event, new_event_id
from tests.integration import probe_service
from tests.integration.permit_site import ROLES, Site, at, checkin, gas, of, work, zone
from tests.integration.test_pipeline import answers, inspection
from tests.support import Bus, eventually, pbz, person, running, serving, stored


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    try:
        yield exporter
    finally:
        tracing.use(None)


def trace_of(event: CloudEvent) -> str | None:
    return tracing.trace_id((event.model_extra or {}).get("traceparent"))


async def _sign(
    bus: Bus, permit_id: str, zone_id: str, area: str, request: CloudEvent, when: datetime
) -> None:
    """A signer answers the request for their signature, continuing its trace; the command names
    its actor (the signer) and the host representative signs on site."""
    role = request.data["role"]
    presence = {"site_presence": area} if role == "host_rep" else {}
    command = make_event(
        id=new_event_id(),
        type="permit.sign",
        source="test/terminal",
        time=when,
        subject=zone_id,
        data={
            "permit_id": permit_id,
            "member_id": ROLES[role],
            "role": role,
            "decision": "approve",
            "signed_at": when.isoformat(),
            **presence,
        },
        extensions={**tracing.carried(request.model_extra or {}), **person(ROLES[role]).extension()},
    )
    await bus.send_raw(Topic.PERMIT_COMMANDS.value, command.to_json(), zone_id)


async def test_a_permits_trace_runs_from_work_planned_to_permit_issued(spans: InMemorySpanExporter) -> None:
    tag = uuid.uuid4().hex[:6]
    zone_id, project, area, work_id = f"Z-{tag}", f"P-{tag}", "A", f"W-{tag}"
    permit_id = permit_id_for(work_id, "hot_work")
    async with Bus() as bus, serving(permit_fasttrack) as (rt, _), running(assessment) as assess:
        out = await bus.watch(Topic.PERMIT_EVENTS.value)
        plans = await bus.watch(Topic.PROJECTS.value)
        await bus.publish("clock.ticked", {"now": at(6).isoformat()}, key="clock")
        await bus.publish("zone.established", {"zone": zone(zone_id, project)}, key=zone_id, time=at(6))
        await stored(rt, "zones", zone_id)
        await stored(assess, "zones", zone_id)
        await bus.publish("activity.recorded", checkin(zone_id, at(7, 40)), key=zone_id, time=at(7, 40))
        await bus.publish("clock.ticked", {"now": at(8, 40).isoformat()}, key="clock")
        await bus.publish("safety.gas-test-recorded", gas(f"G-{tag}", project, area, at(8, 45)), key=project)
        await stored(rt, "gas_tests", f"G-{tag}")
        await stored(rt, "checkins", f"{zone_id}|{at(9).date().isoformat()}")

        # The enterprise's work plan, sent with the command line: it starts the trace.
        data = work(work_id, project, area, ["hot_work"], at(9), at(17))
        rc, printed, err = await pbz(
            "publish",
            "work.planned",
            "--key",
            project,
            "--time",
            at(8, 46).isoformat(),
            "--data",
            json.dumps(data),
        )
        assert rc == 0, err
        planned_id = printed.strip()
        evs = await plans.wait_for(lambda es: any(e.id == planned_id for e in es), what="work.planned")
        [planned] = [e for e in evs if e.id == planned_id]
        trace = trace_of(planned)
        assert trace is not None and f"trace {trace}" in err

        events = await out.wait_for(lambda es: len(of(es, permit_id, "permit.signature-requested")) == 4)
        requests = of(events, permit_id, "permit.signature-requested")
        assert {trace_of(e) for e in requests} == {trace}
        # GB 30871-2022 before issue: the guardian named and on site, the briefing, the ticket check.
        await Site(bus, out, zone_id, project, area).prepare(permit_id, at(8, 48))
        for request in requests:
            await _sign(bus, permit_id, zone_id, area, request, at(8, 50))
        events = await out.wait_for(lambda es: bool(of(es, permit_id, "permit.issued")), what="issued")
        [issued] = of(events, permit_id, "permit.issued")
        assert trace_of(issued) == trace  # the trace id from work.planned, on permit.issued

        # The spans: permit-fasttrack handled the plan and the signatures, the assessment the issue.
        def names() -> set[str]:
            return {s.name for s in spans.get_finished_spans() if f"{s.context.trace_id:032x}" == trace}

        await eventually(lambda: "assessment process permit.issued" in names(), what="the assessment's span")
        assert {
            "permit-fasttrack process work.planned",
            "permit-fasttrack process permit.sign",
            "assessment process permit.requested",
        } <= names()
        [first] = [
            s
            for s in spans.get_finished_spans()
            if s.name == "permit-fasttrack process work.planned"
            and s.attributes
            and s.attributes["cloudevents.event_id"] == planned_id
        ]
        assert (
            first.parent is not None
            and f"{first.parent.span_id:016x}" == planned.model_extra["traceparent"].split("-")[2]
        )


async def test_with_tracing_off_the_context_is_carried_and_no_span_is_made() -> None:
    assert not tracing.enabled()
    project = f"P-{uuid.uuid4().hex[:6]}"
    traceparent = tracing.new_traceparent()
    async with Bus() as bus, running(probe_service.definition):
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
        cause = make_event(
            type="quality.procedure-inspected",
            source="test",
            time=at(9),
            data=inspection(project),
            extensions={"traceparent": traceparent, "tracestate": "pbz=1"},
        )
        await bus.send_raw(Topic.QUALITY.value, cause.to_json(), project)
        evs = await out.wait_for(lambda es: bool(answers(es, cause)))
        [answer] = answers(evs, cause)
        assert answer.model_extra == {"traceparent": traceparent, "tracestate": "pbz=1"}


async def test_an_http_callers_traceparent_goes_on_the_command() -> None:
    traceparent = tracing.new_traceparent()
    async with Bus() as bus, serving(assessment) as (_, http):
        commands = await bus.watch(Topic.ASSESSMENT_COMMANDS.value)
        body = {
            "evaluation_id": f"E-{uuid.uuid4().hex[:6]}",
            "zone_id": "Z-1",
            "period": "2026-04",
            "evaluator_unit_id": "M1",
            "evaluator_role": "management",
            "score": 90,
        }
        answer = await http.post("/evaluations", json=body, headers={"traceparent": traceparent})
        assert answer.status_code == 202
        command_id = answer.json()["command_id"]
        evs = await commands.wait_for(lambda es: any(e.id == command_id for e in es))
        [command] = [e for e in evs if e.id == command_id]
        assert (command.model_extra or {}).get("traceparent") == traceparent
