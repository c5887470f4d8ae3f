"""Wiring one service: settings, Mongo, the FastStream broker and subscriber, the
pipeline, the wall-clock scheduler, and the HTTP app with the operational endpoints.

A service declares itself with a :class:`ServiceDefinition`; ``create_app`` turns it into
a FastAPI app whose lifespan starts and stops everything; ``main`` serves it.

Start-up runs in the background, so the HTTP port answers at once (``/healthz`` green,
``/readyz`` red with the phase it is in): indexes, the producer, finishing processed
records left unfinished by a crash (oldest first), the clock, then the consumer's group
join; ``/readyz`` turns green once partitions are assigned. Each phase is logged with the
seconds since the process started (``phase`` lines; ``bench/restart_time.py`` reads them).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import uvicorn
from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import HTMLResponse
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.message import FAKE_CONSUMER, KafkaAckableMessage
from faststream.specification import AsyncAPI, Specification, get_asyncapi_html
from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from . import http, tracing
from .actor import Actor
from .auth import TokenVerifier, authenticate, require
from .clock import Clock
from .events import REGISTRY, CloudEvent, Topic, make_event, new_event_id, spec_for
from .events.catalog import HttpReason
from .events.schemas import with_payloads
from .http import ApiProblem, IdempotencyKey
from .lag import LagMonitor
from .logs import configure_logging, current_service
from .mongo import Index, database, ensure_indexes, make_client
from .pipeline import PROCESSED, WALL_CLOCK_SOURCE, Handlers, Pipeline, kafka_publisher
from .probes import Probe
from .replay import ReplayControl
from .replay import router as replay_router
from .retention import Purger
from .settings import ServiceSettings

log = logging.getLogger("pbz.service")
_IMPORTED = time.monotonic()


def process_age() -> float:
    """Seconds since this process started (from /proc where there is one)."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED


# Where start-up looks for unfinished records (MongoDB uses it; FerretDB scans).
PIPELINE_INDEXES = [Index(PROCESSED, [("done", 1), ("at", 1)])]


@dataclass
class ServiceDefinition:
    name: str  # python/db name, e.g. "zone_registry"
    title: str  # human/kafka name, e.g. "zone-registry"
    port: int
    description: str
    consumes: list[Topic]
    emits: list[Topic]
    handlers: Handlers
    # The service's own work topic (follow-ups keyed by aggregate, re-keyed commands).
    work_topic: Topic | None = None
    indexes: list[Index] = field(default_factory=list)
    routers: list[APIRouter] = field(default_factory=list)
    settings_cls: type[ServiceSettings] = ServiceSettings
    probes: list[Probe] = field(default_factory=list)  # gauges read from the store (shared/probes.py)


