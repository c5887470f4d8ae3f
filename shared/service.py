"""Wiring one service: settings, Mongo, the FastStream broker and subscriber, the
pipeline, the wall-clock scheduler, and the HTTP app with the operational endpoints.

A service declares itself with a :class:`ServiceDefinition`; ``create_app`` turns it into
a FastAPI app whose lifespan starts and stops everything; ``main`` serves it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import HTMLResponse
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.specification import AsyncAPI, Specification, get_asyncapi_html
from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from . import tracing
from .clock import Clock
from .events import REGISTRY, CloudEvent, Topic, make_event, new_event_id, spec_for
from .events.catalog import ClockTicked
from .events.schemas import with_payloads
from .lag import LagMonitor
from .logs import configure_logging, current_service
from .mongo import Index, database, ensure_indexes, make_client
from .pipeline import PROCESSED, Handlers, Pipeline, kafka_publisher
from .probes import Probe
from .replay import ReplayControl
from .replay import router as replay_router
from .settings import ServiceSettings

log = logging.getLogger("pbz.service")


@dataclass
class ServiceDefinition:
    name: str  # python/db name, e.g. "zone_registry"
    title: str  # human/kafka name, e.g. "zone-registry"
    port: int
    description: str
    consumes: list[Topic]
    emits: list[Topic]
    handlers: Handlers
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
            settings.kafka_bootstrap,
            client_id=f"pbz-{definition.title}",
            log_level=logging.DEBUG,  # FastStream's per-message lines; ours say more
            enable_idempotence=True,
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
        self._scheduler: asyncio.Task[None] | None = None
        self.started = False
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

    def _register(self) -> None:
        d = self.definition
        subscriber = self.broker.subscriber(
            *[t.value for t in d.consumes],
            group_id=self.settings.group_id(d.title),
            ack_policy=AckPolicy.MANUAL,  # the pipeline commits exactly the processed offset
            auto_offset_reset=self.settings.auto_offset_reset,
            decoder=_raw_body,
            title=f"{d.title}:consume",
            description=f"Every event {d.title} consumes. Unreadable messages go to pbz.dlq.",
        )
        pipeline = self.pipeline

        @subscriber
        async def consume(body: bytes, message: KafkaMessage) -> None:
            await pipeline.handle_record(message.raw_message, message.consumer)  # type: ignore[arg-type]

        # Publishers are declared for the AsyncAPI document.
        for topic in [*d.emits, Topic.DLQ]:
            types = sorted(t for t, s in REGISTRY.items() if s.topic == topic)
            self.broker.publisher(topic.value, title=f"{d.title}:{topic.value}", description=", ".join(types))

    async def start(self) -> None:
        current_service.set(self.name)
        tracing.configure(self.name, self.settings.otlp_endpoint)
        await ensure_indexes(self.db, self.definition.indexes)
        await self.pipeline.load_clock()
        await self.broker.start()
        if not self.clock.event_driven and self.definition.handlers.tick is not None:
            self._scheduler = asyncio.create_task(self._wall_scheduler(), name=f"{self.name}-scheduler")
        self.lag.start()
        self.started = True
        log.info(
            "%s started: kafka=%s db=%s clock=%s",
            self.name,
            self.settings.kafka_bootstrap,
            self.db.name,
            self.settings.clock,
        )

    async def stop(self) -> None:
        self.started = False
        await self.replay.stop()
        await self.lag.stop()
        if self._scheduler is not None:
            self._scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduler
        await self.pipeline.stop()  # commits what is stored before the consumer goes
        await self.broker.stop()
        self.mongo.close()
        tracing.shutdown()
        log.info("%s stopped", self.name)

    async def _wall_scheduler(self) -> None:
        """Wall-clock mode: act on deadlines and period closes every few seconds."""
        while True:
            now = self.clock.now()
            tick = make_event(
                id=f"wall-tick/{self.name}/{now.isoformat()}",
                type="clock.ticked",
                source=f"pbz/{self.name}/scheduler",
                time=now,
                data={"now": now.isoformat()},
            )
            await self.pipeline.run_event(tick, ClockTicked(now=now))
            await asyncio.sleep(self.settings.scheduler_interval_s)

    async def publish_command(self, event_type: str, data: BaseModel, key: str | None) -> CloudEvent:
        """What the POST endpoints do: wrap a command in an envelope and put it on its topic."""
        spec = spec_for(event_type)
        event = make_event(
            id=new_event_id(),
            type=event_type,
            source=f"pbz/{self.name}/http",
            time=self.clock.now()
            if self.pipeline.last_tick or not self.clock.event_driven
            else datetime.now(UTC),
            subject=key,
            data=spec.model.model_validate(data.model_dump(mode="json")).model_dump(
                mode="json", exclude_none=True
            ),
            extensions=tracing.outgoing(),  # the caller's traceparent header, if any
        )
        await self.pipeline.publish(spec.topic.value, event.to_json(), key.encode() if key else None)
        return event

    async def readiness(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            await asyncio.wait_for(self.mongo.admin.command("ping"), 2)
            checks["mongo"] = "ok"
        except Exception as e:
            checks["mongo"] = f"unreachable: {type(e).__name__}"
        try:
            ok = await self.broker.ping(timeout=2)
            checks["kafka"] = "ok" if ok else "unreachable"
        except Exception as e:
            checks["kafka"] = f"unreachable: {type(e).__name__}"
        checks["consumer"] = "ok" if self.started else "not started"
        checks["pipeline"] = (
            "ok" if self.pipeline.waiting_on is None else f"waiting: {self.pipeline.waiting_on}"
        )
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


async def accept(runtime: Runtime, event_type: str, data: BaseModel, key: str | None) -> CommandAccepted:
    event = await runtime.publish_command(event_type, data, key)
    return CommandAccepted(command_id=event.id, type=event_type, topic=spec_for(event_type).topic.value)


def create_app(definition: ServiceDefinition, settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or definition.settings_cls()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(definition, settings)
        app.state.runtime = runtime
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title=f"pbz {definition.title}",
        description=definition.description,
        version="1.0.0",
        lifespan=lifespan,
    )
    ops = APIRouter(tags=["operations"])

    @ops.get("/healthz", response_model=Health)
    async def healthz() -> Health:
        """The process is up."""
        return Health(status="ok", service=definition.title)

    @ops.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
    async def readyz(runtime: RuntimeDep, response: Response) -> Readiness:
        """Kafka and Mongo reachable, the consumer running and not waiting on a failure."""
        checks = await runtime.readiness()
        ok = all(v == "ok" for v in checks.values())
        response.status_code = 200 if ok else 503
        ticked = not runtime.clock.event_driven or runtime.pipeline.last_tick is not None
        clock = ClockState(mode=runtime.clock.mode, now=runtime.clock.now() if ticked else None)
        return Readiness(
            status="ready" if ok else "not_ready", service=definition.title, checks=checks, clock=clock
        )

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

    app.include_router(ops)
    app.include_router(replay_router(lambda request: get_runtime(request).replay))
    app.middleware("http")(tracing.http_middleware)
    for router in definition.routers:
        app.include_router(router)
    return app


def main(definition: ServiceDefinition) -> None:
    settings = definition.settings_cls()
    configure_logging(settings.log_level, settings.log_format)
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
    "Runtime",
    "RuntimeDep",
    "ServiceDefinition",
    "accept",
    "create_app",
    "main",
]
