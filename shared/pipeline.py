"""The consumer pipeline every service uses.

raw bytes -> headers and envelope -> payload model by ``type`` (bounded, declared fields
only) -> route to the aggregate's topic and key -> domain handler -> stored effect ->
emitted events -> offset commit.

How "exactly once in effect" is kept without multi-document transactions (FerretDB 1.x
and a plain MongoDB have none to rely on here):

1. The domain handler does not write. It *stages* writes (``ctx.put`` / ``ctx.delete``,
   whole documents, set semantics) and events (``ctx.emit``) on a :class:`HandlerContext`.
2. The pipeline checks that all of it can be stored and published (no NUL, no unsafe field
   names, no NaN, no integer beyond 64 bits, every event within ``max_event_bytes``), then
   stores one *processed record* ``{_id: (source, id), body, done: false}`` (``body``: the
   writes and events as one BSON value, cheaper for FerretDB to store and to mark done) —
   a single document, so it is atomic — in ``processed_events``. The key is the
   CloudEvents identity, source and id (R6): the unique ``_id`` makes a redelivery a no-op.
3. It applies the writes (idempotent replace/delete; an *aggregate*'s document carries a
   ``version`` and is replaced only over an older one, so a late copy never overwrites a
   newer state), publishes the events (ids derived from the cause, so a re-publish carries
   the same ids), marks the record done, and only then commits the Kafka offset of exactly
   that message (never "whatever was fetched last": the faststream #2618 class).

A crash anywhere before the commit redelivers the message: a done record makes it a no-op;
an unfinished record is finished (same writes, same event ids), never recomputed. At
start-up, before consuming, every unfinished record is finished, oldest first.

Failures are classified by cause (Eventuous' subscription durability):

- *unreadable* input (headers, envelope, unknown type, payload out of bounds) and
  *permanent* failures (the store or the broker refuses this message's effect: encoding,
  size, validation; a handler defect) dead-letter the message to ``pbz.dlq`` at once, with
  the reason, and the consumer goes on;
- an *outage* (Mongo or Kafka unreachable, a retriable Kafka error, ``TransientError``)
  keeps the partition waiting with backoff, ``/readyz`` red, for as long as it lasts: an
  outage never empties the input into the DLQ;
- a failure of *unknown* cause, or a Mongo "connection" failure or timeout that repeats on
  the same message while the store answers its ping (FerretDB closes the connection on a
  document it cannot store), is retried ``retry_attempts`` times and then dead-lettered
  with reason ``retry_exhausted``.

Batches as units of work, each partition in its own lane (issue 17):

- Lanes (the default, ``feed``): what a fetch returns is queued by partition and the next
  fetch taken at once; one task per partition (its *lane*, started when it has records)
  handles its queue in order, what is queued at a time (at most ``batch_max_records``) as one
  batch, and commits its last offset once the batch is stored. No service-wide lock: R1 makes
  the writers of an aggregate one partition's, so two partitions never write the same
  aggregate (as two instances of a service each owning some partitions never do). A message
  is no longer kept waiting for the rest of its fetch: a command's forward to the work topic
  goes out while another partition's batch is in hand. Fetching waits while the lanes hold
  more than five batches, so a backlog stays in Kafka. A partition revoked (or a stop) drops
  what is queued and not in hand, uncommitted: its next owner reads it again. The clock's
  ticks take the same path (``pbz.clock`` is one more partition). Copies of one event on two
  partitions (R6) are taken in turn within the process (``_holding``), so its events go out
  once. ``partitions="topic"`` / ``"all"`` / ``"serial"`` handle a fetch at a time instead
  (``handle_batch``): "topic" a topic's partitions side by side and the topics in the order
  the fetch returned them, "all" every partition side by side, "serial" one at a time.
- A partition's share is one unit of work (``shared/unit_of_work.py``): the handlers run in
  order over it, each seeing what earlier messages of the batch staged (``ctx.get``), the
  documents read once per batch; a query through ``ctx.db`` on a collection the batch has
  unstored writes to stores the batch so far first, then runs the message again, so it
  sees what it would alone. Then one ``insert_many`` (the messages' records and the batch's
  record), the writes in one unordered bulk per collection, the events sent pipelined, one
  update by ``_id`` marking the batch done, one commit.
- Whatever is not plain splits the batch: an unreadable message, one to forward, a tick,
  one seen before, a handler that fails (even transiently), an effect that cannot be
  stored, a batch whose insert is refused. The unit so far is stored, then that message
  takes the one-message path below — so its outcome (effect, events, dead letter, waiting)
  is exactly what it would be alone — and the batch goes on after it.

Why the "done" mark is one update of the *batch's* record, not ``update_many`` of the
messages' records, nor implied by the committed offset: FerretDB answers a filter on
``_id: {$in: [...]}`` by scanning the collection (1.3 s for 50 records of a small test
collection on this machine, against 5 ms for one update by ``_id``), so each message's
record only *names* its batch's record (``batch``), which carries the batch's writes and
events and is finished like any record: applied, published, marked done by ``_id``. A
redelivered message resolves to its batch's record (``_stored``): done, a no-op; not done,
the whole batch is finished from it (same writes, same event ids). The committed offset
could not stand for "done": a replay or a reset of the group's offsets moves it back, and
start-up recovery must find unfinished effects without asking Kafka. The records are
inserted before the batch's (one ordered insert): a crash between leaves records naming a
batch that does not exist, which count as not stored and are removed when met again — once
older than ``BATCH_INSERT_WINDOW``: younger, the batch may be being inserted by the lane of
another partition holding a copy of the same event (R6), which is waited for.

Dead letters are bounded: the original value is kept up to ``dlq_original_max_bytes``,
with its full length and SHA-256.

The concurrency contract (R1-R6) in the pipeline:

- ``Handlers.on(type, key=..., topic=...)`` names the aggregate a message changes: one that
  arrives on another topic, or keyed otherwise, is re-published unchanged to ``topic`` with
  that key (its identity unchanged), and handled there. So every aggregate is written from
  one topic's partitions, keyed by the aggregate (R1).
- ``Handlers.aggregate(collection)`` declares aggregate collections: ``ctx.put`` sets their
  ``version`` (+1 over the stored one) and the write applies only over an older version (R3).
- Clock ticks come only from ``pbz.clock`` (R5): with ``PBZ_CLOCK=events`` those of any
  clock, with the wall clock those the services' tickers publish (deterministic ids, so
  the copies from every instance are one tick). A redelivered tick is finished from its
  record; a tick more than ``clock_max_skew_hours`` ahead of the last one (or, wall clock,
  of the machine's time) is refused to the DLQ; a tick that fails does not move the clock,
  and ``/readyz`` says so until a later tick succeeds. A tick that only moves the clock
  (nothing else written, nothing emitted: most of them) stores no processed record: there is
  nothing to finish after a crash, and its copy is "not later" than the clock it wrote.

Handler API (source-compatible; additions marked *new*): ``ctx.get``, ``ctx.put``,
``ctx.delete``, ``ctx.emit``, ``ctx.db`` (reads), ``ctx.event``, ``ctx.now``,
``ctx.moment``, ``ctx.tz``, ``ctx.settings``; ``Handlers.on``, ``Handlers.on_tick``;
*new*: ``Handlers.on(..., key=, topic=)``, ``Handlers.aggregate(...)``, ``PermanentError``.
Each step of a message is its own small method, so a batching pipeline can reuse them.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import dataclasses
import functools
import hashlib
import logging
import time as _time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import bson
from aiokafka import TopicPartition
from aiokafka.errors import (
    CommitFailedError,
    IllegalStateError,
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    ProducerClosed,
)
from bson import Binary
from bson.errors import BSONError
from pydantic import BaseModel
from pymongo import DeleteOne, InsertOne, ReplaceOne
from pymongo.errors import (
    BulkWriteError,
    ConnectionFailure,
    DuplicateKeyError,
    ExecutionTimeout,
    OperationFailure,
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
from .events.catalog import ClockTicked, DeadLetter, unsafe_value
from .logs import current_correlation_id, current_event_id
from .metrics import (
    EVENTS_CONSUMED,
    EVENTS_DLQ,
    EVENTS_DUPLICATE,
    EVENTS_EMITTED,
    EVENTS_IGNORED,
    EVENTS_ROUTED,
    HANDLER_SECONDS,
    STALE_WRITES,
    STEP_SECONDS,
    TRANSIENT_RETRIES,
    WAITING,
)
from .unit_of_work import FlushFirst, GuardedDb, Read, Unit, equals

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer, ConsumerRecord
    from faststream.kafka import KafkaBroker
    from motor.motor_asyncio import AsyncIOMotorDatabase

log = logging.getLogger("pbz.pipeline")

PROCESSED = "processed_events"
CLOCK = "clock"
# The wall-clock tickers of every service instance publish under this source.
WALL_CLOCK_SOURCE = "pbz/wall-clock"

P = TypeVar("P", bound=Payload)
Handler = Callable[["HandlerContext", Any], Awaitable[None]]
TickHook = Callable[["HandlerContext", datetime, datetime], Awaitable[None]]
KeyOf = Callable[[CloudEvent, Any], str]
# What a handler will read, from its message's data: read for a whole batch at once.
ReadsOf = Callable[[Any], Iterable[Read]]
# A key that needs the service's own store to be known (a permit command names its permit; the
# permit's partition key is its project): read, never written, before the message is routed.
StoreKeyOf = Callable[[CloudEvent, Any, "AsyncIOMotorDatabase[Any]"], Awaitable[str]]
# Sends one record and returns its delivery confirmation (awaited once a batch is sent,
# so several events of one message go out in order without a round trip each).
Publish = Callable[[str, bytes, bytes | None], Awaitable[Awaitable[Any]]]
Failure = Literal["outage", "permanent", "unknown"]


class TransientError(Exception):
    """Raise from a handler when a dependency is temporarily unavailable: the message waits
    (never dead-lettered) until it is available again."""


class PermanentError(Exception):
    """This message's effect can never be stored or published: dead-letter it at once."""

    kind = "permanent_failure"

    def __init__(self, reason: str, kind: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if kind is not None:
            self.kind = kind


class EventTooLarge(PermanentError):
    kind = "event_too_large"


def classify(exc: BaseException) -> Failure:
    """Whose failure is it: the infrastructure's (``outage``: wait), the message's
    (``permanent``: dead-letter), or nobody knows (``unknown``: retry, bounded)."""
    if isinstance(exc, PermanentError | UnreadableEvent):
        return "permanent"
    if isinstance(exc, TransientError):
        return "outage"
    if isinstance(exc, KafkaError):
        # aiokafka marks some outages as not retriable: a send that found no broker in time.
        if isinstance(exc, KafkaTimeoutError | KafkaConnectionError | ProducerClosed):
            return "outage"
        return "outage" if exc.retriable else "permanent"
    if isinstance(exc, ConnectionFailure | ExecutionTimeout | WTimeoutError):
        # AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError, NotPrimaryError...
        return "outage"
    if isinstance(exc, OperationFailure):
        if exc.has_error_label("RetryableWriteError") or exc.has_error_label("TransientTransactionError"):
            return "outage"
        return "permanent"  # the server refused the operation itself
    if isinstance(exc, BSONError | OverflowError | UnicodeError):
        return "permanent"  # the document cannot be encoded (InvalidDocument, DocumentTooLarge...)
    if isinstance(exc, TimeoutError | ConnectionError):
        return "outage"
    return "unknown"


def is_transient(exc: BaseException) -> bool:
    """Kept for callers of the previous API: an outage, retried until it ends."""
    return classify(exc) == "outage"


def _mongo_failure(exc: BaseException) -> bool:
    return isinstance(exc, PyMongoError | TimeoutError | ConnectionError)


class _GiveUp(Exception):
    """Internal: the attempts at a message ended; dead-letter it with this reason."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind = kind
        self.reason = reason


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
        aggregates: Iterable[str] = (),
        max_event_bytes: int = 1_000_000,
        unit: Unit | None = None,
    ) -> None:
        self.service = service
        self.settings = settings  # the service's Settings (limits, grace periods...)
        self.event = event
        self.clock = clock
        self._store = db
        # In a batch, queries see the store as this message alone would (shared/unit_of_work.py).
        self.db: AsyncIOMotorDatabase[Any] = db if unit is None else GuardedDb(db, unit)  # type: ignore[assignment]
        self._unit = unit
        self.now: datetime = now or clock.now()
        self.tz = clock.tz
        self.writes: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self._staged: dict[tuple[str, Any], dict[str, Any] | None] = {}
        self._aggregates = frozenset(aggregates)
        self._read_versions: dict[tuple[str, Any], int] = {}
        self._versions: dict[tuple[str, Any], int | None] = {}
        self._max_event_bytes = max_event_bytes
        # Documents read and not found: a plain one put afterwards is new (an insert, cheaper
        # in FerretDB than an upsert; the store's duplicate key still falls back to a replace).
        self._absent: set[tuple[str, Any]] = set()

    @property
    def moment(self) -> datetime:
        """The later of the clock's now and the event's time (SPEC §3.3)."""
        return max(self.now, self.event.time).astimezone(self.tz)

    @property
    def correlation_id(self) -> str:
        return self.event.correlationid or self.event.id

    def put(self, collection: str, doc: dict[str, Any]) -> None:
        """Stage a whole document (replaced by ``_id``, inserted if new). An aggregate's
        document gets ``version`` = the stored version + 1 (once per message) — unless the
        domain raised it itself past the version read (a state machine that counts each
        recorded change, R3): then its own version stands."""
        if "_id" not in doc:
            raise ValueError(f"a document for {collection!r} needs an _id")
        key = (collection, doc["_id"])
        if collection in self._aggregates:
            read, own = self._read_versions.get(key), doc.get("version")
            if read is not None and isinstance(own, int) and own > read:
                self._versions[key] = own
            elif key not in self._versions:
                base = self._read_versions.get(key, doc.get("version"))
                self._versions[key] = None if base is None else int(base) + 1
            doc = {**doc, "version": self._versions[key]}
        write: dict[str, Any] = {"op": "put", "c": collection, "doc": doc}
        if key in self._absent and collection not in self._aggregates:
            write["new"] = True
        self.writes.append(write)
        self._staged[key] = doc

    def delete(self, collection: str, _id: Any) -> None:
        self.writes.append({"op": "delete", "c": collection, "id": _id})
        self._staged[(collection, _id)] = None

    async def get(self, collection: str, _id: Any) -> dict[str, Any] | None:
        """Read a document, seeing what this handler staged before it."""
        key = (collection, _id)
        if key in self._staged:
            return self._staged[key]
        known, doc = self._unit.known(key) if self._unit is not None else (False, None)
        if not known:
            doc = await self._store[collection].find_one({"_id": _id})
            if self._unit is not None:
                self._unit.remember(key, doc)
        if doc is None:
            self._absent.add(key)
        if collection in self._aggregates:
            self._read_versions.setdefault(key, int((doc or {}).get("version") or 0))
        return doc

    async def find(self, collection: str, **equal: Any) -> list[dict[str, Any]]:
        """The documents whose top-level fields equal the given values, as this message alone
        would find them (what earlier messages of its batch staged included; like a query
        through ``db``, not what this handler staged itself)."""
        cached = None
        if self._unit is not None and len(equal) == 1:
            [(field, value)] = equal.items()
            cached = self._unit.found.get((collection, field, value))
        if cached is None:
            cached = await self._store[collection].find(equal).to_list(None)
        return self._unit.overlay(collection, equal, cached) if self._unit is not None else cached

    def emit(
        self,
        event_type: str,
        data: BaseModel | dict[str, Any],
        *,
        key: str | None,
        subject: str | None = None,
        time: datetime | None = None,
    ) -> CloudEvent:
        """Stage an event. Its data is checked against the catalogue (a service cannot emit
        anything the contract does not allow) and its size against the broker's limit."""
        spec = spec_for(event_type)
        raw = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
        payload = spec.model.model_validate(raw).model_dump(mode="json")
        event = make_event(
            id=derived_event_id(self.service, self.event.idempotency_key, len(self.events)),
            type=event_type,
            source=f"pbz/{self.service}",
            time=time or self.moment,
            subject=subject or key,
            correlationid=self.correlation_id,
            causationid=self.event.id,
            data=payload,
            extensions=tracing.outgoing(),  # the trace context goes on with the event
        )
        size = len(event.to_json())
        if size > self._max_event_bytes:
            raise EventTooLarge(
                f"{event_type} would be {size} bytes, over the limit of {self._max_event_bytes} "
                "(PBZ_MAX_EVENT_BYTES)"
            )
        self.events.append(
            {"topic": spec.topic.value, "key": key, "value": event.model_dump(mode="json", exclude_none=True)}
        )
        return event

    def _put_at_version(self, collection: str, doc: dict[str, Any], version: int) -> None:
        """Pipeline-internal: an aggregate whose version is given (the clock: its time)."""
        doc = {**doc, "version": version}
        self._versions[(collection, doc["_id"])] = version
        self.writes.append({"op": "put", "c": collection, "doc": doc})
        self._staged[(collection, doc["_id"])] = doc

    def _unresolved_versions(self) -> list[tuple[str, Any]]:
        return [k for k, v in self._versions.items() if v is None]

    def _resolve_version(self, key: tuple[str, Any], stored: int) -> None:
        self._versions[key] = stored + 1
        for w in self.writes:
            if w["op"] == "put" and (w["c"], w["doc"]["_id"]) == key:
                w["doc"]["version"] = stored + 1


@dataclass(frozen=True)
class Route:
    """Where a type's handler runs: the topic its aggregate is written from, and its key."""

    key: KeyOf | None
    topic: str | None = None  # None: the type's own topic
    key_from_store: StoreKeyOf | None = None

    async def key_of(self, event: CloudEvent, data: Any, db: AsyncIOMotorDatabase[Any]) -> str:
        if self.key_from_store is not None:
            return await self.key_from_store(event, data, db)
        assert self.key is not None
        return self.key(event, data)


class Handlers:
    """A service's map from event type to domain handler, plus its clock hook."""

    def __init__(self) -> None:
        self.by_type: dict[str, Handler] = {}
        self.routes: dict[str, Route] = {}
        self.reads: dict[str, ReadsOf] = {}
        self.key_reads: dict[str, ReadsOf] = {}
        self.aggregates: set[str] = set()
        self.tick: TickHook | None = None

    def on(
        self,
        event_type: str,
        *,
        key: KeyOf | None = None,
        topic: Topic | str | None = None,
        key_from_store: StoreKeyOf | None = None,
        reads: ReadsOf | None = None,
        key_reads: ReadsOf | None = None,
    ) -> Callable[[Handler], Handler]:
        """Register the handler of a type. ``key(event, data)``: the partition key of the
        aggregate it changes; a message arriving elsewhere than on ``topic`` (default: the
        type's own), or keyed otherwise, is re-published there with that key first, byte for
        byte (its identity and its actor, the CloudEvents authcontext, travel with it).
        ``key_from_store(event, data, db)``: the same, for a key only the service's store knows
        (it reads, never writes; an outage while reading waits like any other).
        ``reads(data)``: what the handler will read (``ctx.get``, ``ctx.find``), read for
        the messages of a batch at once — a declaration for speed only: the handler reads
        the same with or without it. ``key_reads(data)``: the same for what ``key_from_store``
        reads (by ``_id``, through ``db.find_one``): a batch of commands to forward reads
        their keys at once."""
        spec_for(event_type)  # fail at import time on a type the catalogue lacks
        if reads is not None:
            self.reads[event_type] = reads
        if key_reads is not None:
            self.key_reads[event_type] = key_reads
        if key is not None or key_from_store is not None:
            home = None if topic is None else str(Topic(topic).value)
            self.routes[event_type] = Route(key, home, key_from_store)

        def register(fn: Handler) -> Handler:
            self.by_type[event_type] = fn
            return fn

        return register

    def aggregate(self, *collections: str) -> None:
        """Declare collections whose documents are aggregates: versioned, replaced only
        over an older version (R3)."""
        self.aggregates.update(collections)

    def on_tick(self, fn: TickHook) -> TickHook:
        """Called with (previous now, new now) whenever the clock moves: deadlines, closes.
        Keep it bounded: emit one follow-up per aggregate to the work topic (R4)."""
        self.tick = fn
        return fn

    def home_of(self, event_type: str) -> str:
        route = self.routes.get(event_type)
        return (route.topic if route and route.topic else None) or spec_for(event_type).topic.value


# --------------------------------------------------------------------------- the pipeline


@dataclass
class _Lane:
    """One partition's queue of fetched records and the task handling it."""

    records: collections.deque[ConsumerRecord[Any, Any]] = dataclasses.field(
        default_factory=collections.deque
    )
    in_hand: int = 0
    task: asyncio.Task[None] | None = None


@dataclass
class Limits:
    """The pipeline's bounds, from the service's settings."""

    retry_initial_s: float = 0.2
    retry_max_s: float = 10.0
    retry_attempts: int = 5
    max_event_bytes: int = 1_000_000
    dlq_original_max_bytes: int = 65_536
    clock_max_skew: timedelta = timedelta(days=92)
    lane_batch_records: int = 100  # a lane takes at most this many of its queue as one batch
    lane_max_records: int = 500  # fetching waits while the lanes hold more than this

    @classmethod
    def of(cls, settings: Any) -> Limits:
        if settings is None:
            return cls()
        return cls(
            retry_initial_s=settings.retry_initial_s,
            retry_max_s=settings.retry_max_s,
            retry_attempts=settings.retry_attempts,
            max_event_bytes=settings.max_event_bytes,
            dlq_original_max_bytes=settings.dlq_original_max_bytes,
            clock_max_skew=timedelta(hours=settings.clock_max_skew_hours),
            lane_batch_records=settings.batch_max_records,
            lane_max_records=5 * settings.batch_max_records,
        )


class Pipeline:
    def __init__(
        self,
        *,
        service: str,
        handlers: Handlers,
        db: AsyncIOMotorDatabase[Any],
        clock: Clock,
        publish: Publish,
        retry_initial_s: float | None = None,
        retry_max_s: float | None = None,
        settings: Any = None,
    ) -> None:
        self.service = service
        self.settings = settings
        self.handlers = handlers
        self.db = db
        self.clock = clock
        self._send = publish
        self.limits = Limits.of(settings)
        # "lanes" (the default): each partition's lane handles its records as they come (``feed``).
        # The others take a fetch at a time (``handle_batch``); "topic" keeps a fetch's topics in
        # the order it returned them.
        self._partitions = str(getattr(settings, "partitions", "lanes"))
        if retry_initial_s is not None:
            self.limits.retry_initial_s = retry_initial_s
        if retry_max_s is not None:
            self.limits.retry_max_s = retry_max_s
        # Offsets whose effects are stored, waiting to be committed by the committer task.
        self._pending: dict[TopicPartition, int] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._commit_wakeup = asyncio.Event()
        self._committer: asyncio.Task[None] | None = None
        self._stopped = False  # no committer is started once stopping
        self.waiting_on: str | None = None  # set while a failure is being waited out
        self.clock_problem: str | None = None  # set while the clock is stopped by a failed tick
        # The first offset of the batch in hand (or queued on its lane), per partition.
        self._inflight: dict[TopicPartition, int] = {}
        self._lanes: dict[TopicPartition, _Lane] = {}
        # Records this process has stored and is finishing (a message's or a batch's id): a lane
        # that meets one (a copy of the same event on another partition) waits for it to be
        # done instead of finishing it a second time (its events would go out twice).
        self._in_hand: dict[str, tuple[asyncio.Task[Any] | None, asyncio.Event]] = {}
        self._room = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._clock_checked = 0.0
        # Partitions being replayed (the last message was a duplicate): redeliveries come in
        # runs, so there the stored record is looked up before the handler runs.
        self._replaying: set[tuple[str, int] | None] = set()
        self.last_tick: datetime | None = None  # the clock as this service last acted on it
        # Operations seam (shared/replay.py): False drops a record a replay will deliver again.
        self.admit: Callable[[ConsumerRecord[Any, Any]], bool] | None = None
        # Test seams: called between "effect stored" and "offset committed", and between
        # "writes applied" and "events published".
        self.before_commit: Callable[[ConsumerRecord[Any, Any]], Awaitable[None]] | None = None
        self.before_publish: Callable[[dict[str, Any]], Awaitable[None]] | None = None

    @contextlib.contextmanager
    def _timed(self, step: str) -> Iterator[None]:
        """Where a service's time goes, per store and broker step (``pbz_pipeline_step_seconds``)."""
        started = _time.perf_counter()
        try:
            yield
        finally:
            STEP_SECONDS.labels(self.service, step).observe(_time.perf_counter() - started)

    @contextlib.asynccontextmanager
    async def _holding(self, record_id: str) -> AsyncIterator[None]:
        """While a lane stores and finishes a record (a message's, by its event's identity, or
        a batch's): another lane of this process with a copy of the same event waits for it
        (here, and in ``_stored``) rather than finish it a second time — its events would go
        out twice. Copies handled by two instances are told apart by the store alone."""
        while await self._held_elsewhere(record_id):
            pass  # released: another copy may have taken it meanwhile
        if record_id in self._in_hand:  # this lane holds it already
            yield
            return
        released = asyncio.Event()
        self._in_hand[record_id] = (asyncio.current_task(), released)
        try:
            yield
        finally:
            del self._in_hand[record_id]
            released.set()

    async def _held_elsewhere(self, record_id: str) -> bool:
        """Wait while another lane of this process holds the record; True if one did."""
        held = self._in_hand.get(record_id)
        if held is None or held[0] is asyncio.current_task():
            return False
        await held[1].wait()
        return True

    # ------------------------------------------------------------------ entry points

    async def handle_record(
        self, record: ConsumerRecord[Any, Any], consumer: AIOKafkaConsumer | None
    ) -> None:
        """Process one Kafka record to the end (effect stored, or dead-lettered, or
        forwarded), then commit exactly its offset. Returns only when that is so."""
        await self.handle_batch([record], consumer)

    async def handle_batch(
        self, records: Iterable[ConsumerRecord[Any, Any]], consumer: AIOKafkaConsumer | None
    ) -> None:
        """Process what one fetch returned: one task per partition, a topic's partitions side
        by side, each partition's records in order as one unit of work; then commit each
        partition's last offset. Returns only when every record's effect is stored (or
        dead-lettered, or forwarded)."""
        by_partition: dict[TopicPartition, list[ConsumerRecord[Any, Any]]] = {}
        for record in records:
            if consumer is not None and self.admit is not None and not self.admit(record):
                continue  # a replay is rebuilding the store: it reads this record itself
            by_partition.setdefault(TopicPartition(record.topic, record.partition), []).append(record)
        if not by_partition:
            return
        for tp, batch in by_partition.items():
            self._inflight[tp] = batch[0].offset
        self._idle.clear()
        # Side by side: the partitions of one topic (the default), every partition ("all"), or
        # none ("serial"); the groups one after another in the order they came.
        groups: dict[Any, list[TopicPartition]] = {}
        for tp in by_partition:
            group = {"all": "", "lanes": "", "serial": tp}.get(self._partitions, tp.topic)
            groups.setdefault(group, []).append(tp)
        results: list[Any] = []
        try:
            for tps in groups.values():
                results += await asyncio.gather(
                    *(self._partition_task(tp, by_partition[tp], consumer) for tp in tps),
                    return_exceptions=True,
                )
        finally:
            for tp in by_partition:
                self._inflight.pop(tp, None)
            if not self._inflight:
                self._idle.set()
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def idle(self) -> None:
        """Return once no batch is in hand (the messages being handled have finished)."""
        await self._idle.wait()

    # ------------------------------------------------------------------ lanes

    @property
    def continuous(self) -> bool:
        """Fetches are fed to the partitions' lanes (``feed``), not handled one at a time."""
        return self._partitions == "lanes"

    async def feed(
        self, records: Iterable[ConsumerRecord[Any, Any]], consumer: AIOKafkaConsumer | None
    ) -> None:
        """Queue what one fetch returned on its partitions' lanes and return, so the next
        fetch is taken while these are handled: a lane (one task per partition, started when
        its partition has records) handles its queue in order, what is queued at a time as
        one batch, and commits as ``handle_batch`` does. Waits while more than
        ``lane_max_records`` are queued, so a backlog stays in Kafka, not in memory."""
        if self._stopped:
            return  # not committed: read again by whoever takes the partitions
        fed: set[TopicPartition] = set()
        for record in records:
            if self.admit is not None and not self.admit(record):
                continue  # a replay is rebuilding the store: it reads this record itself
            tp = TopicPartition(record.topic, record.partition)
            self._lanes.setdefault(tp, _Lane()).records.append(record)
            self._inflight.setdefault(tp, record.offset)
            fed.add(tp)
        for tp in fed:
            lane = self._lanes[tp]
            if lane.task is None or lane.task.done():
                self._idle.clear()
                lane.task = asyncio.create_task(self._run_lane(tp, lane, consumer), name=f"lane-{tp}")
        while self._queued > self.limits.lane_max_records and not self._stopped:
            self._room.clear()
            await self._room.wait()

    async def _run_lane(self, tp: TopicPartition, lane: _Lane, consumer: AIOKafkaConsumer | None) -> None:
        try:
            while lane.records:
                n = min(len(lane.records), self.limits.lane_batch_records)
                batch = [lane.records.popleft() for _ in range(n)]
                lane.in_hand = n
                # A failure that escapes the steps (a defect) is logged and the batch handled
                # again (its stored part is a no-op): a partition's messages are never skipped.
                await self._waiting_out(functools.partial(self._partition_task, tp, batch, consumer))
                lane.in_hand = 0
                self._room.set()
                if lane.records:
                    self._inflight[tp] = lane.records[0].offset
        finally:
            # Normally the queue is empty here; cancelled (a stop), what is left is dropped,
            # uncommitted: it is read again.
            lane.records.clear()
            lane.in_hand = 0
            self._inflight.pop(tp, None)
            self._room.set()
            if not self._inflight:
                self._idle.set()

    @property
    def _queued(self) -> int:
        return sum(len(lane.records) + lane.in_hand for lane in self._lanes.values())

    async def _drop_lanes(self, tps: Iterable[TopicPartition], budget_s: float) -> None:
        """Partitions going away (a rebalance, a stop): what is queued and not yet in hand is
        dropped, uncommitted (whoever takes the partition reads it again); the batch in hand
        finishes, within the budget."""
        tasks = []
        for tp in tps:
            lane = self._lanes.get(tp)
            if lane is None:
                continue
            lane.records.clear()
            if lane.task is not None and not lane.task.done():
                tasks.append(lane.task)
        self._room.set()
        if tasks:
            await asyncio.wait(tasks, timeout=budget_s)

    async def _partition_task(
        self, tp: TopicPartition, records: list[ConsumerRecord[Any, Any]], consumer: AIOKafkaConsumer | None
    ) -> None:
        await self._handle_partition(records)
        if self.before_commit is not None:
            await self.before_commit(records[-1])
        if consumer is not None:
            self._enqueue_commit(consumer, tp, records[-1].offset + 1)

    def _enqueue_commit(self, consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> None:
        # A committer task sends the newest stored offset per partition: one commit per
        # message when idle, coalesced under load, never past a message not finished.
        self._pending[tp] = offset
        self._consumer = consumer
        self._commit_wakeup.set()
        if self._stopped:
            # A batch that finished while the service stops: its offset is not committed (the
            # consumer is going), so it is redelivered to whoever takes the partition — a no-op
            # on its stored record. A committer started now would outlive the event loop.
            return
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_loop(), name=f"{self.service}-committer")

    async def _commit_loop(self) -> None:
        while True:
            await self._commit_wakeup.wait()
            self._commit_wakeup.clear()
            await self.flush_commits()

    async def flush_commits(self, only: set[TopicPartition] | None = None) -> None:
        """Commit every stored-but-uncommitted offset now (of ``only`` those partitions)."""
        if not self._pending or self._consumer is None:
            return
        if only is None:
            batch, self._pending = self._pending, {}
        else:
            batch = {tp: o for tp, o in self._pending.items() if tp in only}
            for tp in batch:
                del self._pending[tp]
        if batch:
            consumer = self._consumer
            await self._waiting_out(lambda: self._commit(consumer, batch))

    async def stop(self) -> None:
        self._stopped = True
        await self._drop_lanes(list(self._lanes), 5)
        for lane in self._lanes.values():
            if lane.task is not None and not lane.task.done():
                lane.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await lane.task
        if self._committer is not None:
            self._committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._committer
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.flush_commits(), 5)

    async def load_clock(self) -> None:
        doc = await self.db[CLOCK].find_one({"_id": CLOCK})
        if doc is not None:
            if self.last_tick is None or doc["now"] > self.last_tick:
                self.last_tick = doc["now"]
            if self.clock.event_driven:
                self.clock.advance(doc["now"])
        self._clock_checked = _time.monotonic()

    async def recover(self) -> int:
        """Finish every processed record left unfinished by a crash, oldest first."""
        cursor = self.db[PROCESSED].find({"done": False}).sort("at", 1)
        n = 0
        async for record in cursor:
            n += 1
            await self._attempt(
                lambda r=record: self._finish(r),  # type: ignore[misc]
                lambda kind, reason, r=record: self._give_up_record(r, kind, reason),  # type: ignore[misc]
            )
        return n

    # ------------------------------------------------------------------ rebalances

    async def partitions_revoked(self, revoked: set[TopicPartition], budget_s: float) -> None:
        """Before a rebalance: let the message in hand finish (bounded), commit what is
        stored for the partitions going away, and forget their replay state."""
        if self.continuous:
            await self._drop_lanes(revoked, budget_s)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), budget_s)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.flush_commits(revoked), budget_s)
        self._replaying.clear()

    async def partitions_assigned(self, consumer: AIOKafkaConsumer, assigned: set[TopicPartition]) -> None:
        """After a rebalance: a partition the group has never committed gets its starting
        position committed at once, so a crash before its first message cannot move the
        start (``auto_offset_reset=latest``) past messages that arrived meanwhile. Never
        past the message in hand, which may be a first one already fetched."""
        fresh: dict[TopicPartition, int] = {}
        for tp in assigned:
            if await consumer.committed(tp) is None:
                position = await consumer.position(tp)
                if tp in self._inflight:
                    position = min(position, self._inflight[tp])
                fresh[tp] = position
        if fresh:
            await self._commit(consumer, fresh)

    # ------------------------------------------------------------------ batches

    async def _handle_partition(self, records: list[ConsumerRecord[Any, Any]]) -> None:
        """One partition's records in order. A single record takes the one-message path; a
        batch runs its handlers over one unit of work and stores it at once (``_flush``).
        Whatever is not plain (unreadable, forwarded, a tick, seen before, a handler that
        fails, an effect that cannot be stored) splits the batch: the unit so far is stored,
        then that message takes the one-message path, so its outcome is what it would be
        alone; the batch goes on after it."""
        if len(records) == 1:
            await self._alone(records[0])
            return
        if self.clock.event_driven and _time.monotonic() - self._clock_checked > 1.0:
            await self._waiting_out(self.load_clock)
        parsed = [(r, self._readable(r)) for r in records]
        where = (records[0].topic, records[0].partition)
        if (first := parsed[0][1]) is not None and await self._waiting_out_value(
            lambda: self._stored(first[0].idempotency_key)
        ):
            self._replaying.add(where)  # redeliveries come in runs: each one looked up alone
        unit = Unit()
        forwards: list[tuple[ConsumerRecord[Any, Any], CloudEvent, Forward, Awaitable[Any]]] = []
        for i, (record, readable) in enumerate(parsed):
            if readable is not None and where not in self._replaying:
                await self._prefetch(unit, parsed[i : i + UNIT_MAX_MESSAGES])
            outcome = (
                False
                if readable is None or where in self._replaying
                else await self._batched(record, *readable, unit)
            )
            if isinstance(outcome, Forward):
                assert readable is not None
                # After what the unit staged (its events go out first), before what follows.
                # A unit with nothing staged keeps what it read: a forward writes nothing here.
                if unit:
                    await self._flush(unit)
                forwards.append((record, readable[0], outcome, await self._send_forward(record, outcome)))
            elif not outcome:
                await self._flush(unit)
                await self._alone(record)
            elif len(unit) >= UNIT_MAX_MESSAGES or _time.monotonic() - unit.started > UNIT_MAX_SECONDS:
                await self._flush(unit)  # effects and events keep flowing out of a long batch
        await self._flush(unit)
        await self._confirm_forwards(forwards)

    async def _send_forward(self, record: ConsumerRecord[Any, Any], to: Forward) -> Awaitable[Any]:
        """Hand a message to the producer for its aggregate's topic; the broker's answer is
        awaited with the others of the batch (the producer keeps their order)."""
        try:
            return await self._send(to.topic, record.value or b"", to.key.encode())
        except Exception as e:
            return _failed(e)

    async def _confirm_forwards(
        self, forwards: list[tuple[ConsumerRecord[Any, Any], CloudEvent, Forward, Awaitable[Any]]]
    ) -> None:
        """Every forward of the batch acknowledged before its offsets are committed; one that
        was not takes the one-message path (retried, waited out or dead-lettered)."""
        for record, event, to, confirmation in forwards:
            EVENTS_CONSUMED.labels(self.service, record.topic, event.type).inc()
            try:
                with self._timed("forward"):
                    await confirmation
            except Exception as e:
                log.info("forward of %s %s not acknowledged (%s); once more alone", event.type, event.id, e)
                await self._forward(record, event, to.topic, to.key)
                continue
            EVENTS_ROUTED.labels(self.service, event.type).inc()

    async def _prefetch(
        self, unit: Unit, window: list[tuple[ConsumerRecord[Any, Any], tuple[CloudEvent, Payload] | None]]
    ) -> None:
        """Read at once what the coming messages' handlers declare they will read, unless the
        unit already knows what the first one needs. One query per collection and field; a
        failure reads nothing (each handler then reads for itself, and meets it there)."""
        first = self._declared(*window[0])
        if not first or all(unit.knows(r) for r in first):
            return  # the common case inside a batch: read by an earlier message's prefetch
        groups: dict[tuple[str, str], set[Any]] = {}
        for reads in [first, *(self._declared(*message) for message in window[1:])]:
            for r in reads:
                if not unit.knows(r):
                    groups.setdefault((r.collection, r.field), set()).add(r.value)
        for (collection, field), values in groups.items():
            try:
                with self._timed("read"):
                    docs = await self.db[collection].find({field: {"$in": list(values)}}).to_list(None)
            except Exception:
                return
            if field == "_id":
                by_id = {d["_id"]: d for d in docs}
                for v in values:
                    unit.remember((collection, v), by_id.get(v))
            else:
                for v in values:
                    unit.found[(collection, field, v)] = [d for d in docs if equals(d.get(field), v)]

    def _declared(
        self, record: ConsumerRecord[Any, Any], readable: tuple[CloudEvent, Payload] | None
    ) -> list[Read]:
        """What a message will read here: its key's reads, and unless it is on its way to
        another topic (forwarded unhandled), its handler's."""
        if readable is None:
            return []
        event, data = readable
        declared = [self.handlers.key_reads.get(event.type)]
        if event.type not in self.handlers.routes or record.topic == self.handlers.home_of(event.type):
            declared.append(self.handlers.reads.get(event.type))
        try:
            return [r for reads in declared if reads is not None for r in reads(data)]
        except Exception:
            return []

    async def _alone(self, record: ConsumerRecord[Any, Any]) -> None:
        await self._waiting_out(lambda: self._process_record(record))

    def _readable(self, record: ConsumerRecord[Any, Any]) -> tuple[CloudEvent, Payload] | None:
        try:
            _check_headers(record.headers)
            event = decode_envelope(record.value)
            home = self.handlers.home_of(event.type) if event.type in self.handlers.routes else None
            data = parse_data(event, expected_topic=None if record.topic == home else record.topic)
        except Exception:
            return None  # the one-message path says why (dead letter)
        return event, data

    async def _batched(
        self, record: ConsumerRecord[Any, Any], event: CloudEvent, data: Payload, unit: Unit
    ) -> bool | Forward:
        """Stage a plain message in the unit; False: it takes the one-message path; a
        Forward: it goes, as it is, to its aggregate's topic and key."""
        handler = self.handlers.by_type.get(event.type)
        if event.type == "clock.ticked" or handler is None or event.idempotency_key in unit.keys:
            return False
        try:
            return await self._stage(record, event, data, handler, unit)
        except FlushFirst:
            # It reads what the unit has not stored yet: store the unit, then run it alone
            # on an empty one (it cannot ask again: only earlier messages make a collection dirty).
            await self._flush(unit)
            try:
                return await self._stage(record, event, data, handler, unit)
            except FlushFirst:
                return False

    async def _stage(
        self,
        record: ConsumerRecord[Any, Any],
        event: CloudEvent,
        data: Payload,
        handler: Handler,
        unit: Unit,
    ) -> bool | Forward:
        route = self.handlers.routes.get(event.type)
        if route is not None:
            try:
                key = await route.key_of(event, data, GuardedDb(self.db, unit))  # type: ignore[arg-type]
            except Exception:
                return False
            home = self.handlers.home_of(event.type)
            if record.topic != home or _key_text(record.key) != key:
                return Forward(home, key)
        ctx = HandlerContext(
            service=self.service,
            event=event,
            clock=self.clock,
            db=self.db,
            settings=self.settings,
            aggregates=self.handlers.aggregates,
            max_event_bytes=self.limits.max_event_bytes,
            unit=unit,
        )
        t_event = current_event_id.set(event.id)
        t_corr = current_correlation_id.set(event.correlationid or event.id)
        started = _time.perf_counter()
        try:
            with tracing.handling(event, self.service):  # the trace context goes on with its events
                await handler(ctx, data)
            await self._resolve_versions(ctx)
        except Exception:
            return False  # retried, waited out or dead-lettered as it would be alone
        finally:
            current_event_id.reset(t_event)
            current_correlation_id.reset(t_corr)
        doc = self._record_of(event, ctx, record)
        if _unstorable(doc):
            return False
        unit.add(doc, record, event, ctx._staged)
        EVENTS_CONSUMED.labels(self.service, record.topic, event.type).inc()
        HANDLER_SECONDS.labels(self.service, event.type).observe(_time.perf_counter() - started)
        return True

    async def _flush(self, unit: Unit) -> None:
        """Store a unit: one insert of its records, its writes in one bulk per collection,
        its events sent pipelined, one update marking its batch done. A message seen before
        (its record is there): the messages before it are stored as a batch of their own,
        it takes the one-message path (a no-op, or its stored record finished), and the
        ones after it are handled again. Any other failure: each message of the unit takes
        the one-message path, in order — a record already stored is finished from what it
        holds, one not stored is handled again over exactly the state the messages before
        it left."""
        if not unit:
            # What it read may be stale now: the message about to take the one-message path
            # (or be forwarded) writes on its own.
            unit.clear()
            return
        records, causes = list(unit.records), list(unit.causes)
        unit.clear()
        try:
            await self._store_unit(records)
            return
        except BulkWriteError as e:
            seen = _first_duplicate(e)
            if seen is not None:
                log.info(
                    "%s seen before, in a batch of %d: the batch split there",
                    records[seen]["_id"],
                    len(records),
                )
                if seen > 0:
                    await self._flush_records(records[:seen], causes[:seen])
                await self._alone(causes[seen])
                if rest := causes[seen + 1 :]:
                    await self._handle_partition(rest)
                return
            failure: Exception = e
        except Exception as e:
            failure = e
        # The kind of failure only: a bulk error's text holds the documents (personal data).
        log.warning(
            "a batch of %d not stored at once (%s); each message on its own", len(records), _kind_of(failure)
        )
        for cause in causes:
            await self._alone(cause)

    async def _flush_records(
        self, records: list[dict[str, Any]], causes: list[ConsumerRecord[Any, Any]]
    ) -> None:
        try:
            await self._store_unit(records)
        except Exception:
            for cause in causes:
                await self._alone(cause)

    async def _store_unit(self, records: list[dict[str, Any]]) -> None:
        """The batch's record carries every write and event of the batch; each message's
        record names it. One insert for all of them (the batch's record last: until it is
        stored, the messages' records name nothing and count as not stored); then the batch
        record is finished like any record (one update by ``_id`` marks it done).

        The writes and events are kept as one BSON value (``body``): FerretDB stores a document
        as JSON and decodes the whole of it to update it, and one opaque value decodes in half
        the time of the same content as nested documents (measured: a 32-message batch's
        insert 8.8 → 4.8 ms, its done mark 16 → 7.3 ms)."""
        content = {
            "writes": [w for r in records for w in r["writes"]],
            "events": [e for r in records for e in r["events"]],
        }
        batch = self._as_stored(
            {
                "_id": f"batch/{uuid.uuid4()}",
                "type": "batch",
                "at": datetime.now(UTC),
                "keys": [r["_id"] for r in records],
                "from": records[0].get("from"),
                **content,
                "n_writes": sum(r["n_writes"] for r in records),
                "done": False,
            }
        )
        names = [
            {k: r[k] for k in ("_id", "type", "from") if k in r} | {"at": batch["at"], "batch": batch["_id"]}
            for r in records
        ]
        async with self._holding(batch["_id"]):
            try:
                with self._timed("record"):
                    await self.db[PROCESSED].insert_many([*names, batch], ordered=True)
            except Exception:
                # A message seen before (or an outage): nothing of this batch may stand (a server
                # may have gone on past the refused insert). What a crash leaves here is cleared
                # when it is met again (``_stored``).
                with contextlib.suppress(Exception):
                    ops = [DeleteOne({"_id": batch["_id"]})]
                    ops += [DeleteOne({"_id": n["_id"], "batch": batch["_id"]}) for n in names]
                    for chunk in _chunks(ops):
                        await self.db[PROCESSED].bulk_write(chunk, ordered=True)
                raise
            # (Each message's line in the log, as alone: what it was, what it caused.)
            await self._finish({**batch, **content, "messages": records})

    # ------------------------------------------------------------------ steps

    async def _process_record(self, record: ConsumerRecord[Any, Any]) -> None:
        try:
            _check_headers(record.headers)
            event = decode_envelope(record.value)
            home = self.handlers.home_of(event.type) if event.type in self.handlers.routes else None
            data = parse_data(event, expected_topic=None if record.topic == home else record.topic)
        except UnreadableEvent as e:
            kind, reason = e.kind, e.reason
            await self._waiting_out(lambda: self.dead_letter(record, kind, reason))
            return
        EVENTS_CONSUMED.labels(self.service, record.topic, event.type).inc()
        route = self.handlers.routes.get(event.type)
        if route is not None:
            try:
                key = await route.key_of(event, data, self.db)
            except Exception as e:
                if classify(e) == "outage":
                    raise  # the store is away: the record waits (handle_record retries it)
                what = f"{type(e).__name__}: {e}"
                await self._waiting_out(lambda: self.dead_letter(record, "handler_error", f"no key: {what}"))
                return
            home = self.handlers.home_of(event.type)
            if record.topic != home or _key_text(record.key) != key:
                await self._forward(record, event, home, key)
                return
        with tracing.handling(event, self.service):
            await self._dispatch(event, data, record)

    async def _forward(
        self, record: ConsumerRecord[Any, Any], event: CloudEvent, topic: str, key: str
    ) -> None:
        """Re-publish a message unchanged to its aggregate's topic and key (R1)."""
        value = record.value or b""
        with self._timed("forward"):
            await self._attempt(
                lambda: self.publish(topic, value, key.encode()),
                lambda kind, reason: self.dead_letter(record, kind, reason),
            )
        EVENTS_ROUTED.labels(self.service, event.type).inc()

    async def _dispatch(
        self, event: CloudEvent, data: Payload, record: ConsumerRecord[Any, Any] | None
    ) -> None:
        t_event = current_event_id.set(event.id)
        t_corr = current_correlation_id.set(event.correlationid or event.id)
        started = _time.perf_counter()
        try:
            if self.clock.event_driven and _time.monotonic() - self._clock_checked > 1.0:
                # Another instance of this service may own the clock's partition.
                await self._waiting_out(self.load_clock)
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

    # ------------------------------------------------------------------ the clock

    def _tick_is_ours(self, event: CloudEvent) -> bool:
        """Event clock: every clock's ticks but the wall tickers'. Wall clock: only theirs."""
        return (event.source == WALL_CLOCK_SOURCE) != self.clock.event_driven

    async def _tick(
        self, event: CloudEvent, data: ClockTicked, record: ConsumerRecord[Any, Any] | None
    ) -> None:
        if not self._tick_is_ours(event):
            EVENTS_IGNORED.labels(self.service, event.type).inc()
            return
        to = data.now
        # A redelivered tick is finished from its record, before any "not later" check.
        stored = await self._waiting_out_value(lambda: self._stored(event.idempotency_key))
        if stored is None:
            previous = self.last_tick
            if previous is not None and to <= previous:
                EVENTS_IGNORED.labels(self.service, event.type).inc()
                return  # time only moves forward: a stale or repeated tick changes nothing
            if refusal := self._skewed(to, previous):
                self.clock_problem = f"tick to {to.isoformat()} refused: {refusal}"
                if record is not None:
                    await self._waiting_out(lambda: self.dead_letter(record, "clock_skew", refusal))
                return
        hook = self.handlers.tick

        async def on_tick(ctx: HandlerContext, _: Any) -> None:
            ctx._put_at_version(CLOCK, {"_id": CLOCK, "now": to}, _clock_version(to))
            # The first tick a service ever sees only sets its clock.
            if hook is not None and previous is not None:
                await hook(ctx, previous.astimezone(self.clock.tz), to.astimezone(self.clock.tz))

        previous = self.last_tick
        done = await self._run(event, data, on_tick, record, now=to.astimezone(self.clock.tz), known=stored)
        if not done:
            self.clock_problem = f"tick to {to.isoformat()} dead-lettered: the clock stays at {previous}"
            return
        self.clock_problem = None
        if self.last_tick is None or to > self.last_tick:
            self.last_tick = to
        if self.clock.event_driven:
            self.clock.advance(to)

    def _skewed(self, to: datetime, previous: datetime | None) -> str | None:
        skew = self.limits.clock_max_skew
        if self.clock.event_driven:
            if previous is not None and to - previous > skew:
                return f"{to - previous} ahead of the last tick ({previous.isoformat()}), over {skew}"
            return None
        ahead = to - datetime.now(UTC)
        if ahead > skew:
            return f"{ahead} ahead of this machine's clock, over {skew}"
        return None

    # ------------------------------------------------------------------ one message

    async def _run(
        self,
        event: CloudEvent,
        data: Payload,
        handler: Handler,
        record: ConsumerRecord[Any, Any] | None,
        now: datetime | None = None,
        known: dict[str, Any] | None = None,
    ) -> bool:
        """Handle, store, apply, publish. True when the effect stands (now or before),
        False when the message was dead-lettered."""
        where = (record.topic, record.partition) if record is not None else None
        key = event.idempotency_key
        state: dict[str, Any] = {"record": known}

        async def step() -> None:
            if state["record"] is None and where in self._replaying:
                state["record"] = await self._stored(key)
            if state["record"] is None:
                state["record"] = await self._handle(event, data, handler, record, now)
            if state["record"].get("done"):
                self._replaying.add(where)
                if not state["record"].get("dead"):
                    EVENTS_DUPLICATE.labels(self.service, event.type).inc()
                    log.info("duplicate %s %s: already processed, nothing to do", event.type, event.id)
                return
            self._replaying.discard(where)
            await self._finish(state["record"])

        async def give_up(kind: str, reason: str) -> None:
            state["dead"] = True
            stored = state["record"] is not None and not state["record"].get("unrecorded")
            if stored and not state["record"].get("done"):
                await self._mark_dead(state["record"]["_id"], kind, reason)
            if record is not None:
                await self.dead_letter(record, kind, reason)
            else:
                log.error("gave up on %s %s: %s: %s", event.type, event.id, kind, reason)

        async with self._holding(key):
            await self._attempt(step, give_up)
        return not state.get("dead") and not (state["record"] or {}).get("dead")

    async def _stored(self, key: str) -> dict[str, Any] | None:
        """The processed record of an event, if it was seen before: its own, or the record
        of the batch it was stored in. A record naming a batch that was never stored (a
        crash or a refusal in the middle of the batch's insert) is not a record: removed,
        unless young enough to be a batch being inserted (``TransientError``: waited out)."""
        while True:
            stored: dict[str, Any] | None = await self.db[PROCESSED].find_one({"_id": key})
            if stored is not None and "batch" in stored:
                if await self._held_elsewhere(stored["batch"]):
                    continue  # another lane's batch, being stored and finished: read it again
                batch: dict[str, Any] | None = await self.db[PROCESSED].find_one({"_id": stored["batch"]})
                if batch is None:
                    if datetime.now(UTC) - stored["at"] < BATCH_INSERT_WINDOW:
                        # Another instance's batch, being inserted right now (its names first):
                        # waited for rather than taken the place of.
                        raise TransientError(f"{key}: its batch {stored['batch']} is being stored")
                    await self.db[PROCESSED].delete_one({"_id": key, "batch": stored["batch"]})
                stored = batch
            if stored is not None and not stored.get("done") and await self._held_elsewhere(stored["_id"]):
                continue
            return stored

    async def _handle(
        self,
        event: CloudEvent,
        data: Payload,
        handler: Handler,
        record: ConsumerRecord[Any, Any] | None,
        now: datetime | None,
    ) -> dict[str, Any]:
        """Run the handler, check its effect can be stored, store its processed record;
        return the record that stands (ours, or one stored before for the same event)."""
        ctx = HandlerContext(
            service=self.service,
            event=event,
            clock=self.clock,
            db=self.db,
            now=now,
            settings=self.settings,
            aggregates=self.handlers.aggregates,
            max_event_bytes=self.limits.max_event_bytes,
        )
        try:
            await handler(ctx, data)
        except Exception as e:
            if classify(e) == "outage":
                raise
            stored = await self._stored(event.idempotency_key)
            if stored is not None:
                # A redelivery whose record already exists: what was staged then stands.
                log.info(
                    "handler failed on redelivered %s %s; its stored record stands", event.type, event.id
                )
                return stored
            if isinstance(e, PermanentError):
                raise
            # A handler that cannot cope with a readable event is a defect: keep the message
            # (DLQ, replayable) rather than block the partition or drop it.
            log.exception("handler failed on %s", event.type)
            raise PermanentError(f"{type(e).__name__}: {e}", kind="handler_error") from e
        await self._resolve_versions(ctx)
        doc = self._record_of(event, ctx, record)
        if problem := _unstorable(doc):
            raise PermanentError(problem, kind="unstorable")
        if _quiet_tick(event, ctx):
            # A tick that only moves the clock leaves nothing to finish after a crash and
            # nothing to tell apart on redelivery (the clock's version is its time: the same
            # tick again is "not later" and changes nothing), so it stores no record and
            # marks none done — two of a tick's writes, on every tick of every service.
            doc["unrecorded"] = True
            return doc
        try:
            with self._timed("record"):
                await self.db[PROCESSED].insert_one(self._as_stored(doc))
        except DuplicateKeyError:
            # Seen before: finish the stored record (same writes, same event ids) unless it
            # is done; never what this run recomputed from today's state.
            stored = await self._stored(event.idempotency_key)
            if stored is None:
                # The record named a batch never stored (now removed): this one stands.
                await self.db[PROCESSED].insert_one(self._as_stored(doc))
                return doc
            return stored
        return doc

    def _as_stored(self, record_doc: dict[str, Any]) -> dict[str, Any]:
        """A record as stored: its writes and events as one BSON value (``body``). FerretDB
        keeps a document as JSON and decodes all of it to update it; an opaque value costs
        a fraction (measured, one permit's record: insert 6.6 → 1.7–2.3 ms, its done mark
        6.8–11.6 → 1.8 ms). What it holds was checked storable (``_unstorable``) as documents."""
        content = {"writes": record_doc["writes"], "events": record_doc["events"]}
        stored = {k: v for k, v in record_doc.items() if k not in content}
        stored["body"] = Binary(bson.encode(content, codec_options=self.db.codec_options))
        return stored

    async def _resolve_versions(self, ctx: HandlerContext) -> None:
        """An aggregate put without having been read: its version follows the stored one."""
        for collection, _id in ctx._unresolved_versions():
            known, doc = ctx._unit.known((collection, _id)) if ctx._unit is not None else (False, None)
            if not known:
                doc = await self.db[collection].find_one({"_id": _id}, {"version": 1})
            ctx._resolve_version((collection, _id), int((doc or {}).get("version") or 0))

    def _record_of(
        self, event: CloudEvent, ctx: HandlerContext, record: ConsumerRecord[Any, Any] | None
    ) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "_id": event.idempotency_key,
            "type": event.type,
            "at": datetime.now(UTC),
            "writes": ctx.writes,
            "events": ctx.events,
            "n_writes": len(ctx.writes),
            "done": False,
        }
        if record is not None:
            doc["from"] = {"topic": record.topic, "partition": record.partition, "offset": record.offset}
        return doc

    async def _finish(self, record_doc: dict[str, Any]) -> None:
        """Apply a stored record's writes, publish its events, mark it done."""
        if "writes" not in record_doc and "body" in record_doc:  # as stored (``_as_stored``)
            record_doc = {
                **record_doc,
                **bson.decode(record_doc["body"], codec_options=self.db.codec_options),
            }
        with self._timed("apply"):
            await self._apply(record_doc["writes"])
        if self.before_publish is not None:
            await self.before_publish(record_doc)
        with self._timed("publish"):
            await self._publish_events(record_doc["events"])
        if record_doc.get("unrecorded"):
            return
        with self._timed("done"):
            await self.db[PROCESSED].update_one(
                {"_id": record_doc["_id"]},
                {
                    "$set": {"done": True, "n_writes": len(record_doc["writes"])},
                    "$unset": {"writes": "", "events": "", "body": ""},
                },
            )
        for doc in record_doc.get("messages") or [record_doc]:
            if doc["events"]:
                log.debug("%s -> %s", doc.get("type"), ", ".join(e["value"]["type"] for e in doc["events"]))

    async def _mark_dead(self, key: str, kind: str, reason: str) -> None:
        """A record that can never be finished: closed, so no start-up or redelivery retries it."""
        await self._waiting_out(
            lambda: self.db[PROCESSED].update_one(
                {"_id": key},
                {
                    "$set": {"done": True, "dead": f"{kind}: {reason}"[:2000]},
                    "$unset": {"writes": "", "events": "", "body": ""},
                },
            )
        )

    async def _give_up_record(self, record_doc: dict[str, Any], kind: str, reason: str) -> None:
        """Start-up recovery could not finish a record: close it and dead-letter where it came from."""
        await self._mark_dead(record_doc["_id"], kind, reason)
        origin = record_doc.get("from") or {}
        letter = DeadLetter(
            service=self.service,
            topic=origin.get("topic", ""),
            partition=int(origin.get("partition", -1)),
            offset=int(origin.get("offset", -1)),
            key=None,
            reason=f"{kind}: unfinished record {record_doc['_id']} could not be finished: {reason}"[:2000],
            original="",
            original_bytes=0,
        )
        await self._publish_letter(letter, record_doc["_id"], None)

    async def _apply(self, writes: list[dict[str, Any]]) -> None:
        last: dict[tuple[str, Any], dict[str, Any]] = {}
        for w in writes:
            # A document put twice by one handler ends as its last version.
            _id = w["doc"]["_id"] if w["op"] == "put" else w["id"]
            last.pop((w["c"], _id), None)
            last[(w["c"], _id)] = w
        by_collection: dict[str, list[Any]] = {}
        versioned: dict[str, list[dict[str, Any]]] = {}
        new: dict[str, list[dict[str, Any]]] = {}
        for (collection, _id), w in last.items():
            if w["op"] == "delete":
                by_collection.setdefault(collection, []).append(DeleteOne({"_id": _id}))
            elif collection in self.handlers.aggregates or collection == CLOCK:
                versioned.setdefault(collection, []).append(w["doc"])
            elif w.get("new"):
                new.setdefault(collection, []).append(w["doc"])
            else:
                by_collection.setdefault(collection, []).append(
                    ReplaceOne({"_id": _id}, w["doc"], upsert=True)
                )
        # The plain documents first (a permit's open entry, a zone copy...), then the aggregates:
        # whoever sees an aggregate's new version (a tick's query, another instance) sees what
        # came with it — a batch widens the window between the two.
        for collection, docs in new.items():
            await self._insert_new(collection, docs)
        for collection, ops in by_collection.items():
            for chunk in _chunks(ops):
                await self.db[collection].bulk_write(chunk, ordered=False)
        for collection, docs in versioned.items():
            await self._replace_all_newer(collection, docs)

    async def _insert_new(self, collection: str, docs: list[dict[str, Any]]) -> None:
        """Documents the handler found absent: inserted. If the store refuses (one is there
        after all: a record finished again after a crash, another writer), the chunk is
        written as replacements, which is what an upsert would have done."""
        for chunk in _chunks(docs):
            try:
                await self.db[collection].bulk_write([InsertOne(d) for d in chunk], ordered=False)
            except Exception as e:
                if classify(e) == "outage":
                    raise
                await self.db[collection].bulk_write(
                    [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in chunk], ordered=False
                )

    async def _replace_all_newer(self, collection: str, docs: list[dict[str, Any]]) -> None:
        """Several aggregates: one unordered bulk; if any of them is refused (a newer
        version stored: the duplicate key of the upsert), each one on its own, which tells
        the stale ones apart (replacing at the same version again changes nothing)."""
        for chunk in _chunks(docs):
            if len(chunk) > 1:
                try:
                    await self.db[collection].bulk_write(
                        [ReplaceOne(_newer_than_stored(doc), doc, upsert=True) for doc in chunk],
                        ordered=False,
                    )
                    continue
                except Exception as e:
                    if classify(e) == "outage":
                        raise
            for doc in chunk:
                await self._replace_newer(collection, doc)

    async def _replace_newer(self, collection: str, doc: dict[str, Any]) -> None:
        """Replace an aggregate only over an older version: a late copy of an old change
        never overwrites a newer state (a duplicate key on upsert means "newer there").
        One by one: FerretDB answers a bulk with such an error in a shape pymongo misreads."""
        try:
            await self.db[collection].replace_one(_newer_than_stored(doc), doc, upsert=True)
        except DuplicateKeyError:
            STALE_WRITES.labels(self.service, collection).inc()
            log.info("write to %s %s skipped: a newer version is stored", collection, doc["_id"])

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
            with self._timed("commit"):
                await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as e:
            # The partitions moved to another consumer (rebalance). Their messages will be
            # redelivered there, and the processed records make that a no-op.
            log.warning("offsets %s not committed: %s", offsets, e)

    # ------------------------------------------------------------------ dead letters

    async def dead_letter(self, record: ConsumerRecord[Any, Any], kind: str, reason: str) -> None:
        value: bytes = record.value or b""
        cut = value[: self.limits.dlq_original_max_bytes]
        letter = DeadLetter(
            service=self.service,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=_key_text(record.key)[:1000] if record.key is not None else None,
            reason=f"{kind}: {reason}"[:2000],
            original=base64.b64encode(cut).decode(),
            original_bytes=len(value),
            original_sha256=hashlib.sha256(value).hexdigest(),
            original_truncated=len(cut) < len(value),
        )
        cause = f"dlq/{record.topic}/{record.partition}/{record.offset}"
        key = record.key if isinstance(record.key, bytes) and len(record.key) <= 1000 else None
        await self._publish_letter(letter, cause, key)
        EVENTS_DLQ.labels(self.service, record.topic, kind).inc()
        log.warning(
            "message %s-%s@%s sent to pbz.dlq: %s: %s",
            record.topic,
            record.partition,
            record.offset,
            kind,
            reason[:500],
        )

    async def _publish_letter(self, letter: DeadLetter, cause: str, key: bytes | None) -> None:
        event = make_event(
            id=derived_event_id(self.service, cause, 0),
            type="dlq.recorded",
            source=f"pbz/{self.service}",
            time=datetime.now(UTC),
            subject=letter.topic or None,
            data=letter.model_dump(mode="json"),
        )
        await self.publish(Topic.DLQ.value, event.to_json(), key)

    # ------------------------------------------------------------------ attempts

    async def _attempt(
        self,
        step: Callable[[], Awaitable[Any]],
        give_up: Callable[[str, str], Awaitable[None]],
    ) -> None:
        """Run ``step`` until it succeeds; wait out outages; give up (dead-letter) on a
        permanent failure, or after ``retry_attempts`` failures that are the message's."""
        delay = self.limits.retry_initial_s
        counted = 0
        while True:
            try:
                await step()
            except Exception as e:
                kind = classify(e)
                what = f"{type(e).__name__}: {e}"
                if kind == "permanent":
                    await self._giving_up(
                        give_up, getattr(e, "kind", "permanent_failure"), getattr(e, "reason", what)
                    )
                    return
                if await self._counts(e, kind):
                    counted += 1
                    if counted >= self.limits.retry_attempts:
                        await self._giving_up(give_up, "retry_exhausted", f"{counted} attempts, last: {what}")
                        return
                self._waiting(e, kind, counted)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.limits.retry_max_s)
                continue
            self._recovered()
            return

    async def _giving_up(
        self, give_up: Callable[[str, str], Awaitable[None]], kind: str, reason: str
    ) -> None:
        await self._waiting_out(lambda: give_up(kind, reason))
        self._recovered()

    async def _counts(self, exc: BaseException, kind: Failure) -> bool:
        """Does this failure count against the message? Unknown causes do; a Mongo
        connection failure or timeout does while the store answers its ping."""
        if kind == "unknown":
            return True
        if isinstance(exc, TransientError | KafkaError):
            return False
        return _mongo_failure(exc) and await self.store_answers()

    async def store_answers(self) -> bool:
        try:
            await asyncio.wait_for(self.db.client.admin.command("ping"), 2)
        except Exception:
            return False
        return True

    async def _waiting_out(self, step: Callable[[], Awaitable[Any]]) -> None:
        """Run a step that only an outage can stop (a dead letter, a commit): wait it out.
        Anything else is logged and retried too — never skipped."""
        delay = self.limits.retry_initial_s
        while True:
            try:
                await step()
            except Exception as e:
                kind = classify(e)
                if kind != "outage":
                    log.exception("pipeline step failed (%s); retrying in %.1fs", kind, delay)
                self._waiting(e, kind, 0)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.limits.retry_max_s)
                continue
            return

    async def _waiting_out_value(self, read: Callable[[], Awaitable[Any]]) -> Any:
        box: list[Any] = []

        async def step() -> None:
            box.append(await read())

        await self._waiting_out(step)
        return box[-1]

    def _waiting(self, exc: BaseException, kind: str, counted: int) -> None:
        what = f"{type(exc).__name__}: {exc}"
        budget = f" (attempt {counted}/{self.limits.retry_attempts})" if counted else ""
        log.warning("%s failure, retrying%s: %s", kind, budget, what[:500])
        self.waiting_on = what[:500]
        WAITING.labels(self.service).set(1)
        TRANSIENT_RETRIES.labels(self.service).inc()

    def _recovered(self) -> None:
        if self.waiting_on is not None:
            log.info("recovered after: %s", self.waiting_on)
            self.waiting_on = None
            WAITING.labels(self.service).set(0)


