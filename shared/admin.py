"""Kafka administration the project needs: topics from the catalogue (with the retention of
personal data as configured), consumer lag.

python -m shared.admin create-topics [--partitions 6] [--replication 3]
    (defaults: PBZ_TOPIC_PARTITIONS, PBZ_TOPIC_REPLICATION; min.insync.replicas from
    PBZ_TOPIC_MIN_INSYNC_REPLICAS, or 2 with three replicas or more)
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
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError

from .events import Topic
from .settings import ServiceSettings

SERVICES = ("zone-registry", "activity-log", "permit-fasttrack", "assessment")
cli = typer.Typer(help=__doc__, no_args_is_help=True)


def topic_configs(settings: ServiceSettings) -> dict[str, dict[str, str]]:
    """Per topic, the configuration that bounds how long personal data stays in Kafka.

    pbz.zone.commands (names, phone numbers of ``zone.add-member``): deleted after the
    personal-data retention. pbz.zone.events (roster snapshots): compacted by zone, with the
    same bound on how long a superseded snapshot may stay (an erased name goes with it; the
    latest snapshot of each zone stays, so a zone copy can always be rebuilt). pbz.dlq (any
    bytes at all): its own retention."""
    personal = int(settings.personal_data_retention_hours * 3600 * 1000)
    week = 7 * 24 * 3600 * 1000  # Kafka's default segment.ms: compaction never touches the open segment
    return {
        Topic.ZONE_COMMANDS.value: {"retention.ms": str(personal)},
        Topic.ZONE_EVENTS.value: {
            "cleanup.policy": "compact",
            "max.compaction.lag.ms": str(personal),
            "segment.ms": str(min(personal, week)),
        },
        Topic.DLQ.value: {"retention.ms": str(int(settings.dlq_retention_hours * 3600 * 1000))},
    }


async def create_topics(
    bootstrap: str,
    partitions: int = 6,
    replication: int = 1,
    configs: dict[str, dict[str, str]] | None = None,
    client_options: dict[str, Any] | None = None,
    min_insync: int | None = None,
) -> list[str]:
    """Create the catalogue's missing topics; apply ``configs`` to new and existing ones.
    With replicas, a write is acknowledged once ``min_insync`` of them have it (the producer
    asks all in-sync replicas), so a broker may die without losing an acknowledged event."""
    if min_insync is None:
        min_insync = 2 if replication >= 3 else 1
    # Every topic gets min.insync.replicas; the alter below replaces a topic's whole set,
    # so the topics with their own settings carry it too.
    configs = {
        t.value: {"min.insync.replicas": str(min_insync), **(configs or {}).get(t.value, {})} for t in Topic
    }
    special = {t for t, c in configs.items() if len(c) > 1}
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=15000, **(client_options or {})
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [t.value for t in Topic if t.value not in existing]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(
                            name=t,
                            num_partitions=partitions,
                            replication_factor=replication,
                            topic_configs=configs[t],
                        )
                        for t in wanted
                    ]
                )
        kept = sorted(special & existing)
        if kept:
            # Incremental would be kinder to other settings, but these are the only ones set.
            await admin.alter_configs(
                [ConfigResource(ConfigResourceType.TOPIC, t, configs=configs[t]) for t in kept]
            )
        return wanted
    finally:
        await admin.close()


async def consumer_lag(bootstrap: str, groups: list[str]) -> dict[str, int]:
    """Messages not yet committed, per group, over the topics each group has offsets for."""
    options = ServiceSettings().kafka_client_options()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000, **options)
    probe: AIOKafkaConsumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, **options
    )
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
def create_topics_cmd(partitions: int | None = None, replication: int | None = None) -> None:
    """Create every topic of the catalogue that does not exist yet (PBZ_TOPIC_PARTITIONS,
    PBZ_TOPIC_REPLICATION, PBZ_TOPIC_MIN_INSYNC_REPLICAS); set the retention of the topics
    that hold personal data (PBZ_PERSONAL_DATA_RETENTION_HOURS, PBZ_DLQ_RETENTION_HOURS)."""
    settings = ServiceSettings()
    if replication is not None:
        settings.topic_replication = replication
    made = asyncio.run(
        create_topics(
            settings.kafka_bootstrap,
            partitions or settings.topic_partitions,
            settings.topic_replication,
            topic_configs(settings),
            settings.kafka_client_options(),
            settings.min_insync_replicas(),
        )
    )
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
