"""activity-log on a backlog of one kind: ``activity.record`` sent as fast as the producer
takes them, handled by a service process.

    PBZ_PORT_OFFSET=... .venv/bin/python -m bench.activity_backlog [--commands 6000] [--zones 6]
        [--flame .local/bench/flame-activity-log.svg] [--store-profile .local/bench/store.pprof]
        [--setting partitions=serial ...]

One activity-log process (a fresh group and database, event clock) on the local broker and
store. ``zones`` zone copies are established first; then ``commands`` activity.record
commands over those zones are sent at once, and the time from the first send to the last
answer (``activity.recorded`` or ``activity.rejected``) is measured. Printed: commands per
second, answers by type, and the CPU each of the service and the store used over the drain
(cores), and per command. ``--flame``: a py-spy flame graph of the service process over the
drain (SVG). ``--store-profile``: a CPU profile of the store over the drain (Go's pprof from
FerretDB's debug port), summed by kind of work (``bench/store_profile.py``).
``--setting name=value``: a service setting for this run (``PBZ_NAME``), to compare variants.
Figures, never assertions: the machine is shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import typer

from bench.store_profile import summary as store_profile_summary
from bench.store_profile import take as take_store_profile
from shared.events import Topic
from tests.procs import ServiceProcess, Tally, activity_records, database, send_all, zone_copies
from tests.support import Bus, eventually, new_suffix

RUN = Path(".local/run")


def local_pid(name: str) -> int | None:
    """A process of the local infrastructure (deploy/local/infra.sh's pid file), if it runs here."""
    path = RUN / f"{name}.pid"
    return int(path.read_text()) if path.exists() else None


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def flame_graph(pid: int, path: str, seconds: float) -> subprocess.Popen[bytes]:
    """py-spy records the process for ``seconds`` (it stops by itself) into an SVG."""
    spy = Path(sys.executable).with_name("py-spy")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [str(spy), "record", "--pid", str(pid), "-d", str(int(seconds)), "-r", "100", "-o", path],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def measure(
    commands: int,
    zones: int,
    flame: str | None,
    settings: dict[str, str] | None = None,
    store_profile: str | None = None,
) -> dict[str, Any]:
    suffix = new_suffix()
    zone_ids = [f"K{i}{suffix}" for i in range(zones)]
    db = database("activity_log", suffix)
    proc = ServiceProcess("services.activity_log", suffix, group_instance_id="backlog", **(settings or {}))
    tally = Tally({"activity.recorded", "activity.rejected"})
    async with Bus() as bus:
        out = await bus.watch(Topic.ACTIVITY_EVENTS.value)
        try:
            await proc.start()
            await proc.wait_ready()
            await zone_copies(bus, db, zone_ids, timeout=60)
            items = activity_records(zone_ids, commands)
            return await _drain(bus, proc, out, items, tally, flame, store_profile)
        finally:
            await proc.stop()
            await db.client.drop_database(db.name)


async def _drain(
    bus: Bus,
    proc: ServiceProcess,
    out: Any,
    items: list[tuple[str, str, bytes]],
    tally: Tally,
    flame: str | None,
    store_profile: str | None = None,
) -> dict[str, Any]:
    assert proc.proc is not None
    pid = proc.proc.pid
    # Whose CPU the drain takes: the service, the store, the broker, and this process (it sends
    # the commands and reads the answers).
    pids = {
        "service": pid,
        "store": local_pid("ferretdb"),
        "broker": local_pid("kafka"),
        "harness": os.getpid(),
    }
    watched = {k: p for k, p in pids.items() if p is not None}
    spy = flame_graph(pid, flame, max(5.0, len(items) / 400)) if flame else None
    # The store's profile covers the drain's first seconds (it must end before the drain does).
    profiling = (
        asyncio.create_task(take_store_profile(store_profile, max(3, len(items) // 1200)))
        if store_profile
        else None
    )
    started = time.monotonic()
    cpu = {k: cpu_seconds(p) for k, p in watched.items()}
    await send_all(bus, Topic.ACTIVITY_COMMANDS.value, items, tally)

    async def answered() -> bool:
        return tally.answered(out.records) >= len(items)

    await eventually(answered, timeout=900, what="every command answered")
    seconds = time.monotonic() - started
    used = {k: cpu_seconds(p) - cpu[k] for k, p in watched.items()}
    if spy is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            spy.wait(timeout=120)
    if profiling is not None:
        await profiling
    return {
        "commands": len(items),
        "seconds": seconds,
        "per_s": len(items) / seconds,
        "cores": {k: v / seconds for k, v in used.items()},
        "cpu_ms_each": {k: 1000 * v / len(items) for k, v in used.items()},
        "answers": tally.figures(out.records),
    }


def main(
    commands: int = 6000,
    zones: int = 6,
    flame: str | None = None,
    setting: list[str] = typer.Option([], help="name=value: a service setting for this run"),
    store_profile: str | None = None,
) -> None:
    settings = dict(s.split("=", 1) for s in setting)
    figures = asyncio.run(measure(commands, zones, flame, settings, store_profile))
    cores = ", ".join(f"{k} {v:.2f}" for k, v in figures["cores"].items())
    print(
        f"activity-log backlog: {figures['commands']} activity.record in {figures['seconds']:.1f} s = "
        f"{figures['per_s']:.0f}/s (cores used: {cores}; load {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    print(f"  answers: {figures['answers']}")
    each = figures["cpu_ms_each"]
    print("  CPU per command: " + ", ".join(f"{k} {v:.2f} ms" for k, v in each.items()))
    # The ceiling of this machine if its cores did nothing but this: the service, the store and
    # the broker (the harness stands in for the enterprise systems, elsewhere in production).
    work = sum(v for k, v in each.items() if k != "harness")
    if work > 0:
        print(
            f"  {os.cpu_count()} cores doing only the service, the store and the broker:"
            f" at most {1000 * (os.cpu_count() or 1) / work:.0f}/s"
        )
    if flame:
        print(f"  flame graph of the service: {flame}")
    if store_profile:
        for line in store_profile_summary(store_profile):
            print(f"  {line}")


if __name__ == "__main__":
    typer.run(main)
