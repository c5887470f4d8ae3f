"""Services as real operating-system processes, for fault tests: started the way
``make services-up`` starts them (``python -m services.<name>``), killed with SIGKILL,
restarted, and asked over HTTP whether they are ready.

Each process gets an isolated instance (database and consumer group suffix) shared by the
copies of one service in a test, a free HTTP port, and its own log file under
``.local/logs/faults``. Only processes started here are ever signalled, by their pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase

from shared.actor import Actor
from tests.support import DEFAULT, KAFKA, MONGO, Bus, default_actor, eventually

ROOT = Path(__file__).resolve().parents[1]
LOGS = Path(os.environ.get("PBZ_LOCAL_DIR", ROOT / ".local")) / "logs" / "faults"


# Resolved here, in the parent: between fork and exec the child only calls it (no dlopen, whose
# lock another thread of the harness may have held at the fork).
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before it runs: the kernel sends it SIGTERM when the process that started
    it dies, so a harness killed without its clean-up (SIGTERM, a CI timeout) leaves no service
    behind to consume the next run's topics (a stray set once doubled a make bench month)."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServiceProcess:
    """One process of a service. ``start`` may be called again after ``kill``."""

    def __init__(
        self, module: str, suffix: str, name: str | None = None, kafka: str = KAFKA, **settings: Any
    ) -> None:
        self.module = module
        self.name = name or module.rsplit(".", 1)[-1]
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PBZ_")}
        env.update(
            {
                "PBZ_KAFKA_BOOTSTRAP": kafka,
                "PBZ_MONGO_URL": MONGO,
                "PBZ_INSTANCE_SUFFIX": suffix,
                "PBZ_AUTO_OFFSET_RESET": "latest",
                "PBZ_CLOCK": "events",
                "PBZ_HTTP_PORT": str(self.port),
                "PBZ_LOG_FORMAT": "json",
                "PBZ_RETRY_INITIAL_S": "0.05",
                "PBZ_RETRY_MAX_S": "0.5",
            }
        )
        env.update({f"PBZ_{k.upper()}": str(v) for k, v in settings.items()})
        self.env = env
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log_path = LOGS / f"{self.name}{suffix}-{self.port}.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.started_at = 0.0
        self.kills = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        assert self.proc is None or self.proc.returncode is not None, "already running"
        log = self.log_path.open("ab")
        self.started_at = time.monotonic()
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            self.module,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=log,
            preexec_fn=_die_with_parent,
        )
        log.close()

    async def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed or committed."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()
            self.kills += 1

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            await self.kill()

    async def get(self, path: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as client:
            return await client.get(path)

    async def wait_http(self, path: str = "/healthz", timeout: float = 90) -> float:
        """Seconds from ``start`` until ``path`` answers 200."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is not None and self.proc.returncode is not None:
                raise AssertionError(f"{self.name} exited ({self.proc.returncode}); log: {self.log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if (await self.get(path)).status_code == 200:
                    return time.monotonic() - self.started_at
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} {path} not 200 within {timeout} s; log: {self.log_path}")
            await asyncio.sleep(0.1)

    async def wait_ready(self, timeout: float = 90) -> float:
        return await self.wait_http("/readyz", timeout)

    async def readiness(self) -> dict[str, Any]:
        body: dict[str, Any] = (await self.get("/readyz")).json()
        return body


@contextlib.asynccontextmanager
async def processes(*procs: ServiceProcess) -> Any:
    """Start every process, wait until each is ready; stop all of them at the end."""
    try:
        for p in procs:
            await p.start()
        for p in procs:
            await p.wait_ready()
        yield procs
    finally:
        for p in procs:
            await p.stop()


def zone_snapshot(zone_id: str, members: int = 3) -> dict[str, Any]:
    """An active zone as zone-registry announces it, with members M1..Mn."""
    return {
        "zone_id": zone_id,
        "name": f"zone {zone_id}",
        "mode": "project_cobuild",
        "status": "active",
        "region": "north",
        "host_unit_id": "H1",
        "project_ids": [f"P-{zone_id}"],
        "units": [{"unit_id": "H1", "name": "host", "role": "host"}],
        "systems": ["daily_checkin"],
        "members": [
            {
                "member_id": f"M{i}",
                "name": f"m{i}",
                "home_branch": "b",
                "employer_unit_id": "H1",
                "employment": "staff",
                "zone_role": "member",
            }
            for i in range(1, members + 1)
        ],
        "established_at": "2026-04-01T00:00:00+08:00",
    }


def command(
    event_type: str,
    data: dict[str, Any],
    source: str = "faults",
    time: datetime | None = None,
    actor: Actor | None = DEFAULT,
) -> tuple[str, bytes]:
    """A command's (or fact's) id and its envelope. A command names its actor (issue 13) as
    the HTTP layer would stamp it: by default as ``tests.support.Bus.publish`` does."""
    event_id = str(uuid.uuid4())
    if actor is DEFAULT:
        actor = default_actor(event_type, data)
    envelope = {
        "specversion": "1.0",
        "id": event_id,
        "type": event_type,
        "source": source,
        "time": (time or datetime.now(UTC)).isoformat(),
        **(actor.extension() if actor is not None else {}),
        "data": data,
    }
    return event_id, orjson.dumps(envelope)


