"""Permit decision latency: the last fact in -> ``permit.issued`` out, at a steady rate.

    PBZ_PORT_OFFSET=... .venv/bin/python -m bench.permit_latency [--permits 250] [--rate 50]

One permit-fasttrack instance (in this process, a fresh group and database) on the local
broker and store. ``permits`` general-work permits are planned over ten zones and signed by
two of their three signers; once the service has caught up, the third signature of each is
sent at ``rate`` per second, and the time from just before that send to the producer
timestamp of its ``permit.issued`` is measured. Prints p50 / p95 / p99 / max, and where the
time goes: from the send to the service's forward of the signature to ``pbz.permit.work`` (the
forward's producer timestamp), and from there to ``permit.issued``. Asserts nothing.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import orjson
import typer

from bench.services import lag, offsets_client
from services.permit_fasttrack.app import definition
from shared.events import Topic
from tests.integration.permit_site import Site, at, tag
from tests.support import Bus, running

ZONES = 10


async def measure(permits: int, rate: float) -> dict[str, float]:
    t = tag()
    async with Bus() as bus, running(definition, log_level="WARNING") as rt:
        out = await bus.watch(Topic.PERMIT_EVENTS.value)
        work = await bus.watch(Topic.PERMIT_WORK.value)
        sites = [Site(bus, out, f"Z-{t}-{z}", f"P-{t}-{z}") for z in range(ZONES)]
        for site in sites:
            await site.start(rt, at(6))
        ids = [f"WP-W{i}-{t}-GW" for i in range(permits)]
        for i in range(permits):
            await sites[i % ZONES].plan(f"W{i}-{t}", [], at(9), at(17), at(7))
        await _caught_up(rt)
        for i, permit in enumerate(ids):
            for role in ("host_rep", "construction_lead"):
                await sites[i % ZONES].sign(permit, role, at(7, 10))
        await _caught_up(rt)
        sent: dict[str, float] = {}
        signatures: dict[str, str] = {}  # permit -> the event id of its last signature
        started = time.perf_counter()
        for i, permit in enumerate(ids):
            await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
            sent[permit] = time.time()
            signatures[permit] = (await sites[i % ZONES].sign(permit, "supervision_engineer", at(7, 20))).id
        issued = await _first_seen(out, _issued_permit, set(ids))
        forwarded = await _first_seen(work, _event_id, set(signatures.values()), timeout=30)
    latencies = sorted(1000 * (issued[p] - sent[p]) for p in ids)
    figures = quantiles(latencies)
    print(
        f"permit decision latency at {rate:.0f}/s over {permits} permits: p50 {figures['p50']:.0f} ms, "
        f"p95 {figures['p95']:.0f} ms, p99 {figures['p99']:.0f} ms, max {figures['max']:.0f} ms "
        f"(load {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    hops = {
        "sent → forwarded to the work topic": [forwarded[signatures[p]] - sent[p] for p in ids],
        "forwarded → permit.issued": [issued[p] - forwarded[signatures[p]] for p in ids],
    }
    for name, seconds in hops.items():
        q = quantiles(sorted(1000 * x for x in seconds))
        print(f"  {name}: p50 {q['p50']:.0f} ms, p95 {q['p95']:.0f} ms, p99 {q['p99']:.0f} ms", flush=True)
    return figures


def quantiles(sorted_ms: list[float]) -> dict[str, float]:
    q = statistics.quantiles(sorted_ms, n=100)
    return {"p50": q[49], "p95": q[94], "p99": q[98], "max": sorted_ms[-1]}


async def _caught_up(rt: object) -> None:
    async with offsets_client() as (admin, ends):
        topics = [t.value for t in rt.topics]  # type: ignore[attr-defined]
        group = rt.settings.group_id(definition.title)  # type: ignore[attr-defined]
        while await lag(admin, ends, group, topics) > 0:  # noqa: ASYNC110 (polling Kafka)
            await asyncio.sleep(0.05)


def _issued_permit(event: dict[str, Any]) -> str | None:
    return event["data"]["permit"]["permit_id"] if event.get("type") == "permit.issued" else None


def _event_id(event: dict[str, Any]) -> str | None:
    return event.get("id")


async def _first_seen(
    watcher: object, key_of: Callable[[dict[str, Any]], str | None], wanted: set[str], timeout: float = 300.0
) -> dict[str, float]:
    """The producer timestamp (s) of the first record on the watched topic whose event has each
    wanted key (``key_of``: a permit issued, an event's id), read once as the records come."""
    deadline = time.monotonic() + timeout
    found: dict[str, float] = {}
    seen = 0
    while len(found) < len(wanted):
        records = watcher.records  # type: ignore[attr-defined]
        for r in records[seen:]:
            key = key_of(orjson.loads(r.value))
            if key in wanted and key not in found:
                found[key] = r.timestamp / 1000
        seen = len(records)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(wanted) - len(found)} of {len(wanted)} not seen in {timeout:.0f} s")
        await asyncio.sleep(0.05)
    return found


def main(permits: int = 250, rate: float = 50.0) -> None:
    asyncio.run(measure(permits, rate))


if __name__ == "__main__":
    typer.run(main)
