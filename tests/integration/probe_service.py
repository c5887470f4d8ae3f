"""A throwaway service wired through the shared pipeline, to prove the pipeline itself.

It counts inspections per project with a deliberately *non-idempotent* read-modify-write
(counter + 1), so any double processing shows as a wrong count, and answers each one with
an event, so any double emission shows too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.errors import AutoReconnect

from shared.events import Topic
from shared.events.catalog import ProcedureInspected
from shared.pipeline import HandlerContext, Handlers, TransientError
from shared.service import ServiceDefinition
from shared.unit_of_work import Read

handlers = Handlers()
# Test seam: how many times the next inspection with this code fails transiently.
transient_failures: dict[str, int] = {}
# Test seam: the tick hook fails while this holds an error.
tick_failure: list[Exception] = []
ticks: list[tuple[datetime, datetime]] = []
# Test seam: inspections with these codes hit a defect (until the test "ships the fix").
broken_codes: set[str] = set()


def _reads(data: ProcedureInspected) -> list[Read]:
    # Declared for the batch to read at once; the handler reads the same without it.
    return [Read("counters", data.project_id), Read("counters", data.project_id, field="project")]


@handlers.on("quality.procedure-inspected", reads=_reads)
async def on_inspected(ctx: HandlerContext, data: ProcedureInspected) -> None:
    if transient_failures.get(data.procedure_code, 0) > 0:
        transient_failures[data.procedure_code] -= 1
        raise TransientError("injected: store unreachable")
    if data.procedure_code == "store-closes":
        # What FerretDB does on a document it cannot store: it closes the connection, while
        # it answers every other request (its ping too).
        raise AutoReconnect("127.0.0.1:27017: connection closed")
    counter: dict[str, Any] = await ctx.get("counters", data.project_id) or {
        "_id": data.project_id,
        "project": data.project_id,
        "n": 0,
        "codes": [],
    }
    counter = {**counter, "n": counter["n"] + 1, "codes": [*counter["codes"], data.procedure_code]}
    ctx.put("counters", counter)
    if data.procedure_code == "boom" or data.procedure_code in broken_codes:
        raise RuntimeError("a defect in the handler")
    if data.procedure_code == "nan":
        ctx.put("readings", {"_id": ctx.event.id, "lel_pct": float("nan")})
    reasons = [f"probe_seen_{counter['n']}"]
    if data.procedure_code == "query":
        # A query of the store itself (a filter, not ctx.get): alone, it sees the effect of
        # every message before this one — in a batch too.
        stored = await ctx.db["counters"].find_one({"_id": data.project_id, "n": {"$gte": 0}})
        reasons.append(f"probe_stored_{(stored or {}).get('n', 0)}")
    if data.procedure_code == "find":
        # A query of equalities through the context: in a batch it sees what the messages
        # before this one staged, without storing them first (not what this one staged).
        found = await ctx.find("counters", project=data.project_id)
        reasons.append(f"probe_found_{found[0]['n'] if found else 0}")
    ctx.emit(
        "assessment.command-rejected",
        {"command_id": ctx.event.id, "command_type": ctx.event.type, "reasons": reasons},
        key=data.project_id,
    )


@handlers.on_tick
async def on_tick(ctx: HandlerContext, previous: datetime, now: datetime) -> None:
    if tick_failure:
        raise tick_failure[0]
    ticks.append((previous, now))
    ctx.emit(
        "assessment.command-rejected",
        {"command_id": ctx.event.id, "command_type": "tick", "reasons": [f"tick_to_{now.isoformat()}"]},
        key="clock",
    )


definition = ServiceDefinition(
    name="probe",
    title="probe",
    port=8099,
    description="pipeline probe",
    consumes=[Topic.QUALITY, Topic.CLOCK],
    emits=[Topic.ASSESSMENT_EVENTS],
    handlers=handlers,
)
