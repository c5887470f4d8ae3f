"""Helpers for integration tests on the real local Kafka broker and Mongo-protocol server.

Each test runs its services in an isolated *instance* (own database and consumer group,
suffix ``_t<random>``) that starts reading at the topics' current end, so tests share the
broker without seeing each other's history.

Who is calling comes from the real OpenID Connect provider (Keycloak, started by
``make infra-up``): ``serving`` gives an HTTP client signed in as the party office, and
``bearer(who)`` the headers of anyone else. Commands the :class:`Bus` publishes name their
actor as the services require: a permit command its signing member, any other command the
party office — unless a test names another actor (or none).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient
from motor.motor_asyncio import AsyncIOMotorClient

from services.simulator.identity import Identity
from services.simulator.realm import PARTY_OFFICE
from shared.actor import Actor, AuthType
from shared.events import CONTENT_TYPE, CloudEvent, Topic, make_event, new_event_id, spec_for
from shared.service import Runtime, ServiceDefinition, create_app
from shared.settings import ServiceSettings

_LOCAL = ServiceSettings()  # PBZ_PORT_OFFSET moves the local infrastructure's ports
KAFKA = _LOCAL.kafka_bootstrap
MONGO = _LOCAL.mongo_url
ISSUER = _LOCAL.oidc_issuer
PARTY_OFFICER = PARTY_OFFICE[0]
# The actor of a command a test publishes without naming one (see the module's docstring).
OFFICE_ACTOR = Actor(type=AuthType.USER, id=PARTY_OFFICER, roles=frozenset({"party_office"}))
COMMAND_TOPICS = {
    Topic.ZONE_COMMANDS,
    Topic.ACTIVITY_COMMANDS,
    Topic.PERMIT_COMMANDS,
    Topic.ASSESSMENT_COMMANDS,
}
DEFAULT: Any = object()

_identity: Identity | None = None


def identity() -> Identity:
    """One signed-in cache for the whole test session (tokens are reused until they expire)."""
    global _identity
    if _identity is None:
        _identity = Identity.from_settings(_LOCAL)
    return _identity


async def bearer(who: str) -> dict[str, str]:
    """The Authorization header of ``who`` (a member id, PO0001, HS0001, a publisher)."""
    return {"Authorization": f"Bearer {await identity().token(who)}"}


def default_actor(event_type: str, data: dict[str, Any]) -> Actor | None:
    """The actor of a command a test sends without naming one: a permit command its signing
    member, any other command the party office; facts and events none."""
    topic = spec_for(event_type).topic
    if topic == Topic.PERMIT_COMMANDS:
        return person(str(data["member_id"]))
    return OFFICE_ACTOR if topic in COMMAND_TOPICS else None


def person(member_id: str, *roles: str) -> Actor:
    """An actor as the HTTP layer would stamp it from that person's token."""
    return Actor(type=AuthType.USER, id=member_id, roles=frozenset(roles or ("zone_member",)))


