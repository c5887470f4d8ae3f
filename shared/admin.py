"""Kafka administration the project needs: topics from the catalogue, consumer lag.

python -m shared.admin create-topics
python -m shared.admin lag [--group pbz-zone-registry ...]
python -m shared.admin wait-caught-up --timeout 120
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from .events import Topic
from .settings import ServiceSettings

SERVICES = ("zone-registry", "activity-log", "permit-fasttrack", "assessment")
cli = typer.Typer(help=__doc__, no_args_is_help=True)


async def create_topics(bootstrap: str, partitions: int = 6, replication: int = 1) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [t.value for t in Topic if t.value not in existing]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(name=t, num_partitions=partitions, replication_factor=replication)
                        for t in wanted
                    ]
                )
        return wanted
    finally:
        await admin.close()


async def consumer_lag(bootstrap: str, groups: list[str]) -> dict[str, int]:
    """Messages not yet committed, per group, over the topics each group has offsets for."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    probe: AIOKafkaConsumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await probe.start()
    try:
        lag: dict[str, int] = {}
        for group in groups:
            offsets: dict[TopicPartition, Any] = await admin.list_consumer_group_offsets(group)
            if not offsets:
                lag[group] = -1  # the group has not committed anything yet
                continue
            topics = {tp.topic for tp in offsets}
            tps = [TopicPartition(t, p) for t in topics for p in (probe.partitions_for_topic(t) or set())]
            ends = await probe.end_offsets(tps)
            total = 0
            for tp in tps:
                meta = offsets.get(tp)
                committed = meta.offset if meta is not None and meta.offset >= 0 else 0
                total += max(0, ends[tp] - committed)
            lag[group] = total
        return lag
    finally:
        await probe.stop()
        await admin.close()


@dataclass(frozen=True)
class PartitionLag:
    """How far one consumer group is behind on one partition."""

    group: str
    topic: str
    partition: int
    committed: int | None  # None: the group has committed nothing here yet
    end: int
    start: int  # the oldest offset still on the broker

    @property
    def lag(self) -> int:
        """Messages not yet committed (from the oldest one kept, before any commit)."""
        position = self.committed if self.committed is not None else self.start
        return max(0, self.end - position)


async def group_lags(bootstrap: str, groups: Mapping[str, Iterable[str]]) -> list[PartitionLag]:
    """Committed offset, end offset and lag of each group on every partition of its topics."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    probe: AIOKafkaConsumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        await admin.start()
        await probe.start()
        cluster = await probe._client.fetch_all_metadata()
        rows: list[PartitionLag] = []
        for group, topics in groups.items():
            offsets: dict[TopicPartition, Any] = await admin.list_consumer_group_offsets(group)
            tps = [
                TopicPartition(t, p) for t in topics for p in sorted(cluster.partitions_for_topic(t) or ())
            ]
            if not tps:
                continue
            ends = await probe.end_offsets(tps)
            starts = await probe.beginning_offsets(tps)
            for tp in tps:
                meta = offsets.get(tp)
                committed = meta.offset if meta is not None and meta.offset >= 0 else None
                rows.append(PartitionLag(group, tp.topic, tp.partition, committed, ends[tp], starts[tp]))
        return rows
    finally:
        await probe.stop()
        await admin.close()


@cli.command("create-topics")
def create_topics_cmd(partitions: int = 6, replication: int = 1) -> None:
    """Create every topic of the catalogue that does not exist yet."""
    settings = ServiceSettings()
    made = asyncio.run(create_topics(settings.kafka_bootstrap, partitions, replication))
    typer.echo(f"topics created: {', '.join(made) if made else 'none (all exist)'}")


@cli.command("lag")
def lag_cmd(group: list[str] | None = None) -> None:
    """Print consumer lag per service group."""
    settings = ServiceSettings()
    groups = group or [settings.group_id(s) for s in SERVICES]
    for g, n in asyncio.run(consumer_lag(settings.kafka_bootstrap, groups)).items():
        typer.echo(f"{g}: {n if n >= 0 else 'no commits yet'}")


@cli.command("wait-caught-up")
def wait_caught_up(timeout: float = 120.0, group: list[str] | None = None) -> None:
    """Wait until every group's lag is 0."""
    settings = ServiceSettings()
    groups = group or [settings.group_id(s) for s in SERVICES]
    deadline = time.monotonic() + timeout
    while True:
        lag = asyncio.run(consumer_lag(settings.kafka_bootstrap, groups))
        if all(v == 0 for v in lag.values()):
            typer.echo("caught up")
            return
        if time.monotonic() > deadline:
            typer.echo(f"still lagging: {lag}", err=True)
            raise typer.Exit(1)
        time.sleep(0.5)


if __name__ == "__main__":
    cli()
