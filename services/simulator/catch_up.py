"""Waiting until every service has caught up: the lock-step of the played month.

A consumer group has caught up when its committed offset is at the end of every partition
of every topic it reads (lag 0). The player waits for that after each step's actions and
after each tick; ``bench/step_floor.py`` measures what one such wait costs at the least.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

# Between two looks at the groups' offsets while one is behind. Measured on the local broker:
# the wait from the last commit until it is seen, 8 ms at 5 ms, 4 ms at 2 ms; Kafka's CPU over
# the short month did not move with it (29.7-32.3 s at 5 ms, 30.6-31.7 s at 2 ms).
POLL_S = 0.002


@dataclass
class Waited:
    """What the waits so far cost: in all, and until each group had caught up."""

    total_s: float = 0.0
    by_group_s: dict[str, float] = field(default_factory=dict)


class CatchUp:
    def __init__(
        self,
        bootstrap: str,
        groups: dict[str, list[str]],
        timeout_s: float = 120.0,
        waited: Waited | None = None,
    ) -> None:
        self.groups = groups  # consumer group -> topics it consumes
        self.timeout_s = timeout_s
        self.waited = (
            waited if waited is not None else Waited()
        )  # the caller's, to add to (the player's run figures)
        self.admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        # Asks only for end offsets: a consumer busy fetching would queue these behind its long polls.
        self.offsets = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.coordinators: dict[str, int] = {}
        self.group_tps: dict[str, list[TopicPartition]] = {}

    async def start(self) -> None:
        await self.admin.start()
        await self.offsets.start()
        cluster = await self.offsets._client.fetch_all_metadata()
        self.group_tps = {
            t: [TopicPartition(t, p) for p in sorted(cluster.partitions_for_topic(t) or ())]
            for t in {t for ts in self.groups.values() for t in ts}
        }

    async def stop(self) -> None:
        await self.offsets.stop()
        await self.admin.close()

    async def lag(self) -> dict[str, int]:
        # The groups are asked together: each answer is a round trip to the coordinator,
        # found once per group (asked each time, it doubled the requests of this hot loop).
        try:
            answers = await self._committed()
        except KafkaError:
            self.coordinators = {}  # one moved (a broker restarted): found again, asked again
            answers = await self._committed()
        committed: dict[str, dict[TopicPartition, int]] = {
            group: {tp: m.offset for tp, m in offsets.items() if m.offset >= 0}
            for group, offsets in zip(self.groups, answers, strict=True)
        }
        # End offsets are read after the commits: anything a service published before
        # committing its input shows up as another service's lag.
        tps = [tp for t in {t for ts in self.groups.values() for t in ts} for tp in self.group_tps[t]]
        ends = await self.offsets.end_offsets(tps)
        return {
            group: sum(
                max(0, ends[tp] - committed[group].get(tp, 0)) for t in topics for tp in self.group_tps[t]
            )
            for group, topics in self.groups.items()
        }

    async def _committed(self) -> list[dict[TopicPartition, Any]]:
        if len(self.coordinators) < len(self.groups):
            found = await asyncio.gather(*(self.admin.find_coordinator(g) for g in self.groups))
            self.coordinators = dict(zip(self.groups, found, strict=True))
        return await asyncio.gather(
            *(self.admin.list_consumer_group_offsets(g, self.coordinators[g]) for g in self.groups)
        )

    async def wait(self) -> float:
        """Until every group's lag is 0; the seconds it took (also added to ``waited``)."""
        started = time.monotonic()
        pending = set(self.groups)
        while True:
            lag = await self.lag()
            now = time.monotonic()
            for g in [g for g in pending if lag[g] == 0]:
                self.waited.by_group_s[g] = self.waited.by_group_s.get(g, 0.0) + now - started
                pending.discard(g)
            # All at 0 in one look: a group caught up earlier may be behind again (what
            # another service emitted since), so it is looked at again.
            if all(v == 0 for v in lag.values()):
                self.waited.total_s += now - started
                return now - started
            if now - started > self.timeout_s:
                raise TimeoutError(f"services did not catch up within {self.timeout_s:.0f} s: lag {lag}")
            await asyncio.sleep(POLL_S)
