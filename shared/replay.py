"""Rebuild one service's store from its input topics, while the service runs (``pbz replay``).

Asked over HTTP (``POST /ops/replay``), the service:

1. pauses its consumer (its partitions stop fetching; a record already in hand is dropped,
   it will be read again) and waits for the message being handled to finish;
2. takes the offsets to start from (the oldest kept, or the first at or after a time) and
   the topics' ends, on every partition of its input topics — its instance must own them
   all (one instance: scale a service down to one before a replay);
3. drops its collections (store and processed records) and its clock;
4. reads the input topics from there to those ends with a reader of its own, merged in the
   order the broker stamped them (a tick is handled after the facts published before it,
   as it was the first time), each record through the same pipeline as ever;
5. moves its consumer group's offsets to those ends, and resumes its consumer.

What the rebuild emits goes out again under the same event ids (derived from the causes):
consumers drop them as duplicates. ``GET /ops/replay`` tells the progress. The routes are
operations routes: once the identity branch lands they need an operator's bearer token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError
from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import AwareDatetime, BaseModel, Field

from .metrics import REPLAYED
from .mongo import ensure_indexes

if TYPE_CHECKING:
    from aiokafka import ConsumerRecord

    from .service import Runtime

log = logging.getLogger("pbz.replay")


class ReplayRequest(BaseModel):
    """Where the rebuild starts: ``"beginning"`` (the oldest message the broker keeps) or a
    time with its offset (the first message at or after it on each partition)."""

    start: Literal["beginning"] | AwareDatetime = Field(
        description='"beginning", or a time with its offset, e.g. 2026-04-01T00:00:00+08:00'
    )

    @property
    def from_time(self) -> datetime | None:
        return None if self.start == "beginning" else self.start  # type: ignore[return-value]


class ReplayState(BaseModel):
    service: str
    group: str
    state: Literal["idle", "running", "done", "failed"] = "idle"
    from_time: datetime | None = None
    from_beginning: bool = False
    total: int = 0  # messages to re-read
    done: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    events_per_s: float | None = None
    error: str | None = None


class ReplayRefused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class ReplayControl:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.status = ReplayState(
            service=runtime.name, group=runtime.settings.group_id(runtime.definition.title)
        )
        self.active = False  # the live consumer is paused for a rebuild
        self._task: asyncio.Task[None] | None = None
        self._started = 0.0

    # ------------------------------------------------------------------ the pipeline's seam

    def admit(self, record: ConsumerRecord[Any, Any]) -> bool:
        """A record the live consumer hands over during a rebuild is dropped: the rebuild
        reads it, or the consumer reads it again once it resumes at the rebuild's end."""
        return not self.active

    def readiness(self) -> str:
        s = self.status
        if s.state == "running":
            pct = 100 * s.done // s.total if s.total else 0
            return f"replaying: {s.done}/{s.total} ({pct}%)"
        if s.state == "failed":
            return f"replay failed, store incomplete: {s.error} (run pbz replay again)"
        return "ok"

    # ------------------------------------------------------------------ start

    def _consumer(self) -> AIOKafkaConsumer | None:
        sub = next(iter(self.runtime.broker.subscribers), None)
        consumer: AIOKafkaConsumer | None = getattr(sub, "consumer", None)
        return consumer

    async def start(self, request: ReplayRequest) -> ReplayState:
        if self.status.state == "running":
            raise ReplayRefused(409, "a replay is already running")
        consumer = self._consumer()
        if consumer is None or not self.runtime.started:
            raise ReplayRefused(503, "the service's consumer is not running")
        owned = set(consumer.assignment())
        self.active = True
        consumer.pause(*owned)
        try:
            await self.runtime.pipeline.idle()  # the batch being handled finishes
            await self.runtime.pipeline.flush_commits()
            targets, ends = await self._bounds(consumer, owned, request)
        except BaseException:
            self.active = False
            consumer.resume(*owned)
            raise
        self.status = ReplayState(
            service=self.status.service,
            group=self.status.group,
            state="running",
            from_time=request.from_time,
            from_beginning=request.from_time is None,
            total=sum(max(0, ends[tp] - targets[tp]) for tp in targets),
            started_at=datetime.now(UTC),
        )
        self._started = time.monotonic()
        self._task = asyncio.create_task(self._rebuild(consumer, targets, ends), name="replay")
        log.info(
            "replay of %s started from %s: %d messages on %d partitions",
            self.runtime.name,
            request.from_time or "the beginning",
            self.status.total,
            len(targets),
        )
        return self.status

    async def _bounds(
        self, consumer: AIOKafkaConsumer, owned: set[TopicPartition], request: ReplayRequest
    ) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
        topics = [t.value for t in self.runtime.definition.consumes]
        tps = {TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())}
        if not tps or owned != tps:
            raise ReplayRefused(
                409,
                f"this instance owns {len(owned)} of the {len(tps)} partitions of its topics: other "
                "instances share its consumer group; scale the service to one instance first",
            )
        ends: dict[TopicPartition, int] = await consumer.end_offsets(list(tps))
        if request.from_time is None:
            targets: dict[TopicPartition, int] = await consumer.beginning_offsets(list(tps))
        else:
            stamp = int(request.from_time.timestamp() * 1000)
            found = await consumer.offsets_for_times(dict.fromkeys(tps, stamp))
            targets = {tp: (ends[tp] if meta is None else meta.offset) for tp, meta in found.items()}
        return targets, ends

    # ------------------------------------------------------------------ rebuild

    async def _rebuild(
        self, consumer: AIOKafkaConsumer, targets: dict[TopicPartition, int], ends: dict[TopicPartition, int]
    ) -> None:
        try:
            await self._drop_store()
            async for record in merged(self.runtime.settings.kafka_bootstrap, targets, ends):
                await self.runtime.pipeline.handle_record(record, None)
                self.status.done += 1
                REPLAYED.labels(self.runtime.name).inc()
            await self._resume_at(consumer, ends)
        except asyncio.CancelledError:
            self.status.state, self.status.error = "failed", "stopped while replaying"
            raise
        except Exception as e:
            log.exception("replay of %s failed", self.runtime.name)
            self.status.state, self.status.error = "failed", f"{type(e).__name__}: {e}"
            return
        finally:
            self.status.finished_at = datetime.now(UTC)
            elapsed = max(time.monotonic() - self._started, 1e-6)
            self.status.events_per_s = round(self.status.done / elapsed, 1)
        self.status.state = "done"
        log.info(
            "replay of %s done: %d messages, %.1f per second",
            self.runtime.name,
            self.status.done,
            self.status.events_per_s,
        )

    async def _drop_store(self) -> None:
        runtime = self.runtime
        for name in await runtime.db.list_collection_names():
            await runtime.db.drop_collection(name)
        await ensure_indexes(runtime.db, runtime.definition.indexes)
        pipeline = runtime.pipeline
        pipeline.last_tick = None
        pipeline._replaying.clear()
        runtime.clock.reset()

    async def _resume_at(self, consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> None:
        """The group goes on from where the rebuild ended."""
        try:
            for tp, offset in ends.items():
                consumer.seek(tp, offset)
            await consumer.commit(dict(ends))
        except (IllegalStateError, KafkaError) as e:
            # The partitions moved meanwhile: the group reads from its old offsets, and every
            # message the rebuild handled is a duplicate there (processed records).
            log.warning("group offsets not moved after the replay: %s", e)
        self.active = False
        consumer.resume(*consumer.assignment())

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def merged(
    bootstrap: str, targets: dict[TopicPartition, int], ends: dict[TopicPartition, int]
) -> AsyncIterator[ConsumerRecord[Any, Any]]:
    """Every record from ``targets`` to ``ends`` (exclusive), oldest broker timestamp first."""
    todo = {tp for tp in targets if ends[tp] > targets[tp]}
    if not todo:
        return
    reader: AIOKafkaConsumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await reader.start()
    try:
        reader.assign(list(todo))
        for tp in todo:
            reader.seek(tp, targets[tp])
        buffers: dict[TopicPartition, deque[ConsumerRecord[Any, Any]]] = {tp: deque() for tp in todo}
        while buffers:
            for tp in list(buffers):
                if not buffers[tp] and not await _refill(reader, tp, buffers[tp], ends[tp]):
                    del buffers[tp]  # read to its end
            if not buffers:
                return
            tp = min(buffers, key=lambda t: (buffers[t][0].timestamp, t.topic, t.partition))
            yield buffers[tp].popleft()
    finally:
        await reader.stop()


async def _refill(
    reader: AIOKafkaConsumer, tp: TopicPartition, buffer: deque[ConsumerRecord[Any, Any]], end: int
) -> bool:
    """Fetch the next records of one partition below ``end``; False once it is read to there."""
    while await reader.position(tp) < end:
        got = await reader.getmany(tp, timeout_ms=1000, max_records=500)
        buffer.extend(r for r in got.get(tp, []) if r.offset < end)
        if buffer:
            return True
    return False


def router(control: Callable[[Request], ReplayControl]) -> APIRouter:
    ops = APIRouter(tags=["operations"])

    @ops.post(
        "/ops/replay",
        status_code=202,
        response_model=ReplayState,
        responses={
            409: {"description": "a replay runs, or other instances share the group"},
            503: {"description": "the consumer is not running"},
        },
    )
    async def start_replay(body: ReplayRequest, request: Request) -> ReplayState:
        """Rebuild this service's store from its input topics (see ``pbz replay``)."""
        try:
            return await control(request).start(body)
        except ReplayRefused as e:
            raise HTTPException(e.status, e.reason) from None

    @ops.get("/ops/replay", response_model=ReplayState)
    async def replay_status(request: Request, response: Response) -> ReplayState:
        """The last (or running) rebuild: progress and events per second."""
        return control(request).status

    return ops
