"""``pbz replay``: rebuild one service's store from its input topics (see shared/replay.py)."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import httpx
import typer

from .common import CliSettings, fail, friendly, note, parse_time, run, service_name, settings

EXAMPLE = """Examples:

  pbz replay assessment --from-beginning          asks first; the service keeps answering
  pbz replay assessment --from 2026-04-01 --yes   only messages since then (older state is dropped)

The service pauses its consumer, drops its collections, re-reads its input topics in the
order the broker stamped them, moves its consumer group to where the rebuild ended, and
resumes. Nothing else stops. One instance of the service must be running.
"""


async def replay(cfg: CliSettings, service: str, body: dict[str, Any], url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, headers=cfg.headers(), timeout=30) as http:
        answer = await http.post("/ops/replay", json=body)
        if answer.status_code in (401, 403):
            fail(
                f"{service} refused the replay ({answer.status_code}): set PBZ_TOKEN to an operator's token (pbz token OP0001)"
            )
        if answer.status_code != 202:
            fail(f"{service} refused the replay: {answer.status_code} {_detail(answer)}")
        return await _follow(http, service, answer.json())


async def _follow(http: httpx.AsyncClient, service: str, state: dict[str, Any]) -> dict[str, Any]:
    total = state["total"]
    note(f"{service}: rebuilding from {total} messages on its input topics (group {state['group']})")
    bar = _bar(total)
    t0 = last_print = time.monotonic()
    try:
        while state["state"] == "running":
            await asyncio.sleep(0.3)
            state = (await http.get("/ops/replay")).json()
            rate = f"{state['done'] / max(time.monotonic() - t0, 1e-6):.0f} events/s"
            if bar is not None:
                bar[0].update(bar[1], completed=state["done"], rate=rate)
            elif time.monotonic() - last_print > 2:
                last_print = time.monotonic()
                note(f"  {state['done']}/{total} messages, {rate}")
    finally:
        if bar is not None:
            bar[0].stop()
    return state


def _bar(total: int) -> Any:
    """A progress bar with the events per second, on a terminal."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    progress = Progress(
        TextColumn("replay"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
    task = progress.add_task("replay", total=total or 1, rate="")
    progress.start()
    return progress, task


def _detail(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("detail", answer.text))
    except ValueError:
        return answer.text[:200]


def register(app: typer.Typer) -> None:
    @app.command("replay", epilog=EXAMPLE)
    @friendly
    def replay_(
        service: str = typer.Argument(
            ..., metavar="SERVICE", help="zone-registry, activity-log, permit-fasttrack or assessment."
        ),
        from_time: str | None = typer.Option(
            None, "--from", help="Re-read from this time (e.g. 2026-04-01, 3d)."
        ),
        from_beginning: bool = typer.Option(False, "--from-beginning", help="Re-read all the broker keeps."),
        yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."),
        url: str | None = typer.Option(None, help="The service's address (default: from PBZ_SERVICE_URLS)."),
    ) -> None:
        """Rebuild one service's store from its input topics, with progress and events per second."""
        cfg = settings()
        name = service_name(service)
        if (from_time is None) == (not from_beginning):
            fail("give exactly one of --from TIME and --from-beginning", 2)
        body: dict[str, Any] = {"start": "beginning"}
        start = "the oldest message kept"
        if from_time is not None:
            when = parse_time(from_time, cfg.timezone)
            body = {"start": when.isoformat()}
            start = f"{when.isoformat()} (state from before then is not rebuilt)"
        if not yes:
            if not sys.stdin.isatty():
                fail("a replay drops the service's store: confirm with --yes (no terminal to ask on)", 2)
            typer.confirm(f"Drop {name}'s store and rebuild it from {start}?", abort=True)
        state = run(replay(cfg, name, body, (url or cfg.url(name)).rstrip("/")), cfg)
        if state["state"] != "done":
            fail(f"replay of {name} {state['state']}: {state.get('error')}")
        typer.echo(
            f"{name}: replayed {state['done']} messages in {_seconds(state)} s "
            f"({state['events_per_s']} events/s); consuming again"
        )


def _seconds(state: dict[str, Any]) -> str:
    from datetime import datetime

    try:
        started = datetime.fromisoformat(state["started_at"])
        finished = datetime.fromisoformat(state["finished_at"])
    except (KeyError, TypeError, ValueError):
        return "?"
    return f"{(finished - started).total_seconds():.1f}"
