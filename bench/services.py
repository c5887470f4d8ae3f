"""Each service's events per second on its main input, drained from a backlog.

    PBZ_PORT_OFFSET=... .venv/bin/python -m bench.services [--raw 5700]

Run after the demo month (``make bench`` plays it first): the topics hold the month. Each
service in turn starts a fresh instance (own consumer group and database) that reads its
topics from the beginning — the month as a backlog — and is timed from its first handled
message until its group has committed the end of every topic it reads. Printed per service:
main-input messages handled per second over that drain, all messages per second, and the
main-input rate as a share of the raw pipe (``--raw``, events/s from ``bench.pipe``).

The drains replay the month out of its original interleaving (each topic's partitions are
read as fast as they come): the figures are throughput, not answers. Figures, never
assertions: the machine is shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.activity_log.app import definition as activity_log
from services.assessment.app import definition as assessment
from services.permit_fasttrack.app import definition as permit_fasttrack
from services.zone_registry.app import definition as zone_registry
from shared.metrics import EVENTS_CONSUMED
from shared.service import ServiceDefinition
from tests.support import KAFKA, running

# The main input of each service (issue 17): (topic, type) counted; None: every type the
# service handles on that topic. Counted where it arrives (a forwarded copy is not counted again).
Inputs = set[tuple[str, str | None]]
MAIN_INPUT: dict[str, tuple[ServiceDefinition, Inputs]] = {
    "zone-registry": (zone_registry, {("ent.projects", None)}),
    "activity-log": (activity_log, {("pbz.activity.commands", "activity.record")}),
    "permit-fasttrack": (
        permit_fasttrack,
        {("pbz.permit.commands", "permit.sign"), ("ent.safety", "safety.gas-test-recorded")},
    ),
    "assessment": (assessment, {("ent.projects", None), ("ent.quality", None), ("ent.safety", None)}),
}


def consumed(service: str, inputs: Inputs | None = None) -> float:
    total = 0.0
    for metric in EVENTS_CONSUMED.collect():
        for s in metric.samples:
            if not s.name.endswith("_total") or s.labels.get("service") != service:
                continue
            topic, type_ = s.labels.get("topic"), s.labels.get("type")
            if inputs is None or (topic, type_) in inputs or (topic, None) in inputs:
                total += s.value
    return total


async def lag(admin: AIOKafkaAdminClient, ends: AIOKafkaConsumer, group: str, topics: list[str]) -> int:
    committed = {tp: m.offset for tp, m in (await admin.list_consumer_group_offsets(group)).items()}
    tps = [TopicPartition(t, p) for t in topics for p in sorted(ends.partitions_for_topic(t) or ())]
    end = await ends.end_offsets(tps)
    return sum(max(0, end[tp] - max(0, committed.get(tp, 0))) for tp in tps)


@contextlib.asynccontextmanager
async def offsets_client() -> AsyncIterator[tuple[AIOKafkaAdminClient, AIOKafkaConsumer]]:
    """An admin client (groups' committed offsets) and a consumer that only reads end offsets."""
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    ends = AIOKafkaConsumer(bootstrap_servers=KAFKA, enable_auto_commit=False)
    await admin.start()
    await ends.start()
    try:
        await ends._client.force_metadata_update()
        yield admin, ends
    finally:
        await ends.stop()
        await admin.close()


async def drain(name: str, raw: float | None, max_s: float = 600.0) -> dict[str, Any]:
    definition, types = MAIN_INPUT[name]
    async with offsets_client() as (admin, ends):
        before_main, before_all = consumed(name, types), consumed(name)
        async with running(definition, auto_offset_reset="earliest", log_level="WARNING") as rt:
            first = await _first_handled(name, before_all)
            topics = [t.value for t in rt.topics]
            group = rt.settings.group_id(definition.title)
            left = await lag(admin, ends, group, topics)
            while left > 0 and time.perf_counter() - first < max_s:
                await asyncio.sleep(0.05)
                left = await lag(admin, ends, group, topics)
            elapsed = time.perf_counter() - first
            rss = _peak_rss_mb()
    main = consumed(name, types) - before_main
    everything = consumed(name) - before_all
    figures = {"main": main / elapsed, "all": everything / elapsed, "n_main": main, "n_all": everything}
    share = f"{100 * figures['main'] / raw:5.1f} % of the raw pipe" if raw else ""
    if left > 0:  # a rate over what was handled, not a whole drain
        share += f"   (stopped after {max_s:.0f} s, {left} messages still to go)"
    print(
        f"  {name:17} {figures['main']:7.0f} main-input events/s ({main:.0f} of {sorted(types)}), "
        f"{figures['all']:7.0f} events/s over all {everything:.0f} inputs   {share}   "
        f"(load {os.getloadavg()[0]:.1f}; bench process peak RSS {rss:.0f} MB)",
        flush=True,
    )
    return figures


def _names(inputs: Inputs) -> str:
    return ", ".join(sorted(t if t else f"{topic} facts" for topic, t in inputs))


async def _first_handled(name: str, before: float) -> float:
    while consumed(name) <= before:  # noqa: ASYNC110 (a Prometheus counter)
        await asyncio.sleep(0.01)
    return time.perf_counter()


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main(raw: float = 0.0, max_seconds: float = 600.0) -> None:
    print("each service draining the month from its topics (a fresh consumer group and database):")

    async def run() -> None:
        for name in MAIN_INPUT:
            await drain(name, raw or None, max_seconds)

    asyncio.run(run())


if __name__ == "__main__":
    typer.run(main)