# --------------------------------------------------------------------------- helpers


def _check_headers(headers: Any) -> None:
    """Header values are UTF-8 strings (the CloudEvents Kafka binding): anything else is
    unreadable, said so, and dead-lettered rather than skipped."""
    for name, value in headers or ():
        if value is None:
            raise UnreadableEvent("bad_header", f"header {name!r} has no value")
        try:
            value.decode("utf-8")
        except (UnicodeDecodeError, AttributeError):
            raise UnreadableEvent("bad_header", f"header {name!r} is not UTF-8 text") from None


def _key_text(key: Any) -> str:
    if isinstance(key, bytes):
        return key.decode("utf-8", "replace")
    return "" if key is None else str(key)


# A unit of work is stored once it holds this many messages or has been open this long, so
# what a long batch causes goes out as it goes, not all at its end.
@dataclass(frozen=True)
class Forward:
    """A message that belongs to another topic or key: re-published there as it is (R1)."""

    topic: str
    key: str


async def _failed(e: Exception) -> None:
    raise e


UNIT_MAX_MESSAGES = 32
UNIT_MAX_SECONDS = 1.0
# A message's record naming a batch that is not stored is younger than this while the batch's
# insert is under way (one request, its names first); older, it is left by a refused insert
# whose clean-up failed (or a crash of the store mid-request) and is removed when met.
BATCH_INSERT_WINDOW = timedelta(seconds=10)
# Statements per bulk command: FerretDB's SQLite backend holds a connection for each update
# statement of a command until the command ends; hundreds in one command exhausted its pool
# (updates waiting on connections, the server timing out) in a suite run under load.
BULK_CHUNK = 32


