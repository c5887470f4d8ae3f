"""The floor under the played month: what one lock-step wait costs when nothing is to be done.

    PBZ_PORT_OFFSET=... .venv/bin/python -m bench.step_floor [--waits 150] [--steps 1660]

The demo month plays in lock-step (``services/simulator/catch_up.py``): after each step's
actions and after each tick, the simulator waits until every service's consumer group has
committed the end of its topics. Two floors of one such wait, on the local broker and store:

1. Kafka alone: one message sent (acks=all, idempotent, no linger, as the simulator sends), four bare
   consumers in four groups each fetch it and commit it (no parsing, no store), the
   simulator's own wait sees them caught up; and the hop alone, from the send until the last
   of the four committed (what each link of a chain of services costs at the least).
2. The four services as processes (fresh groups and databases, event clock, nothing stored
   yet): one clock tick an hour later than the last, handled by each (its clock stored, its
   tick hooks over empty collections) and committed, and the same wait.

Printed: p50 / p95 of each, and the month's floor for ``--steps`` steps of one such wait each
(the month has at least one wait per step, the tick's; a step with actions has two).
Figures, never assertions: the machine is shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import typer
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench import steps
from bench.permit_latency import quantiles
from services.simulator.__main__ import consumed_topics
from services.simulator.catch_up import CatchUp
from shared.settings import ServiceSettings
from tests.procs import ServiceProcess, processes
from tests.support import KAFKA, Bus, new_suffix


def percentiles(waits: list[float]) -> str:
    q = quantiles(sorted(w * 1000 for w in waits))
    return f"p50 {q['p50']:.1f} ms, p95 {q['p95']:.1f} ms, mean {1000 * statistics.fmean(waits):.1f} ms"


async def lockstep(catch_up: CatchUp, send: Callable[[int], Awaitable[None]], waits: int) -> list[float]:
    """Send, then wait until every group caught up; the time of each round from the send."""
    await send(0)
    await catch_up.wait()  # the first round finds the groups' coordinators
    rounds = []
    for i in range(1, waits + 1):
        started = time.monotonic()
        await send(i)
        await catch_up.wait()
        rounds.append(time.monotonic() - started)
    return rounds


async def bare_consumer(group: str, topic: str, ready: asyncio.Event, committed: dict[int, float]) -> None:
    """Fetch and commit each message, as a service does with nothing to do for it; when the
    last of the groups committed each offset (``committed``)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=KAFKA, group_id=group, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=500)
            if consumer.assignment():
                ready.set()
            for tp, records in batch.items():
                await consumer.commit({tp: records[-1].offset + 1})
                committed[records[-1].offset] = time.monotonic()
    finally:
        await consumer.stop()


async def kafka_alone(waits: int) -> tuple[list[float], list[float]]:
    """The rounds, and of each the hop alone: from the send until the four groups committed."""
    suffix = new_suffix()
    topic = f"bench.step-floor{suffix}"
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    groups = {f"bench-step-floor-{i}{suffix}": [topic] for i in range(4)}
    readies = [asyncio.Event() for _ in groups]
    committed: dict[int, float] = {}
    consumers = [
        asyncio.create_task(bare_consumer(g, topic, r, committed))
        for g, r in zip(groups, readies, strict=True)
    ]
    catch_up = CatchUp(KAFKA, groups)
    await catch_up.start()
    try:
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)
        sent: dict[int, float] = {}
        async with Bus() as bus:

            async def send(i: int) -> None:
                sent[i] = time.monotonic()
                await bus.send_raw(topic, b"x" * 1024)

            rounds = await lockstep(catch_up, send, waits)
        return rounds, [committed[i] - sent[i] for i in range(1, waits + 1)]
    finally:
        for c in consumers:
            c.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*consumers)
        await catch_up.stop()
        await admin.delete_topics([topic])
        await admin.close()


async def services_ticked(waits: int) -> tuple[list[float], list[str]]:
    """The rounds, and where each service's time went over them (its ``/metrics``)."""
    suffix = new_suffix()
    settings = ServiceSettings(instance_suffix=suffix)
    titles = consumed_topics()
    groups = {settings.group_id(title): topics for title, topics in titles.items()}
    procs = [ServiceProcess(f"services.{title.replace('-', '_')}", suffix) for title in titles]
    catch_up = CatchUp(KAFKA, groups)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    async with processes(*procs), Bus() as bus:
        await catch_up.start()
        try:

            async def tick(i: int) -> None:
                now = start + timedelta(hours=i)
                data = {"now": now.isoformat()}
                await bus.publish("clock.ticked", data, key="clock", time=now, source="pbz-clock", actor=None)

            rounds = await lockstep(catch_up, tick, waits)
            return rounds, [steps.line(p.name, steps.figures((await p.get("/metrics")).text)) for p in procs]
        finally:
            await catch_up.stop()


def main(waits: int = 150, steps: int = 1660) -> None:
    print(f"lock-step floor, {waits} waits each (load {os.getloadavg()[0]:.1f})", flush=True)
    bare, hops = asyncio.run(kafka_alone(waits))
    print(f"  Kafka alone, sent until the 4 bare groups committed: {percentiles(hops)}", flush=True)
    print(f"  Kafka alone, sent until the simulator saw them:       {percentiles(bare)}", flush=True)
    ticked, spent = asyncio.run(services_ticked(waits))
    print(f"  the four services, a quiet clock tick, until seen:  {percentiles(ticked)}", flush=True)
    print("  where each service's time went over those ticks (its /metrics):")
    for line in spent:
        print(f"    {line}")
    for name, rounds in (("Kafka alone", bare), ("the services' quiet tick", ticked)):
        print(
            f"  {steps} steps of one wait each, at the p50 of {name}: {steps * statistics.median(rounds):.0f} s"
        )
    print(f"  (load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    typer.run(main)
