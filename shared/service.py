"""Wiring one service: settings, Mongo, the FastStream broker and subscriber, the
pipeline, the wall-clock scheduler, and the HTTP app with the operational endpoints.

A service declares itself with a :class:`ServiceDefinition`; ``create_app`` turns it into
a FastAPI app whose lifespan starts and stops everything; ``main`` serves it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import uvicorn
from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import HTMLResponse
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.specification import AsyncAPI, Specification, get_asyncapi_html
from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from . import http
from .actor import Actor
from .auth import TokenVerifier, authenticate
from .clock import Clock
from .events import REGISTRY, CloudEvent, Topic, make_event, new_event_id, spec_for
from .events.catalog import ClockTicked, HttpReason
from .http import ApiProblem, IdempotencyKey
from .logs import configure_logging, current_service
from .mongo import Index, database, ensure_indexes, make_client
from .pipeline import PROCESSED, Handlers, Pipeline, kafka_publisher
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
        self._scheduler: asyncio.Task[None] | None = None
        self.started = False
        self._register()

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
        await ensure_indexes(self.db, self.definition.indexes)
        await self.pipeline.load_clock()
        await self.broker.start()
        if not self.clock.event_driven and self.definition.handlers.tick is not None:
            self._scheduler = asyncio.create_task(self._wall_scheduler(), name=f"{self.name}-scheduler")
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
        if self._scheduler is not None:
            self._scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduler
        await self.pipeline.stop()  # commits what is stored before the consumer goes
        await self.broker.stop()
        self.mongo.close()
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
        answering within ``publish_timeout_s`` is a 503 with Retry-After, not a hung request."""
        spec = spec_for(event_type)
        event = make_event(
            id=event_id or new_event_id(),
            type=event_type,
            source=f"pbz/{self.name}/http",
            time=self.clock.now()
            if self.pipeline.last_tick or not self.clock.event_driven
            else datetime.now(UTC),
            subject=key,
            data=spec.model.model_validate(data.model_dump(mode="json")).model_dump(
                mode="json", exclude_none=True
            ),
            extensions=actor.extension(),
        )
        try:
            await asyncio.wait_for(
                self.pipeline.publish(spec.topic.value, event.to_json(), key.encode() if key else None),
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
        try:
            ok = await self.broker.ping(timeout=2)
            checks["kafka"] = "ok" if ok else "unreachable"
        except Exception as e:
            checks["kafka"] = f"unreachable: {type(e).__name__}"
        checks["consumer"] = "ok" if self.started else "not started"
        waiting = self.pipeline.waiting_on
        # waiting_on is "<ExceptionType>: <text>": only the type is shown.
        checks["pipeline"] = "ok" if waiting is None else f"waiting: {waiting.split(':', 1)[0]}"
        return checks

    def asyncapi(self) -> Specification:
        d = self.definition
        factory = AsyncAPI(self.broker, title=f"pbz {d.title}", version="1.0.0", description=d.description)
        return factory.to_specification()


async def _raw_body(msg: Any) -> Any:
    # The pipeline decodes the bytes itself, so a broken message reaches it (and the DLQ).
    return msg.body


# --------------------------------------------------------------------------- HTTP


class Health(BaseModel):
    status: str
    service: str


class Readiness(BaseModel):
    status: str
    service: str
    checks: dict[str, str]


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


def create_app(definition: ServiceDefinition, settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or definition.settings_cls()

    verifier = TokenVerifier(
        issuer=settings.oidc_issuer,
        audience=settings.oidc_audience,
        jwks_url=settings.jwks_url,
        algorithms=settings.oidc_algorithms,
        leeway_s=settings.oidc_leeway_s,
        jwks_max_age_s=settings.oidc_jwks_max_age_s,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(definition, settings)
        app.state.runtime = runtime
        await runtime.start()
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
        return Readiness(status="ready" if ok else "not_ready", service=definition.title, checks=checks)

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

    app.include_router(ops)
    # Every route of the service's own routers needs a valid bearer token (the operational
    # ones above do not); 401/403/503 and the shared 400/422 are documented on each.
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
