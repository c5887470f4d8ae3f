"""Where the store's CPU goes: a CPU profile of the local FerretDB, taken from its debug port
(Go's pprof) while a bench runs, and its samples put in a few kinds of work.

    PBZ_PORT_OFFSET=... .venv/bin/python -m bench.store_profile FILE.pprof   (a profile taken before)

``bench/activity_backlog.py --store-profile FILE`` takes one over its drain. Each sample goes
to the first kind whose function is on its stack, in this order: syscalls (mostly SQLite's
file writes and fsyncs), SQLite's engine (FerretDB's SQLite is modernc.org/sqlite, the C
source translated to Go), JSON (FerretDB keeps each document as JSON text: encoding and
decoding it), the garbage collector, and the rest (the wire protocol, BSON, the handlers).
Figures, never assertions.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import httpx
import typer

from shared.settings import ServiceSettings

KINDS = (
    (
        "syscalls: SQLite's file writes and fsyncs, the sockets",
        ("runtime/syscall/linux.Syscall6", "syscall.Syscall"),
    ),
    ("SQLite's engine (modernc.org/sqlite: C translated to Go)", ("modernc.org/sqlite",)),
    ("JSON: the documents encoded and decoded", ("encoding/json", "/sjson.")),
    ("garbage collection", ("runtime.gcBgMarkWorker", "runtime.gcDrain", "runtime.gcAssist")),
)
REST = "the rest: wire protocol, BSON, handlers, scheduling"
_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def debug_url() -> str:
    """FerretDB's debug port as deploy/local/infra.sh starts it."""
    return f"http://127.0.0.1:{8088 + ServiceSettings().port_offset}/debug/pprof/profile"


async def take(path: str, seconds: int) -> None:
    """A profile of the next ``seconds`` into ``path`` (run it as a task beside the bench)."""
    async with httpx.AsyncClient(timeout=seconds + 30) as client:
        r = await client.get(debug_url(), params={"seconds": seconds})
    r.raise_for_status()
    await asyncio.to_thread(_save, Path(path), r.content)


def _save(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def _seconds(text: str) -> float:
    number = text.rstrip("nums")
    return float(number) * _UNITS[text[len(number) :]]


def kinds(path: str) -> defaultdict[str, float]:
    """The profile's CPU seconds by kind of work (``go tool pprof -traces``)."""
    go = shutil.which("go") or "/usr/local/go/bin/go"
    traces = subprocess.run(
        [go, "tool", "pprof", "-traces", path], capture_output=True, text=True, check=True
    ).stdout
    return kinds_of(traces)


def kinds_of(traces: str) -> defaultdict[str, float]:
    """CPU seconds by kind of work, from pprof's ``-traces`` text: blocks of one sample's
    value and its stack, innermost frame first."""
    by_kind: defaultdict[str, float] = defaultdict(float)
    for block in traces.split("-----------+")[1:]:
        lines = [line for line in block.splitlines()[1:] if line.strip()]
        if not lines:
            continue
        value, _, first = lines[0].strip().partition(" ")
        stack = [first.strip(), *(line.strip() for line in lines[1:])]
        kind = next((name for name, marks in KINDS if any(m in f for f in stack for m in marks)), REST)
        by_kind[kind] += _seconds(value)
    return by_kind


def summary(path: str) -> list[str]:
    by_kind = kinds(path)
    total = sum(by_kind.values())
    if not total:
        return ["no samples in the store's profile"]
    lines = [f"the store's CPU profile ({path}): {total:.2f} s of CPU sampled"]
    for name, _ in (*KINDS, (REST, ())):
        lines.append(f"  {100 * by_kind[name] / total:5.1f} %  {name}")
    return lines


def main(path: str) -> None:
    for line in summary(path):
        print(line)


if __name__ == "__main__":
    typer.run(main)
