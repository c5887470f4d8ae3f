"""The consumer pipeline every service uses.

raw bytes -> envelope -> payload model by ``type`` -> domain handler -> stored effect ->
emitted events -> offset commit.

How "exactly once in effect" is kept without multi-document transactions (FerretDB 1.x
and a plain MongoDB have none to rely on here):

1. The domain handler does not write. It *stages* writes (``ctx.put`` / ``ctx.delete``,
   whole documents, set semantics) and events (``ctx.emit``) on a :class:`HandlerContext`.
2. The pipeline stores one *processed record* ``{_id: event id, writes, events}`` — a single
   document, so it is atomic — in the service's ``processed_events`` collection (the
   ``_id`` is the unique index that makes a redelivery a no-op).
3. It applies the writes (idempotent replace/delete), publishes the events (ids derived
   from the cause, so a re-publish carries the same ids), marks the record done, and only
   then commits the Kafka offset of exactly that message.

A crash anywhere before the commit redelivers the message: a done record makes it a
no-op; an unfinished record is finished (same writes, same event ids), never recomputed.

Unreadable input goes to ``pbz.dlq`` and the consumer moves on. A *transient* failure
(Mongo or Kafka unreachable, a timeout) is retried in place with backoff: the message
is not committed and nothing after it is processed until it succeeds (``/readyz`` is red
meanwhile). Offsets are committed explicitly per message (topic, partition, offset + 1),
never "whatever was fetched last".
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time as _time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from pydantic import BaseModel
from pymongo import DeleteOne, ReplaceOne
from pymongo.errors import (
    ConnectionFailure,
    DuplicateKeyError,
    ExecutionTimeout,
    PyMongoError,
    WTimeoutError,
)

from . import tracing
from .clock import Clock
from .events import (
    CONTENT_TYPE,
    CloudEvent,
    Payload,
    Topic,
    UnreadableEvent,
    decode_envelope,
    derived_event_id,
    make_event,
    parse_data,
    spec_for,
)
from .events.catalog import ClockTicked, DeadLetter
from .logs import current_correlation_id, current_event_id
from .metrics import (
    EVENTS_CONSUMED,
    EVENTS_DLQ,
    EVENTS_DUPLICATE,
    EVENTS_EMITTED,
    EVENTS_IGNORED,
    HANDLER_SECONDS,
    TRANSIENT_RETRIES,
    WAITING,
)

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer, ConsumerRecord
    from faststream.kafka import KafkaBroker
    from motor.motor_asyncio import AsyncIOMotorDatabase

log = logging.getLogger("pbz.pipeline")

PROCESSED = "processed_events"
CLOCK = "clock"

P = TypeVar("P", bound=Payload)
Handler = Callable[["HandlerContext", Any], Awaitable[None]]
TickHook = Callable[["HandlerContext", datetime, datetime], Awaitable[None]]
# Sends one record and returns its delivery confirmation (awaited once a batch is sent,
# so several events of one message go out in order without a round trip each).
Publish = Callable[[str, bytes, bytes | None], Awaitable[Awaitable[Any]]]


class TransientError(Exception):
    """Raise from a handler when a dependency is temporarily unavailable: the message is retried."""


def is_transient(exc: BaseException) -> bool:
    """Failures that are the infrastructure's, not the message's: retry, never DLQ."""
    if isinstance(exc, TransientError | asyncio.TimeoutError | TimeoutError | ConnectionError):
        return True
    if isinstance(exc, ConnectionFailure | ExecutionTimeout | WTimeoutError):
        # AutoReconnect, ServerSelectionTimeoutError, NetworkTimeout, NotPrimary...
        return True
    if isinstance(exc, PyMongoError):
        return False  # the server refused the operation itself: retrying would not help
    if isinstance(exc, KafkaError):
        return True
    return isinstance(exc, OSError)


# --------------------------------------------------------------------------- handler side


class HandlerContext:
    """What a domain handler sees: the event, the clock, its database (to read), and a
    place to stage writes and events. Nothing is stored until the handler returns."""

    def __init__(
        self,
        *,
        service: str,
        event: CloudEvent,
        clock: Clock,
        db: AsyncIOMotorDatabase[Any],
        now: datetime | None = None,
        settings: Any = None,
    ) -> None:
        self.service = service
        self.settings = settings  # the service's Settings (limits, grace periods...)
        self.event = event
        self.clock = clock
        self.db = db
        self.now: datetime = now or clock.now()
        self.tz = clock.tz
        self.writes: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self._staged: dict[tuple[str, Any], dict[str, Any] | None] = {}

    @property
    def moment(self) -> datetime:
        """The later of the clock's now and the event's time (SPEC §3.3)."""
        return max(self.now, self.event.time).astimezone(self.tz)

    @property
    def correlation_id(self) -> str:
        return self.event.correlationid or self.event.id

    def put(self, collection: str, doc: dict[str, Any]) -> None:
        """Stage a whole document (replaced by ``_id``, inserted if new)."""
        if "_id" not in doc:
            raise ValueError(f"a document for {collection!r} needs an _id")
        self.writes.append({"op": "put", "c": collection, "doc": doc})
        self._staged[(collection, doc["_id"])] = doc

    def delete(self, collection: str, _id: Any) -> None:
        self.writes.append({"op": "delete", "c": collection, "id": _id})
        self._staged[(collection, _id)] = None

    async def get(self, collection: str, _id: Any) -> dict[str, Any] | None:
        """Read a document, seeing what this handler staged before it."""
        key = (collection, _id)
        if key in self._staged:
            return self._staged[key]
        doc: dict[str, Any] | None = await self.db[collection].find_one({"_id": _id})
        return doc

    def emit(
        self,
        event_type: str,
        data: BaseModel | dict[str, Any],
        *,
        key: str | None,
        subject: str | None = None,
        time: datetime | None = None,
    ) -> CloudEvent:
        """Stage an event. Its data is checked against the catalogue: a service cannot
        emit anything EVENTS.md does not allow."""
        spec = spec_for(event_type)
        raw = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
        payload = spec.model.model_validate(raw).model_dump(mode="json")
        event = make_event(
            id=derived_event_id(self.service, self.event.id, len(self.events)),
            type=event_type,
            source=f"pbz/{self.service}",
            time=time or self.moment,
            subject=subject or key,
            correlationid=self.correlation_id,
            causationid=self.event.id,
            data=payload,
            extensions=tracing.outgoing(),  # the trace context goes on with the event
        )
        self.events.append(
            {"topic": spec.topic.value, "key": key, "value": event.model_dump(mode="json", exclude_none=True)}
        )
        return event


class Handlers:
    """A service's map from event type to domain handler, plus its clock hook."""

    def __init__(self) -> None:
        self.by_type: dict[str, Handler] = {}
        self.tick: TickHook | None = None

    def on(self, event_type: str) -> Callable[[Handler], Handler]:
        spec_for(event_type)  # fail at import time on a type the catalogue lacks

        def register(fn: Handler) -> Handler:
            self.by_type[event_type] = fn
            return fn

        return register

    def on_tick(self, fn: TickHook) -> TickHook:
        """Called with (previous now, new now) whenever the clock moves: deadlines, closes."""
        self.tick = fn
        return fn


