"""Where a restarted service's time to consume goes: activity-log killed with SIGKILL and
started again, idle and under a steady load of ``activity.record`` commands.

    PBZ_PORT_OFFSET=... .venv/bin/python -m bench.restart_time [--rate 150] [--rounds 2]

Prints, per restart: seconds from the new process's spawn to its HTTP port answering
(process start and imports, lifespan), to ``/readyz`` green, to the first
``activity.recorded`` it emits (consuming again), and the service's own start-up phases
from its log (indexes, unfinished records, group join / first assignment).
Figures only, no assertions (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from shared.events import Topic
from tests.procs import ServiceProcess
from tests.support import Bus

ZONES = 6


def _zone(zone_id: str) -> dict[str, Any]:
    members = [
        {
            "member_id": f"M{i}",
            "name": f"m{i}",
            "home_branch": "b",
            "employer_unit_id": "H1",
            "employment": "staff",
            "zone_role": "member",
        }
        for i in range(1, 4)
    ]
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
        "members": members,
        "established_at": "2026-04-01T00:00:00+08:00",
    }


def _activity(zone_id: str, n: int) -> dict[str, Any]:
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


def _phases(log: Path, since: float) -> dict[str, float]:
    """Start-up phases the service logged (``phase`` lines), seconds after its own start."""
    out: dict[str, float] = {}
    for line in log.read_bytes().splitlines():
        with contextlib.suppress(ValueError):
            doc = orjson.loads(line)
            if "phase" in doc and doc.get("pid_start", 0) >= since - 1:
                out[doc["phase"]] = doc.get("seconds", 0.0)
    return out


class Load:
    def __init__(self, bus: Bus, zones: list[str], rate: float) -> None:
        self.bus, self.zones, self.rate = bus, zones, rate
        self.sent = 0
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        while True:
            t0 = time.monotonic()
            batch = max(1, int(self.rate / 10))
            for _ in range(batch):
                z = self.zones[self.sent % len(self.zones)]
                await self.bus.producer.send(
                    "pbz.activity.commands", orjson.dumps(_envelope(z, self.sent)), key=z.encode()
                )
                self.sent += 1
            await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - t0)))


def _envelope(zone_id: str, n: int) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "type": "activity.record",
        "source": "bench",
        "time": datetime.now(UTC).isoformat(),
        "data": _activity(zone_id, n),
    }


async def _first_output_after(out: Any, t: float, timeout: float = 180) -> float:
    """Seconds from ``t`` (monotonic) until an activity.recorded arrives that was not there at ``t``."""
    n0 = len(out.records)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for r in out.records[n0:]:
            if b'"activity.' in r.value and out.suffix in r.value:
                return time.monotonic() - t
        n0 = len(out.records)
        await asyncio.sleep(0.05)
    return float("nan")


async def restart_once(proc: ServiceProcess, out: Any, load: Load | None) -> dict[str, float]:
    await asyncio.sleep(3.0)
    await proc.kill()
    # Let the dead process's in-flight outputs land, so only the new process's count.
    await asyncio.sleep(0.5)
    await proc.start()
    t0 = proc.started_at
    if load is None:
        # Idle: one command, published as the process starts.
        await load_one(out, proc)
    first = asyncio.create_task(_first_output_after(out, t0))
    http = await proc.wait_http("/healthz")
    ready = await proc.wait_ready()
    consumed = await first
    figures = {"http": http, "ready": ready, "consuming": consumed}
    figures.update(
        {f"log:{k}": v for k, v in _phases(proc.log_path, time.time() - (time.monotonic() - t0)).items()}
    )
    return figures


async def load_one(out: Any, proc: ServiceProcess) -> None:
    bus: Bus = out.bus
    z = bus.zones[0]
    await bus.producer.send_and_wait(
        "pbz.activity.commands", orjson.dumps(_envelope(z, 10**6 + proc.kills)), key=z.encode()
    )


async def main(rate: float, rounds: int) -> None:
    suffix = f"_b{uuid.uuid4().hex[:8]}"
    zones = [f"Z{i}-{suffix}" for i in range(ZONES)]
    proc = ServiceProcess("services.activity_log", suffix)
    async with Bus() as bus:
        out = await bus.watch(Topic.ACTIVITY_EVENTS.value)
        out.bus = bus  # type: ignore[attr-defined]
        out.suffix = suffix.encode()  # type: ignore[attr-defined]
        bus.zones = zones  # type: ignore[attr-defined]
        try:
            await _run(bus, out, proc, zones, rate, rounds)
        finally:
            await proc.stop()
            from motor.motor_asyncio import AsyncIOMotorClient

            from tests.support import MONGO

            await AsyncIOMotorClient(MONGO).drop_database(f"pbz_activity_log{suffix}")


async def _run(bus: Bus, out: Any, proc: ServiceProcess, zones: list[str], rate: float, rounds: int) -> None:
    await proc.start()
    await proc.wait_ready()
    for z in zones:
        await bus.publish("zone.established", {"zone": _zone(z)}, key=z)
    await load_one(out, proc)
    await out.wait_for(lambda es: len(es) > 0, timeout=120)
    if True:
        for label, r in (("idle", None), ("load", rate)):
            load = Load(bus, zones, r) if r else None
            if load is not None:
                load.task = asyncio.create_task(load.run())
            for i in range(rounds):
                figures = await restart_once(proc, out, load)
                line = "  ".join(f"{k}={v:.1f}s" for k, v in figures.items())
                print(f"restart {label} #{i + 1} ({r or 0:.0f} commands/s): {line}", flush=True)
            if load is not None and load.task is not None:
                load.task.cancel()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=150.0)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    asyncio.run(main(args.rate, args.rounds))