def infra_up() -> bool:
    mongo_port = int(MONGO.rsplit(":", 1)[1].split("/")[0])
    issuer_port = int(ISSUER.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    for host, port in (
        ("127.0.0.1", int(KAFKA.rsplit(":", 1)[1])),
        ("127.0.0.1", mongo_port),
        ("127.0.0.1", issuer_port),
    ):
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex((host, port)) != 0:
                return False
    return True


def new_suffix() -> str:
    return f"_t{uuid.uuid4().hex[:8]}"


def test_settings(definition: ServiceDefinition, suffix: str, **overrides: Any) -> ServiceSettings:
    values: dict[str, Any] = {
        "kafka_bootstrap": KAFKA,
        "mongo_url": MONGO,
        "instance_suffix": suffix,
        "auto_offset_reset": "latest",
        "clock": "events",
        "retry_initial_s": 0.05,
        "retry_max_s": 0.5,
        "log_format": "text",
    }
    values.update(overrides)
    return definition.settings_cls(**values)


async def _wait_assigned(runtime: Runtime, timeout: float = 30.0, shared: bool = False) -> None:
    """Wait until start-up is over and the group owns every partition of its topics (the
    pipeline commits the start of each fresh partition, so a restart resumes exactly there).
    ``shared``: other instances are in the group too; start-up over is enough."""
    deadline = time.monotonic() + timeout
    topics = [t.value for t in runtime.topics]
    while True:
        consumer: AIOKafkaConsumer | None = runtime.subscriber.consumer if runtime.started else None
        if consumer is not None:
            assigned = consumer.assignment()
            wanted = sum(len(consumer.partitions_for_topic(t) or ()) for t in topics)
            if shared or (assigned and len(assigned) >= wanted):
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{runtime.name} got no partition assignment in {timeout} s ({runtime.phase})")
        await asyncio.sleep(0.05)


async def drop_database(name: str) -> None:
    """A test's database, dropped once its service has stopped: dropped while the service's
    lanes still wrote to it, FerretDB 1.24 on SQLite died of a SIGBUS in SQLite's WAL index
    (seen in make bench, 27 Nov 2026), taking every later test's store with it."""
    client: AsyncIOMotorClient[Any] = AsyncIOMotorClient(MONGO)
    try:
        await client.drop_database(name)
    finally:
        client.close()


@contextlib.asynccontextmanager
async def running(
    definition: ServiceDefinition,
    suffix: str | None = None,
    *,
    drop: bool = True,
    shared: bool = False,
    **overrides: Any,
) -> AsyncIterator[Runtime]:
    """Start one service instance (consumer, pipeline, wall ticker) without HTTP.

    ``drop=False`` keeps its database for a restart with the same ``suffix``; ``shared``:
    another instance with the same suffix is in its group."""
    settings = test_settings(definition, suffix or new_suffix(), **overrides)
    runtime = Runtime(definition, settings)
    await runtime.start()
    try:
        await _wait_assigned(runtime, shared=shared)
        yield runtime
    finally:
        await runtime.stop()
        if drop:
            await drop_database(runtime.db.name)


@contextlib.asynccontextmanager
async def serving(
    definition: ServiceDefinition,
    suffix: str | None = None,
    *,
    drop: bool = True,
    as_: str | None = PARTY_OFFICER,
    **overrides: Any,
) -> AsyncIterator[tuple[Runtime, AsyncClient]]:
    """Start one service instance with its HTTP app, and an HTTP client on it signed in as
    ``as_`` (the party office by default; None: no token)."""
    settings = test_settings(definition, suffix or new_suffix(), **overrides)
    app = create_app(definition, settings)
    try:
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
            runtime: Runtime = app.state.runtime
            await _wait_assigned(runtime)
            async with AsyncClient(
                transport=ASGITransport(app=manager.app),
                base_url="http://test",
                auth=identity().auth(as_) if as_ else None,
            ) as client:
                yield runtime, client
    finally:
        if drop and hasattr(app.state, "runtime"):
            await drop_database(app.state.runtime.db.name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def listening(
    definition: ServiceDefinition, suffix: str | None = None, *, drop: bool = True, **overrides: Any
) -> AsyncIterator[tuple[Runtime, str]]:
    """Start one service instance with its HTTP app on a real local port (for clients that
    are separate processes, like ``pbz``); yields the runtime and its base URL."""
    import uvicorn

    settings = test_settings(definition, suffix or new_suffix(), **overrides)
    app = create_app(definition, settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: server.started or task.done(), timeout=60, what="the HTTP server")
        if task.done():
            task.result()
        runtime: Runtime = app.state.runtime
        await _wait_assigned(runtime)
        yield runtime, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        if drop and hasattr(app.state, "runtime"):
            await drop_database(app.state.runtime.db.name)


async def caught_up(runtime: Runtime, timeout: float = 60.0) -> None:
    """Wait until the instance's group has committed every message of its topics (lag 0):
    what was published before is handled, in the order it was consumed."""
    from shared.admin import group_lags

    group = runtime.settings.group_id(runtime.definition.title)
    topics = [t.value for t in runtime.definition.consumes]

    async def zero() -> bool:
        return all(r.lag == 0 for r in await group_lags(KAFKA, {group: topics}))

    await eventually(zero, timeout=timeout, what=f"{group} caught up")


async def pbz(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> tuple[int, str, str]:
    """Run the ``pbz`` command line as a user would (the console script, a separate process)."""
    exe = Path(sys.executable).with_name("pbz")
    proc = await asyncio.create_subprocess_exec(
        str(exe),
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


class Bus:
    """Publishes events as the enterprise systems would, and watches what comes out."""

    def __init__(self, bootstrap: str = KAFKA) -> None:
        self.bootstrap = bootstrap
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
        self.watchers: list[Watcher] = []

    async def __aenter__(self) -> Bus:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        for w in self.watchers:
            await w.stop()
        await self.producer.stop()

    async def publish(
        self,
        event_type: str,
        data: dict[str, Any],
        *,
        key: str | None = None,
        time: datetime | None = None,
        id: str | None = None,
        correlationid: str | None = None,
        source: str = "test",
        actor: Actor | None = DEFAULT,
        extensions: dict[str, str] | None = None,
    ) -> CloudEvent:
        """``extensions``: envelope attributes to add, e.g. ``Actor(...).extension()``."""
        from datetime import UTC
        from datetime import datetime as dt

        if actor is DEFAULT:
            actor = default_actor(event_type, data)
        event = make_event(
            id=id or new_event_id(),
            type=event_type,
            source=source,
            time=time or dt.now(UTC),
            subject=key,
            correlationid=correlationid,
            data=data,
            extensions=actor.extension() if actor is not None else None,
        )
        if extensions:
            event = CloudEvent.model_validate({**event.model_dump(), **extensions})
        await self.send_raw(spec_for(event_type).topic.value, event.to_json(), key)
        return event

    async def resend(self, event: CloudEvent, key: str | None = None) -> None:
        await self.send_raw(spec_for(event.type).topic.value, event.to_json(), key)

    async def send_raw(self, topic: str, value: bytes, key: str | None = None) -> Any:
        return await self.producer.send_and_wait(
            topic, value, key=key.encode() if key else None, headers=[("content-type", CONTENT_TYPE.encode())]
        )

    async def watch(self, *topics: str) -> Watcher:
        w = Watcher(list(topics), self.bootstrap)
        await w.start()
        self.watchers.append(w)
        return w


class Watcher:
    """Reads topics from their current end (no group) and keeps every message."""

    def __init__(self, topics: list[str], bootstrap: str = KAFKA) -> None:
        self.topics = topics
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.records: list[Any] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        cluster = await self.consumer._client.fetch_all_metadata()
        tps = [
            TopicPartition(t, p) for t in self.topics for p in sorted(cluster.partitions_for_topic(t) or ())
        ]
        assert tps, f"no partitions for {self.topics}: run `make infra-up` (it creates the topics)"
        self.consumer.assign(tps)
        ends = await self.consumer.end_offsets(tps)
        for tp, off in ends.items():
            self.consumer.seek(tp, off)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=100)
            for recs in batch.values():
                self.records.extend(recs)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.consumer.stop()

    def events(self, event_type: str | None = None) -> list[CloudEvent]:
        out = []
        for r in self.records:
            try:
                e = CloudEvent.model_validate(orjson.loads(r.value))
            except Exception:
                continue
            if event_type is None or e.type == event_type:
                out.append(e)
        return out

    async def wait_for(
        self, predicate: Callable[[list[CloudEvent]], bool], timeout: float = 20.0, what: str = "events"
    ) -> list[CloudEvent]:
        deadline = time.monotonic() + timeout
        while True:
            evs = self.events()
            if predicate(evs):
                return evs
            if time.monotonic() > deadline:
                types = [e.type for e in evs]
                raise AssertionError(f"timed out waiting for {what}; saw {len(evs)} events: {types[-30:]}")
            await asyncio.sleep(0.05)

    async def quiet(self, seconds: float = 1.0) -> list[CloudEvent]:
        """Wait until nothing new arrived for ``seconds``; return everything seen."""
        n = -1
        while n != len(self.records):
            n = len(self.records)
            await asyncio.sleep(seconds)
        return self.events()


async def committed_offset(group: str, topic: str, partition: int) -> int | None:
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
        meta = offsets.get(TopicPartition(topic, partition))
        return None if meta is None or meta.offset < 0 else meta.offset
    finally:
        await admin.close()


async def eventually(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll an async or sync check until it returns a truthy value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = check()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} (last: {last!r})")
        await asyncio.sleep(0.05)


async def stored(runtime: Runtime, collection: str, _id: str, timeout: float = 20.0) -> dict[str, Any]:
    """Wait until a service has stored a document (e.g. its copy of a zone).

    Different topics are consumed in no particular order: a test that publishes a zone
    snapshot and then a command for that zone waits for the copy first, as a real
    client would wait for the zone to be announced."""
    doc = await eventually(
        lambda: runtime.db[collection].find_one({"_id": _id}), timeout=timeout, what=f"{_id} in {collection}"
    )
    return dict(doc)