def activity_data(zone_id: str, n: int) -> dict[str, Any]:
    start = datetime(2026, 4, 1, 8, tzinfo=UTC) + timedelta(minutes=n)
    return {
        "activity_id": f"A-{zone_id}-{n}",
        "zone_id": zone_id,
        "kind": "other",
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(minutes=30)).isoformat(),
        "location": "site",
        "topic": "load",
        "organizer_member_id": "M1",
        "attendee_member_ids": ["M1", "M2"],
    }


def activity_records(zone_ids: list[str], count: int) -> list[tuple[str, str, bytes]]:
    """(key, command id, value) of ``count`` activity.record commands, the zones in turn."""
    items = []
    for n in range(count):
        z = zone_ids[n % len(zone_ids)]
        command_id, value = command("activity.record", activity_data(z, n))
        items.append((z, command_id, value))
    return items


def database(service: str, suffix: str) -> AsyncIOMotorDatabase[Any]:
    """A service process's own database (``pbz_<service><suffix>``), read from outside it."""
    return AsyncIOMotorClient(MONGO, tz_aware=True)[f"pbz_{service}{suffix}"]


async def zone_copies(bus: Bus, db: Any, zone_ids: list[str], timeout: float = 30) -> None:
    """Establish the zones and wait until the service (``db``) holds a copy of each."""
    for z in zone_ids:
        await bus.publish("zone.established", {"zone": zone_snapshot(z)}, key=z)

    async def copied() -> bool:
        return bool(await db["zones"].count_documents({}) >= len(zone_ids))

    await eventually(copied, timeout=timeout, what="the zone copies")


async def send_all(bus: Bus, topic: str, items: list[tuple[str, str, bytes]], tally: Tally) -> None:
    """Publish (key, command id, value) items as fast as the producer takes them."""
    sends = []
    for key, command_id, value in items:
        tally.commands.add(command_id)
        sends.append(await bus.producer.send(topic, value, key=key.encode()))
    await asyncio.gather(*sends)


def activity_command(zone_id: str, n: int) -> bytes:
    return command("activity.record", activity_data(zone_id, n), source="bench")[1]


class Tally:
    """What came out for each command sent: the figures a fault test prints and checks.

    ``outputs``: records of the service's events topic. An output belongs to the command
    whose id is its ``causationid``; copies of one event id are redelivered copies (allowed,
    counted), two distinct event ids of one type for one command are a doubled effect."""

    def __init__(self, output_types: set[str]) -> None:
        self.output_types = output_types
        self.commands: set[str] = set()
        self._seen: dict[str, dict[str, set[str]]] = {}
        self._matching = 0
        self._read = 0

    def by_cause(self, records: list[Any]) -> tuple[dict[str, dict[str, set[str]]], int]:
        """Outputs per command (read once each, as ``records`` grows), and the copies."""
        for r in records[self._read :]:
            try:
                e = orjson.loads(r.value)
            except orjson.JSONDecodeError:
                continue
            cause = e.get("causationid")
            if e.get("type") in self.output_types and cause in self.commands:
                self._matching += 1
                self._seen.setdefault(cause, {}).setdefault(e["type"], set()).add(e["id"])
        self._read = len(records)
        distinct = sum(len(ids) for types in self._seen.values() for ids in types.values())
        return self._seen, self._matching - distinct

    def answered(self, records: list[Any]) -> int:
        return len(self.by_cause(records)[0])

    def figures(self, records: list[Any]) -> dict[str, int]:
        seen, copies = self.by_cause(records)
        return {
            "events": len(self.commands),
            "lost": len(self.commands - set(seen)),
            "doubled": sum(1 for types in seen.values() if any(len(ids) > 1 for ids in types.values())),
            "redelivered copies": copies,
        }


# Figures of this run's fault tests, printed at the end of the run (tests/conftest.py).
FIGURES: list[str] = []


def report(name: str, **figures: Any) -> None:
    """One line of figures: printed now (pytest -s) and in the run's summary."""
    text = ", ".join(
        f"{k.replace('_', ' ')} {v:.1f}" if isinstance(v, float) else f"{k.replace('_', ' ')} {v}"
        for k, v in figures.items()
    )
    FIGURES.append(f"[{name}] {text}")
    print(f"\n[{name}] {text}", flush=True)


async def first_output_after(records: list[Any], since: int, timeout: float = 180) -> float:
    """Seconds until ``records`` grows past ``since`` (the restarted process consumes)."""
    t0 = time.monotonic()
    while len(records) <= since:
        if time.monotonic() - t0 > timeout:
            return float("nan")
        await asyncio.sleep(0.05)
    return time.monotonic() - t0