def _chunks(items: list[Any]) -> list[list[Any]]:
    return [items[i : i + BULK_CHUNK] for i in range(0, len(items), BULK_CHUNK)]


def _kind_of(e: Exception) -> str:
    """An exception's type, and a bulk error's codes: never its text (documents, personal data)."""
    if isinstance(e, BulkWriteError):
        codes = sorted({int(err.get("code", 0)) for err in (e.details or {}).get("writeErrors") or []})
        return f"BulkWriteError, codes {codes}"
    return type(e).__name__


def _first_duplicate(e: BulkWriteError) -> int | None:
    """The index of the first record refused as a duplicate, when every refusal is one."""
    errors = (e.details or {}).get("writeErrors") or []
    if not errors or any(err.get("code") != 11000 for err in errors):
        return None
    return min(int(err["index"]) for err in errors)


def _quiet_tick(event: CloudEvent, ctx: HandlerContext) -> bool:
    """A clock tick whose handlers staged nothing but the clock itself."""
    return (
        event.type == "clock.ticked"
        and not ctx.events
        and all(w["op"] == "put" and w["c"] == CLOCK for w in ctx.writes)
    )


def _newer_than_stored(doc: dict[str, Any]) -> dict[str, Any]:
    """The filter that replaces an aggregate only over an older version (a document stored
    before versions existed counts as older)."""
    return {
        "_id": doc["_id"],
        "$or": [{"version": {"$lt": doc["version"]}}, {"version": {"$exists": False}}],
    }