# --------------------------------------------------------------------------- the pipeline


class Pipeline:
    def __init__(
        self,
        *,
        service: str,
        handlers: Handlers,
        db: AsyncIOMotorDatabase[Any],
        clock: Clock,
        publish: Publish,
        retry_initial_s: float = 0.2,
        retry_max_s: float = 10.0,
        settings: Any = None,
    ) -> None:
        self.service = service
        self.settings = settings
        self.handlers = handlers
        self.db = db
        self.clock = clock
        self._send = publish
        # Offsets whose effects are stored, waiting to be committed by the committer task.
        self._pending: dict[TopicPartition, int] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._commit_wakeup = asyncio.Event()
        self._committer: asyncio.Task[None] | None = None
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.waiting_on: str | None = None  # set while a transient failure is being waited out
        self._lock = asyncio.Lock()
        self._clock_checked = 0.0
        # Partitions being replayed (the last message was a duplicate): redeliveries come in
        # runs, so there the stored record is looked up before the handler runs.
        self._replaying: set[tuple[str, int] | None] = set()
        self.last_tick: datetime | None = None  # the clock as this service last acted on it
        # Operations seam (shared/replay.py): False drops a record a replay will deliver again.
        self.admit: Callable[[ConsumerRecord[Any, Any]], bool] | None = None
        # Test seam: called between "effect stored" and "offset committed".
        self.before_commit: Callable[[ConsumerRecord[Any, Any]], Awaitable[None]] | None = None

    # ------------------------------------------------------------------ entry points

    async def handle_record(
        self, record: ConsumerRecord[Any, Any], consumer: AIOKafkaConsumer | None
    ) -> None:
        """Process one Kafka record to the end, then commit exactly its offset."""
        if consumer is not None and self.admit is not None and not self.admit(record):
            return
        async with self._lock:
            await self._retrying(lambda: self._process_record(record))
        if self.before_commit is not None:
            await self.before_commit(record)
        if consumer is not None:
            # Only now may this offset be committed. A committer task sends the newest
            # stored offset per partition: one commit per message when idle, coalesced
            # under load, and never past a message whose effect is not stored.
            self._pending[TopicPartition(record.topic, record.partition)] = record.offset + 1
            self._consumer = consumer
            self._commit_wakeup.set()
            if self._committer is None or self._committer.done():
                self._committer = asyncio.create_task(self._commit_loop(), name=f"{self.service}-committer")

    async def _commit_loop(self) -> None:
        while True:
            await self._commit_wakeup.wait()
            self._commit_wakeup.clear()
            await self.flush_commits()

    async def flush_commits(self) -> None:
        """Commit every stored-but-uncommitted offset now."""
        if not self._pending or self._consumer is None:
            return
        batch, self._pending = self._pending, {}
        consumer = self._consumer
        await self._retrying(lambda: self._commit(consumer, batch))

    async def stop(self) -> None:
        if self._committer is not None:
            self._committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._committer
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.flush_commits(), 5)

    async def run_event(self, event: CloudEvent, data: Payload) -> None:
        """Process an event that did not come from Kafka (the wall-clock scheduler's ticks)."""
        async with self._lock:
            await self._retrying(lambda: self._dispatch(event, data, record=None))

    async def load_clock(self) -> None:
        doc = await self.db[CLOCK].find_one({"_id": CLOCK})
        if doc is not None:
            self.last_tick = doc["now"]
            if self.clock.event_driven:
                self.clock.advance(doc["now"])
        self._clock_checked = _time.monotonic()

    # ------------------------------------------------------------------ steps

    async def _process_record(self, record: ConsumerRecord[Any, Any]) -> None:
        try:
            event = decode_envelope(record.value)
            data = parse_data(event, expected_topic=record.topic)
        except UnreadableEvent as e:
            await self.dead_letter(record, e.kind, e.reason)
            return
        EVENTS_CONSUMED.labels(self.service, record.topic, event.type).inc()
        with tracing.handling(event, self.service):
            await self._dispatch(event, data, record)

    async def _dispatch(
        self, event: CloudEvent, data: Payload, record: ConsumerRecord[Any, Any] | None
    ) -> None:
        t_event = current_event_id.set(event.id)
        t_corr = current_correlation_id.set(event.correlationid or event.id)
        started = _time.perf_counter()
        try:
            if self.clock.event_driven and _time.monotonic() - self._clock_checked > 1.0:
                # Another instance of this service may own the clock's partition.
                await self.load_clock()
            if event.type == "clock.ticked":
                assert isinstance(data, ClockTicked)
                await self._tick(event, data, record)
            elif (handler := self.handlers.by_type.get(event.type)) is not None:
                await self._run(event, data, handler, record)
            else:
                EVENTS_IGNORED.labels(self.service, event.type).inc()
                return
            HANDLER_SECONDS.labels(self.service, event.type).observe(_time.perf_counter() - started)
        finally:
            current_event_id.reset(t_event)
            current_correlation_id.reset(t_corr)

    async def _tick(
        self, event: CloudEvent, data: ClockTicked, record: ConsumerRecord[Any, Any] | None
    ) -> None:
        # Ticks from pbz.clock drive an event clock; the scheduler's own ticks drive the
        # wall clock's deadlines. Each ignores the other.
        if self.clock.event_driven != (record is not None):
            EVENTS_IGNORED.labels(self.service, event.type).inc()
            return
        to = data.now
        previous = self.last_tick
        if previous is not None and to <= previous:
            return  # time only moves forward: a stale or repeated tick changes nothing
        hook = self.handlers.tick

        async def on_tick(ctx: HandlerContext, _: Any) -> None:
            ctx.put(CLOCK, {"_id": CLOCK, "now": to})
            # The first tick a service ever sees only sets its clock.
            if hook is not None and previous is not None:
                await hook(ctx, previous.astimezone(self.clock.tz), to.astimezone(self.clock.tz))

        await self._run(event, data, on_tick, record, now=to.astimezone(self.clock.tz))
        self.last_tick = to
        if self.clock.event_driven:
            self.clock.advance(to)

    async def _run(
        self,
        event: CloudEvent,
        data: Payload,
        handler: Handler,
        record: ConsumerRecord[Any, Any] | None,
        now: datetime | None = None,
    ) -> None:
        where = (record.topic, record.partition) if record is not None else None
        done = await self._stored(event.id) if where in self._replaying else None
        if done is None:
            done = await self._handle(event, data, handler, record, now)
            if done is None:
                return  # dead-lettered
        if done.get("done"):
            self._replaying.add(where)
            EVENTS_DUPLICATE.labels(self.service, event.type).inc()
            log.info("duplicate %s %s: already processed, nothing to do", event.type, event.id)
            return
        self._replaying.discard(where)
        await self._apply(done["writes"])
        await self._publish_events(done["events"])
        await self.db[PROCESSED].update_one(
            {"_id": event.id},
            {"$set": {"done": True, "n_writes": len(done["writes"])}, "$unset": {"writes": "", "events": ""}},
        )
        if done["events"]:
            log.debug("%s -> %s", event.type, ", ".join(e["value"]["type"] for e in done["events"]))

    async def _stored(self, event_id: str) -> dict[str, Any] | None:
        """The processed record of an event, if it was seen before."""
        stored: dict[str, Any] | None = await self.db[PROCESSED].find_one({"_id": event_id})
        return stored

    async def _handle(
        self,
        event: CloudEvent,
        data: Payload,
        handler: Handler,
        record: ConsumerRecord[Any, Any] | None,
        now: datetime | None,
    ) -> dict[str, Any] | None:
        """Run the handler and store its processed record; the record that stands (ours, or
        one stored before for the same event id), or None when the event was dead-lettered.

        The handler runs first and the record's unique _id decides: a fresh event costs one
        insert, and only a duplicate costs the look-up of the stored record."""
        ctx = HandlerContext(
            service=self.service,
            event=event,
            clock=self.clock,
            db=self.db,
            now=now,
            settings=self.settings,
        )
        try:
            await handler(ctx, data)
        except Exception as e:
            if is_transient(e):
                raise
            stored = await self._stored(event.id)
            if stored is not None:
                # A redelivery whose record already exists: what was staged then stands.
                log.info(
                    "handler failed on redelivered %s %s; its stored record stands", event.type, event.id
                )
                return stored
            # A handler that cannot cope with a readable event is a defect: keep the message
            # (DLQ, replayable) rather than block the partition or drop it.
            log.exception("handler failed on %s", event.type)
            if record is not None:
                await self.dead_letter(record, "handler_error", f"{type(e).__name__}: {e}")
            return None
        record_doc: dict[str, Any] = {
            "_id": event.id,
            "type": event.type,
            "at": datetime.now(UTC),
            "writes": ctx.writes,
            "events": ctx.events,
            "done": False,
        }
        try:
            await self.db[PROCESSED].insert_one(record_doc)
        except DuplicateKeyError:
            # Seen before: finish the stored record (same writes, same event ids) unless it
            # is done; never what this run recomputed from today's state.
            stored = await self._stored(event.id)
            assert stored is not None
            return stored
        return record_doc

    async def _apply(self, writes: list[dict[str, Any]]) -> None:
        by_collection: dict[str, list[Any]] = {}
        for w in writes:
            ops = by_collection.setdefault(w["c"], [])
            if w["op"] == "put":
                ops.append(ReplaceOne({"_id": w["doc"]["_id"]}, w["doc"], upsert=True))
            else:
                ops.append(DeleteOne({"_id": w["id"]}))
        for collection, ops in by_collection.items():
            # Ordered: a document put twice by one handler ends as its last version.
            await self.db[collection].bulk_write(ops, ordered=True)

    async def _publish_events(self, events: list[dict[str, Any]]) -> None:
        confirmations = []
        for e in events:
            value = e["value"]
            confirmations.append(
                await self._send(
                    e["topic"],
                    CloudEvent.model_validate(value).to_json(),
                    e["key"].encode() if e.get("key") else None,
                )
            )
        for confirmation, e in zip(confirmations, events, strict=True):
            await confirmation
            EVENTS_EMITTED.labels(self.service, e["value"]["type"]).inc()

    async def publish(self, topic: str, value: bytes, key: bytes | None) -> None:
        """Publish one record and wait for the broker's acknowledgement."""
        await (await self._send(topic, value, key))

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as e:
            # The partitions moved to another consumer (rebalance). Their messages will be
            # redelivered there, and the processed records make that a no-op.
            log.warning("offsets %s not committed: %s", offsets, e)

    async def dead_letter(self, record: ConsumerRecord[Any, Any], kind: str, reason: str) -> None:
        key = record.key.decode("utf-8", "replace") if isinstance(record.key, bytes) else record.key
        letter = DeadLetter(
            service=self.service,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=key,
            reason=f"{kind}: {reason}",
            original=base64.b64encode(record.value or b"").decode(),
        )
        event = make_event(
            id=derived_event_id(self.service, f"dlq/{record.topic}/{record.partition}/{record.offset}", 0),
            type="dlq.recorded",
            source=f"pbz/{self.service}",
            time=datetime.now(UTC),
            subject=record.topic,
            data=letter.model_dump(mode="json"),
        )
        await self.publish(
            Topic.DLQ.value, event.to_json(), record.key if isinstance(record.key, bytes) else None
        )
        EVENTS_DLQ.labels(self.service, record.topic, kind).inc()
        log.warning(
            "unreadable message %s-%s@%s sent to pbz.dlq: %s: %s",
            record.topic,
            record.partition,
            record.offset,
            kind,
            reason,
        )

    async def _retrying(self, step: Callable[[], Awaitable[None]]) -> None:
        delay = self.retry_initial_s
        while True:
            try:
                await step()
            except Exception as e:
                if not is_transient(e):
                    # Our own step failed for a reason that is not the infrastructure's
                    # (a defect). Waiting is safer than skipping: nothing is lost.
                    log.exception("pipeline step failed; retrying in %.1fs", delay)
                else:
                    log.warning("transient failure (%s: %s); retrying in %.1fs", type(e).__name__, e, delay)
                self.waiting_on = f"{type(e).__name__}: {e}"
                WAITING.labels(self.service).set(1)
                TRANSIENT_RETRIES.labels(self.service).inc()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_s)
                continue
            if self.waiting_on is not None:
                log.info("recovered after transient failure: %s", self.waiting_on)
                self.waiting_on = None
                WAITING.labels(self.service).set(0)
            return


def kafka_publisher(broker: KafkaBroker) -> Publish:
    async def publish(topic: str, value: bytes, key: bytes | None) -> Awaitable[Any]:
        future: Awaitable[Any] = await broker.publish(
            value, topic=topic, key=key, headers={"content-type": CONTENT_TYPE}, no_confirm=True
        )
        return future

    return publish


__all__ = [
    "HandlerContext",
    "Handlers",
    "Pipeline",
    "TransientError",
    "is_transient",
    "kafka_publisher",
]
