"""Reading topics without a consumer group (nothing committed, nobody else disturbed)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition


@contextlib.asynccontextmanager
async def reader(bootstrap: str) -> AsyncIterator[AIOKafkaConsumer]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=15000,
    )
    try:
        await consumer.start()
        yield consumer
    finally:
        await consumer.stop()


async def partitions(consumer: AIOKafkaConsumer, topics: list[str]) -> list[TopicPartition]:
    cluster = await consumer._client.fetch_all_metadata()
    return [TopicPartition(t, p) for t in topics for p in sorted(cluster.partitions_for_topic(t) or ())]


async def start_at(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], since: datetime | None, *, from_end: bool
) -> dict[TopicPartition, int]:
    """Assign and position: at ``since``, else at the end (``from_end``) or the beginning."""
    consumer.assign(tps)
    ends: dict[TopicPartition, int] = await consumer.end_offsets(tps)
    if since is not None:
        found = await consumer.offsets_for_times(dict.fromkeys(tps, int(since.timestamp() * 1000)))
        for tp in tps:
            meta = found.get(tp)
            consumer.seek(tp, ends[tp] if meta is None else meta.offset)
    elif from_end:
        for tp in tps:
            consumer.seek(tp, ends[tp])
    else:
        starts = await consumer.beginning_offsets(tps)
        for tp in tps:
            consumer.seek(tp, starts[tp])
    return ends


async def read_to(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> AsyncIterator[Any]:
    """Every record from the current positions to ``ends`` (what was there when we looked)."""
    todo = {tp for tp, end in ends.items() if await consumer.position(tp) < end}
    while todo:
        batch = await consumer.getmany(*todo, timeout_ms=500, max_records=1000)
        for tp, records in batch.items():
            for r in records:
                if r.offset < ends[tp]:
                    yield r
        todo = {tp for tp in todo if await consumer.position(tp) < ends[tp]}
