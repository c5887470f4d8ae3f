"""Where a restarted service's time to consume goes: activity-log killed with SIGKILL and
started again, idle and under a steady load of ``activity.record`` commands, with dynamic
group membership and with a group instance id (static membership).

    PBZ_PORT_OFFSET=... .venv/bin/python -m bench.restart_time [--rate 150] [--rounds 2]

Prints, per restart, seconds from the new process's spawn to: its HTTP port answering,
``/readyz`` green, and the first ``activity.*`` event it emits (consuming again); then the
start-up phases the service logged (``phase`` lines: seconds since the process started,
so "indexes" is process start and imports, "joining" → "consuming" is the group join).
Figures only, no assertions (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
import uuid
from datetime import datetime

import orjson
from motor.motor_asyncio import AsyncIOMotorClient

from shared.events import Topic
from tests.procs import ServiceProcess, activity_command, zone_snapshot
from tests.support import MONGO, Bus, Watcher

ZONES = 6


class Load:
    """``rate`` commands per second, round-robin over the zones, until cancelled."""

    def __init__(self, bus: Bus, zones: list[str], rate: float) -> None:
        self.bus, self.zones, self.rate = bus, zones, rate
        self.sent = 0

    async def run(self) -> None:
        while True:
            t0 = time.monotonic()
            for _ in range(max(1, int(self.rate / 10))):
                z = self.zones[self.sent % len(self.zones)]
                await self.bus.producer.send(
                    Topic.ACTIVITY_COMMANDS.value, activity_command(z, self.sent), key=z.encode()
                )
                self.sent += 1
            await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - t0)))


async def first_output_after(out: Watcher, tag: bytes, t0: float, timeout: float = 180) -> float:
    """Seconds from ``t0`` (monotonic) until an activity event of this run arrives that was
    not there when called."""
    seen = len(out.records)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for r in out.records[seen:]:
            if tag in r.value:
                return time.monotonic() - t0
        seen = len(out.records)
        await asyncio.sleep(0.05)
    return float("nan")


def logged_phases(proc: ServiceProcess, since_wall: float) -> dict[str, float]:
    """The ``phase`` lines the process started at ``since_wall`` (epoch) logged."""
    out: dict[str, float] = {}
    for line in proc.log_path.read_bytes().splitlines():
        with contextlib.suppress(ValueError):
            doc = orjson.loads(line)
            ts = datetime.fromisoformat(doc["ts"]).timestamp()
            if "phase" in doc and ts >= since_wall - 0.5:
                out[doc["phase"]] = float(doc["seconds"])
    return out


async def restart_once(
    proc: ServiceProcess, bus: Bus, out: Watcher, zones: list[str], tag: bytes, idle: bool
) -> str:
    await asyncio.sleep(3.0)
    await proc.kill()
    await asyncio.sleep(0.5)  # the dead process's last outputs land; only the new one's count
    wall = time.time()
    await proc.start()
    t0 = proc.started_at
    if idle:
        await bus.producer.send_and_wait(
            Topic.ACTIVITY_COMMANDS.value,
            activity_command(zones[0], 10**6 + proc.kills),
            key=zones[0].encode(),
        )
    first = asyncio.create_task(first_output_after(out, tag, t0))
    http = await proc.wait_http("/healthz")
    ready = await proc.wait_ready()
    consuming = await first
    phases = logged_phases(proc, wall)
    steps = "  ".join(f"{k}@{v:.1f}" for k, v in phases.items())
    return (
        f"http {http:.1f}s  ready {ready:.1f}s  consuming {consuming:.1f}s  | phases (s since spawn): {steps}"
    )


async def measure(bus: Bus, rate: float, rounds: int, static: bool) -> None:
    suffix = f"_b{uuid.uuid4().hex[:8]}"
    zones = [f"Z{i}{suffix}" for i in range(ZONES)]
    settings = {"group_instance_id": "bench-1"} if static else {}
    proc = ServiceProcess("services.activity_log", suffix, **settings)
    out = await bus.watch(Topic.ACTIVITY_EVENTS.value)
    membership = "static" if static else "dynamic"
    try:
        await proc.start()
        await proc.wait_ready()
        for z in zones:
            await bus.publish("zone.established", {"zone": zone_snapshot(z)}, key=z)
        await asyncio.sleep(1.0)
        for label, r in (("idle", 0.0), ("load", rate)):
            load = Load(bus, zones, r) if r else None
            task = asyncio.create_task(load.run()) if load else None
            for i in range(rounds):
                line = await restart_once(proc, bus, out, zones, suffix.encode(), idle=load is None)
                print(f"{membership:7} {label} ({r:.0f}/s) #{i + 1}: {line}", flush=True)
            if task is not None:
                task.cancel()
    finally:
        await proc.stop()
        await AsyncIOMotorClient(MONGO).drop_database(f"pbz_activity_log{suffix}")


async def main(rate: float, rounds: int) -> None:
    async with Bus() as bus:
        for static in (False, True):
            await measure(bus, rate, rounds, static)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=150.0)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    asyncio.run(main(args.rate, args.rounds))
