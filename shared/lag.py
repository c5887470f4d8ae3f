"""Consumer lag, seen from inside a service: a gauge per topic and partition, and a verdict
for ``/readyz`` (red while the lag is large *and* still growing: falling behind for good,
not a backlog being worked off after a restart)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from .metrics import CONSUMER_LAG

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer

log = logging.getLogger("pbz.lag")


def falling_behind(totals: Sequence[int], limit: int, samples: int) -> bool:
    """The last ``samples`` totals each grew, and the newest is above ``limit``."""
    if samples < 1 or len(totals) < samples + 1:
        return False
    recent = list(totals)[-(samples + 1) :]
    return recent[-1] > limit and all(b > a for a, b in itertools.pairwise(recent))


class LagMonitor:
    """Samples the lag of the partitions this instance owns every ``interval`` seconds."""

    def __init__(
        self,
        *,
        service: str,
        group: str,
        bootstrap: str,
        consumer: Callable[[], AIOKafkaConsumer | None],
        interval: float,
        alert_messages: int,
        alert_samples: int,
        probes: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        self.service = service
        self.group = group
        self.bootstrap = bootstrap
        self._consumer = consumer
        self.interval = interval
        self.alert_messages = alert_messages
        self.alert_samples = alert_samples
        self.totals: deque[int] = deque(maxlen=max(alert_samples, 1) + 1)
        self.by_partition: dict[tuple[str, int], int] = {}
        self._task: asyncio.Task[None] | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self.probes = list(probes)  # gauges read from the store (shared/probes.py), same rhythm

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.service}-lag")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._admin is not None:
            with contextlib.suppress(Exception):
                await self._admin.close()
        for topic, partition in self.by_partition:
            with contextlib.suppress(KeyError):
                CONSUMER_LAG.remove(self.service, topic, str(partition))

    @property
    def total(self) -> int | None:
        return self.totals[-1] if self.totals else None

    def verdict(self) -> str:
        """``ok``, or why the lag makes this instance not ready."""
        if falling_behind(self.totals, self.alert_messages, self.alert_samples):
            return (
                f"falling behind: {self.totals[-1]} messages not committed, growing for "
                f"{self.alert_samples} samples (limit {self.alert_messages})"
            )
        return "ok"

    async def _run(self) -> None:
        while True:
            for step in (self.sample, *self.probes):
                try:
                    await step()
                except asyncio.CancelledError:
                    raise
                except Exception as e:  # the broker or store away: keep the last figures
                    log.debug("not sampled: %s: %s", type(e).__name__, e)
            await asyncio.sleep(self.interval)

    async def sample(self) -> None:
        consumer = self._consumer()
        if consumer is None:
            return
        assigned = sorted(consumer.assignment(), key=lambda tp: (tp.topic, tp.partition))
        if not assigned:
            return
        if self._admin is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=10000)
            await admin.start()
            self._admin = admin
        committed: dict[TopicPartition, Any] = await self._admin.list_consumer_group_offsets(
            self.group, partitions=assigned
        )
        ends = await consumer.end_offsets(assigned)
        seen: dict[tuple[str, int], int] = {}
        for tp in assigned:
            meta = committed.get(tp)
            position = meta.offset if meta is not None and meta.offset >= 0 else None
            if position is None:
                position = await consumer.position(tp)  # nothing committed yet: where it reads
            lag = max(0, ends[tp] - position)
            seen[(tp.topic, tp.partition)] = lag
            CONSUMER_LAG.labels(self.service, tp.topic, str(tp.partition)).set(lag)
        for gone in set(self.by_partition) - set(seen):  # moved to another instance
            with contextlib.suppress(KeyError):
                CONSUMER_LAG.remove(self.service, gone[0], str(gone[1]))
        self.by_partition = seen
        self.totals.append(sum(seen.values()))