def _clock_version(to: datetime) -> int:
    """The clock document's version is its time (µs): it only ever moves forward."""
    return int(to.timestamp() * 1_000_000)


def _unstorable(record_doc: dict[str, Any]) -> str | None:
    """Why a processed record (writes and events) cannot be stored, or None."""
    for w in record_doc["writes"]:
        if w["op"] == "put" and (problem := unsafe_value(w["doc"], f"{w['c']}", bounded=False)):
            return problem
    for e in record_doc["events"]:
        if problem := unsafe_value(e["value"], f"event {e['value'].get('type')}", bounded=False):
            return problem
    return None


def kafka_publisher(broker: KafkaBroker) -> Publish:
    async def publish(topic: str, value: bytes, key: bytes | None) -> Awaitable[Any]:
        future: Awaitable[Any] = await broker.publish(
            value, topic=topic, key=key, headers={"content-type": CONTENT_TYPE}, no_confirm=True
        )
        return future

    return publish


__all__ = [
    "CLOCK",
    "PROCESSED",
    "WALL_CLOCK_SOURCE",
    "EventTooLarge",
    "HandlerContext",
    "Handlers",
    "PermanentError",
    "Pipeline",
    "TransientError",
    "classify",
    "is_transient",
    "kafka_publisher",
]