class Runtime:
    """One running instance of a service."""

    def __init__(self, definition: ServiceDefinition, settings: ServiceSettings) -> None:
        self.definition = definition
        self.settings = settings
        self.name = definition.title
        self.clock = Clock(settings.clock, settings.timezone)
        self.mongo: AsyncIOMotorClient[Any] = make_client(settings.mongo_url)
        self.db: AsyncIOMotorDatabase[Any] = database(self.mongo, settings.database_name(definition.name))
        self.broker = KafkaBroker(
            [host.strip() for host in settings.kafka_bootstrap.split(",") if host.strip()],
            client_id=f"pbz-{definition.title}",
            log_level=logging.DEBUG,  # FastStream's per-message lines; ours say more
            **settings.kafka_producer_options(),  # batched, compressed, acks=all, idempotent
            security=settings.kafka_security_options(),  # SASL/SCRAM: this service's own principal
        )
        self.pipeline = Pipeline(
            service=definition.title,
            handlers=definition.handlers,
            db=self.db,
            clock=self.clock,
            publish=kafka_publisher(self.broker),
            retry_initial_s=settings.retry_initial_s,
            retry_max_s=settings.retry_max_s,
            settings=settings,
        )
        self._ticker: asyncio.Task[None] | None = None
        self._starting: asyncio.Task[None] | None = None
        self.phase = "starting"
        self.started = False  # start-up finished: partitions assigned
        self.joined = asyncio.Event()
        self.connected = asyncio.Event()  # the producer is up: commands can be published
        self._register()
        # Operations (pbz replay, consumer lag): see shared/replay.py and shared/lag.py.
        self.replay = ReplayControl(self)
        self.pipeline.admit = self.replay.admit
        self.lag = LagMonitor(
            service=self.name,
            group=settings.group_id(definition.title),
            bootstrap=settings.kafka_bootstrap,
            consumer=self.replay._consumer,
            interval=settings.lag_interval_s,
            alert_messages=settings.lag_alert_messages,
            alert_samples=settings.lag_alert_samples,
            probes=[functools.partial(p, self.name, self.db) for p in definition.probes],
        )
        self.purger = Purger(
            self.name, self.db, settings.processed_retention_hours, settings.processed_purge_every_s
        )

    @property
    def topics(self) -> list[Topic]:
        d = self.definition
        extra = [d.work_topic] if d.work_topic is not None and d.work_topic not in d.consumes else []
        return [*d.consumes, *extra]

    def _register(self) -> None:
        d, settings = self.definition, self.settings
        self.subscriber = self.broker.subscriber(
            *[t.value for t in self.topics],
            # What one fetch returns goes to its partitions' lanes (Pipeline.feed), each handling
            # its queue as batches; the wait is FastStream's pause after an empty fetch.
            batch=True,
            max_records=settings.batch_max_records,
            batch_timeout_ms=settings.batch_wait_ms,
            group_id=settings.group_id(d.title),
            group_instance_id=settings.instance_id(d.title),
            session_timeout_ms=settings.session_timeout_ms,
            heartbeat_interval_ms=settings.heartbeat_interval_ms,
            # Rejoining may wait for the message in hand (bounded, see _Listener).
            rebalance_timeout_ms=max(30_000, settings.session_timeout_ms),
            ack_policy=AckPolicy.MANUAL,  # the pipeline commits exactly the processed offset
            auto_offset_reset=settings.auto_offset_reset,
            listener=_Listener(self),
            # Headers are read by the pipeline, which dead-letters unreadable ones; FastStream's
            # own parser would raise on them and the message would be skipped (faststream #2618).
            parser=_raw_batch,
            decoder=_raw_body,
            title=f"{d.title}:consume",
            description=f"Every event {d.title} consumes. Unreadable messages go to pbz.dlq.",
        )
        pipeline, subscriber = self.pipeline, self.subscriber

        @self.subscriber
        async def consume(body: Any, message: KafkaMessage) -> None:
            records = message.raw_message
            fetched = records if isinstance(records, tuple) else (records,)
            if pipeline.continuous:
                await pipeline.feed(fetched, subscriber.consumer)
            else:
                await pipeline.handle_batch(fetched, subscriber.consumer)

        # Publishers are declared for the AsyncAPI document.
        work = [d.work_topic] if d.work_topic is not None else []
        for topic in [*d.emits, *work, Topic.DLQ]:
            types = sorted(t for t, s in REGISTRY.items() if s.topic == topic)
            self.broker.publisher(topic.value, title=f"{d.title}:{topic.value}", description=", ".join(types))

    def _phase(self, phase: str, **extra: Any) -> None:
        self.phase = phase
        log.info(
            "%s: %s", self.name, phase, extra={"phase": phase, "seconds": round(process_age(), 3), **extra}
        )

    async def start(self) -> None:
        """Everything before consuming, then the group join; returns once assigned."""
        current_service.set(self.name)
        tracing.configure(self.name, self.settings.otlp_endpoint)
        self._phase("indexes")
        await ensure_indexes(self.db, [*PIPELINE_INDEXES, *self.definition.indexes])
        self._phase("producer")
        await self.broker.connect()
        self.connected.set()
        self._phase("recovery")
        recovered = await self.pipeline.recover()
        await self.pipeline.load_clock()
        self._phase("joining", recovered=recovered)
        await self.broker.start()
        await self.joined.wait()
        if not self.clock.event_driven:
            self._ticker = asyncio.create_task(self._wall_ticker(), name=f"{self.name}-ticker")
        self.lag.start()
        self.purger.start()
        self.started = True
        self._phase("consuming")
        log.info(
            "%s started: kafka=%s db=%s clock=%s group=%s",
            self.name,
            self.settings.kafka_bootstrap,
            self.db.name,
            self.settings.clock,
            self.settings.group_id(self.definition.title),
        )

    def start_in_background(self) -> None:
        """Start; a failure (Kafka or Mongo not there yet) is retried with backoff, and
        /readyz says where it failed and why meanwhile."""

        async def run() -> None:
            delay = self.settings.retry_initial_s
            while True:
                try:
                    await self.start()
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as e:
                    log.exception(
                        "%s could not start (phase %s); retrying in %.1fs", self.name, self.phase, delay
                    )
                    # The kind of failure only: /readyz shows the phase, never an exception's text.
                    self.phase = f"failed in {self.phase} ({type(e).__name__}); retrying"
                    with contextlib.suppress(Exception):
                        await self.broker.stop()
                    self.connected.clear()
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.settings.retry_max_s)

        self._starting = asyncio.create_task(run(), name=f"{self.name}-start")

    async def stop(self) -> None:
        self.started = False
        await self.replay.stop()
        await self.lag.stop()
        await self.purger.stop()
        for task in (self._starting, self._ticker):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.pipeline.stop()  # commits what is stored before the consumer goes
        await self.broker.stop()
        self.mongo.close()
        tracing.shutdown()
        log.info("%s stopped", self.name)

    async def _wall_ticker(self) -> None:
        """Wall clock: publish the time to pbz.clock every interval, on the interval's grid,
        with an id made of that time. Every instance of every service publishes the same
        tick; each consumer group handles it once (R5), like any event clock's tick."""
        interval = timedelta(seconds=self.settings.scheduler_interval_s)
        while True:
            now = datetime.now(UTC)
            on_grid = datetime.fromtimestamp(
                now.timestamp() // interval.total_seconds() * interval.total_seconds(), UTC
            )
            tick = make_event(
                id=f"wall/{on_grid.isoformat()}",
                type="clock.ticked",
                source=WALL_CLOCK_SOURCE,
                time=on_grid,
                data={"now": on_grid.isoformat()},
            )
            try:
                await self.pipeline.publish(Topic.CLOCK.value, tick.to_json(), b"clock")
            except Exception as e:
                log.warning(
                    "wall tick %s not published (%s: %s); next interval", tick.id, type(e).__name__, e
                )
            next_at = on_grid + interval
            await asyncio.sleep(max(0.05, (next_at - datetime.now(UTC)).total_seconds()))

    async def publish_command(
        self,
        event_type: str,
        data: BaseModel,
        key: str | None,
        actor: Actor,
        *,
        event_id: str | None = None,
    ) -> CloudEvent:
        """What the POST endpoints do: wrap a command in an envelope that names its actor (the
        CloudEvents authcontext, from the caller's token) and put it on its topic. Kafka not
        answering within ``publish_timeout_s`` — the producer still connecting at start-up
        included — is a 503 with Retry-After, not a hung request."""
        try:
            await asyncio.wait_for(self.connected.wait(), self.settings.publish_timeout_s)
        except TimeoutError:
            raise ApiProblem(
                503,
                HttpReason.SERVICE_STARTING,
                f"{self.name} is starting ({self.phase.split(' (', 1)[0]}); try again",
                {"Retry-After": str(self.settings.retry_after_s)},
            ) from None
        spec = spec_for(event_type)
        payload = spec.model.model_validate(data.model_dump(mode="json")).model_dump(
            mode="json", exclude_none=True
        )
        event = make_event(
            id=event_id or new_event_id(),
            type=event_type,
            source=f"pbz/{self.name}/http",
            time=self.clock.now()
            if self.pipeline.last_tick or not self.clock.event_driven
            else datetime.now(UTC),
            subject=key if key and key.isprintable() and len(key) <= 512 else None,
            data=payload,
            extensions={**actor.extension(), **tracing.outgoing()},
        )
        # The consumer refuses what it cannot store (NUL, unsafe names, sizes) to pbz.dlq.
        kafka_key = key.encode("utf-8", "backslashreplace") if key else None
        try:
            await asyncio.wait_for(
                self.pipeline.publish(spec.topic.value, event.to_json(), kafka_key),
                self.settings.publish_timeout_s,
            )
        except (TimeoutError, KafkaError) as e:
            log.warning("%s not published: Kafka does not answer (%s)", event_type, type(e).__name__)
            raise ApiProblem(
                503,
                HttpReason.BROKER_UNAVAILABLE,
                "the broker does not answer; try again (with the same Idempotency-Key)",
                {"Retry-After": str(self.settings.retry_after_s)},
            ) from None
        return event

    async def readiness(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        # The kind of failure, never its text: an exception's message (hosts, documents,
        # tokens) does not leave in an answer.
        try:
            await asyncio.wait_for(self.mongo.admin.command("ping"), 2)
            checks["mongo"] = "ok"
        except Exception as e:
            checks["mongo"] = f"unreachable: {type(e).__name__}"
        if not self.connected.is_set():
            checks["kafka"] = "connecting"
        else:
            try:
                ok = await self.broker.ping(timeout=2)
                checks["kafka"] = "ok" if ok else "unreachable"
            except Exception as e:
                checks["kafka"] = f"unreachable: {type(e).__name__}"
        checks["consumer"] = "ok" if self.started else self.phase
        waiting = self.pipeline.waiting_on
        # waiting_on is "<ExceptionType>: <text>": only the type is shown.
        checks["pipeline"] = "ok" if waiting is None else f"waiting: {waiting.split(':', 1)[0]}"
        checks["clock"] = "ok" if self.pipeline.clock_problem is None else self.pipeline.clock_problem
        checks["lag"] = self.lag.verdict()
        checks["replay"] = self.replay.readiness()
        return checks

    def asyncapi(self) -> Specification:
        d = self.definition
        factory = AsyncAPI(self.broker, title=f"pbz {d.title}", version="1.0.0", description=d.description)
        return _WithPayloads(factory.to_specification())


class _WithPayloads:
    """FastStream's document, every message given the envelope schemas of its topic."""

    def __init__(self, spec: Specification) -> None:
        self._doc = with_payloads(spec.to_jsonable())
        self._spec = spec

    @property
    def title(self) -> str:
        return self._spec.title

    def to_jsonable(self) -> Any:
        return self._doc

    def to_json(self) -> str:
        return json.dumps(self._doc)

    def to_yaml(self) -> str:
        import yaml

        text: str = yaml.safe_dump(self._doc, allow_unicode=True, sort_keys=False)
        return text


async def _raw_body(msg: Any) -> Any:
    # The pipeline decodes the bytes itself, so a broken message reaches it (and the DLQ).
    return msg.body


async def _raw_batch(records: Any, _default: Any = None) -> Any:
    """FastStream's message around a fetched batch, without reading headers (never raises)."""
    first, last = records[0], records[-1]
    return KafkaAckableMessage(
        body=[r.value or b"" for r in records],
        headers={},
        reply_to="",
        content_type=None,
        message_id=f"{first.topic}-{first.partition}-{first.offset}..{last.offset}",
        correlation_id=None,
        raw_message=records,
        path={},
        consumer=FAKE_CONSUMER,  # never used: the pipeline commits through the subscriber's consumer
    )


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Rebalances: the message in hand finishes (bounded) and stored offsets are committed
    before partitions go; fresh partitions get their start committed; readiness follows."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        budget = self.runtime.settings.session_timeout_ms / 1000 / 2
        await self.runtime.pipeline.partitions_revoked(set(revoked), budget)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        consumer = self.runtime.subscriber.consumer
        if consumer is not None:
            try:
                await self.runtime.pipeline.partitions_assigned(consumer, set(assigned))
            except Exception:
                log.exception("could not commit the start of newly assigned partitions")
        log.info("%s assigned %d partitions", self.runtime.name, len(assigned))
        self.runtime.joined.set()


# --------------------------------------------------------------------------- HTTP


class Health(BaseModel):
    status: str
    service: str


class ClockState(BaseModel):
    mode: str
    now: datetime | None  # None: an event clock that has not ticked yet


class Readiness(BaseModel):
    status: str
    service: str
    checks: dict[str, str]
    clock: ClockState | None = None


class ClockView(BaseModel):
    """The service's "now": the machine's clock, or the last ``clock.ticked`` in events mode."""

    now: datetime
    mode: str = Field(description="wall | events")


class CommandAccepted(BaseModel):
    """A command was put on its topic; the answer arrives as an event correlated to ``command_id``."""

    command_id: str
    type: str
    topic: str


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_db(request: Request) -> AsyncIOMotorDatabase[Any]:
    return get_runtime(request).db


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
DbDep = Annotated[AsyncIOMotorDatabase[Any], Depends(get_db)]


async def accept(
    runtime: Runtime,
    event_type: str,
    data: BaseModel,
    key: str | None,
    actor: Actor,
    idempotency_key: str | None = None,
) -> CommandAccepted:
    """Publish a command for ``actor``. With an ``Idempotency-Key`` a retry of the same request
    answers the first command again without publishing; the same key with another request
    is refused (409 ``idempotency_key_reused``)."""
    topic = spec_for(event_type).topic.value
    if idempotency_key is None:
        event = await runtime.publish_command(event_type, data, key, actor)
        return CommandAccepted(command_id=event.id, type=event_type, topic=topic)
    record_id = http.idempotency_record_id(runtime.name, f"{actor.type.value}:{actor.id}", idempotency_key)
    request_print = http.fingerprint(event_type, data.model_dump(mode="json"), key)
    seen = await http.remembered(runtime.db, record_id)
    if seen is not None:
        if seen.fingerprint != request_print:
            raise ApiProblem(
                409, HttpReason.IDEMPOTENCY_KEY_REUSED, "this Idempotency-Key was used for another request"
            )
        return CommandAccepted(command_id=seen.command_id, type=seen.type, topic=seen.topic)
    event = await runtime.publish_command(
        event_type, data, key, actor, event_id=http.command_id_for(record_id)
    )
    await http.remember(
        runtime.db,
        record_id,
        http.Remembered(command_id=event.id, type=event_type, topic=topic, fingerprint=request_print),
    )
    return CommandAccepted(command_id=event.id, type=event_type, topic=topic)


def operations_router(definition: ServiceDefinition) -> APIRouter:
    """Health, readiness, clock, metrics and AsyncAPI: open to operators' probes, no token."""
    ops = APIRouter(tags=["operations"])

    @ops.get("/healthz", response_model=Health)
    async def healthz() -> Health:
        """The process is up."""
        return Health(status="ok", service=definition.title)

    @ops.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
    async def readyz(runtime: RuntimeDep, response: Response) -> Readiness:
        """Kafka and Mongo reachable, partitions assigned, no message waiting on a failure,
        the clock not stopped by a failed tick."""
        checks = await runtime.readiness()
        ok = all(v == "ok" for v in checks.values())
        response.status_code = 200 if ok else 503
        ticked = not runtime.clock.event_driven or runtime.pipeline.last_tick is not None
        clock = ClockState(mode=runtime.clock.mode, now=runtime.clock.now() if ticked else None)
        return Readiness(
            status="ready" if ok else "not_ready", service=definition.title, checks=checks, clock=clock
        )

    @ops.get("/clock", response_model=ClockView)
    async def clock(runtime: RuntimeDep) -> ClockView:
        """What time it is for this service: a client that stamps a command's own times (the web
        app's signature, check-in) takes them from here, so they agree with an event-driven clock."""
        return ClockView(now=runtime.clock.now(), mode=runtime.settings.clock)

    @ops.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
    async def metrics() -> Response:
        """Prometheus metrics: consumed, emitted, DLQ'd, duplicates, handler latency."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @ops.get("/asyncapi.json", response_model=dict[str, Any])
    async def asyncapi_json(runtime: RuntimeDep) -> dict[str, Any]:
        """The AsyncAPI document of this service's topics, generated by FastStream."""
        doc: dict[str, Any] = runtime.asyncapi().to_jsonable()
        return doc

    @ops.get("/asyncapi", response_class=HTMLResponse)
    async def asyncapi_html(runtime: RuntimeDep) -> HTMLResponse:
        return HTMLResponse(get_asyncapi_html(runtime.asyncapi()))

    return ops


def create_app(definition: ServiceDefinition, settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or definition.settings_cls()

    verifier = TokenVerifier.from_settings(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(definition, settings)
        app.state.runtime = runtime
        # The port opens now; /readyz stays red until the group join has assigned partitions.
        runtime.start_in_background()
        try:
            yield
        finally:
            await runtime.stop()
            await verifier.aclose()

    app = FastAPI(
        title=f"pbz {definition.title}",
        description=definition.description,
        version="1.0.0",
        lifespan=lifespan,
    )
    app.state.verifier = verifier
    http.install(app, settings)
    app.include_router(operations_router(definition))
    # Every route of the service's own routers needs a valid bearer token (the operational
    # ones above do not); 401/403/503 and the shared 400/422 are documented on each.
    # Rebuilding a store is an operator's act (pbz replay sends an operator's token).
    replay_routes = replay_router(lambda request: get_runtime(request).replay)
    http.document(replay_routes)
    app.include_router(
        replay_routes, dependencies=[Depends(require("operator"))], responses=dict(http.COMMON)
    )
    app.middleware("http")(tracing.http_middleware)
    for router in definition.routers:
        http.document(router)
        app.include_router(router, dependencies=[Depends(authenticate)], responses=dict(http.COMMON))
    return app


def main(definition: ServiceDefinition) -> None:
    settings = definition.settings_cls()
    configure_logging(settings.log_level, settings.log_format, settings.access_log_path)
    current_service.set(definition.title)
    app = create_app(definition, settings)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port or definition.port,
        log_config=None,
        access_log=False,
    )


__all__ = [
    "PROCESSED",
    "CommandAccepted",
    "DbDep",
    "IdempotencyKey",
    "Runtime",
    "RuntimeDep",
    "ServiceDefinition",
    "accept",
    "create_app",
    "main",
]
