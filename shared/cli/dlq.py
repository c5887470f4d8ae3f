"""``pbz dlq``: read the dead letters, and re-drive their originals once a fix is in.

A letter's number is its place on ``pbz.dlq``: ``<partition>-<offset>``. Re-driving
re-publishes the original bytes, with the original key (so the same partition) and so the
original CloudEvents id, to the original topic: a consumer that handled it meanwhile drops
it as a duplicate. Each re-drive is recorded on ``pbz.dlq`` (``dlq.redriven``) and no
letter is re-driven twice; a letter whose original was cut (too large to keep whole) is
refused — its full bytes are not here to send.
"""

from __future__ import annotations

import asyncio
import base64
import getpass
import hashlib
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import typer

from ..events import CONTENT_TYPE, Topic, UnreadableEvent, decode_envelope, derived_event_id, make_event
from ..events.catalog import DeadLetterRedriven
from .common import CliSettings, fail, friendly, note, parse_time, run, settings
from .kafka import partitions, read_to, reader, start_at

DLQ = Topic.DLQ.value
Origin = tuple[str, int, int]  # topic, partition, offset


@dataclass
class Letter:
    number: str
    id: str
    time: datetime
    data: dict[str, Any]
    redrive: dict[str, Any] | None = None
    also: list[str] = field(default_factory=list)  # the same letter written again (a replay)

    @property
    def origin(self) -> Origin:
        return self.data["topic"], int(self.data["partition"]), int(self.data["offset"])

    @property
    def status(self) -> str:
        if self.redrive is not None:
            return "re-driven"
        return "cut" if self.cut() else "pending"

    def original(self) -> bytes:
        return base64.b64decode(self.data.get("original") or "")

    def cut(self) -> str | None:
        """Why the original is not whole: a bounded letter (``DeadLetter``) keeps the whole
        value's length and SHA-256 beside the part it carries."""
        d, raw = self.data, self.original()
        size = d.get("original_bytes")
        if isinstance(size, int) and size != len(raw):
            return f"the original was cut at {len(raw)} of {size} bytes"
        digest = d.get("original_sha256")
        if isinstance(digest, str) and digest.lower() != hashlib.sha256(raw).hexdigest():
            return "the original kept here does not match its original_sha256: it was cut"
        if d.get("original_truncated") is True:
            return "the letter says the original was cut (original_truncated)"
        return None


async def load(cfg: CliSettings) -> list[Letter]:
    """Every letter on pbz.dlq, each with its re-drive record if it has one."""
    letters: dict[str, Letter] = {}
    redrives: dict[str, dict[str, Any]] = {}
    async with reader(cfg.kafka_bootstrap) as consumer:
        ends = await start_at(consumer, await partitions(consumer, [DLQ]), None, from_end=False)
        async for r in read_to(consumer, ends):
            try:
                event = decode_envelope(r.value)
            except UnreadableEvent:
                continue
            if event.type == "dlq.redriven":
                for letter_id in event.data.get("letters", []):
                    redrives[letter_id] = {**event.data, "at": event.time.isoformat()}
            elif event.type == "dlq.recorded" and event.id in letters:
                letters[event.id].also.append(f"{r.partition}-{r.offset}")
            elif event.type == "dlq.recorded":
                letters[event.id] = Letter(f"{r.partition}-{r.offset}", event.id, event.time, event.data)
    for letter in letters.values():
        letter.redrive = redrives.get(letter.id)
    return sorted(letters.values(), key=lambda x: x.time)


def select(
    letters: list[Letter], service: str | None, reason: str | None, since: datetime | None
) -> list[Letter]:
    return [
        x
        for x in letters
        if (service is None or x.data.get("service") == service)
        and (reason is None or reason in str(x.data.get("reason", "")))
        and (since is None or x.time >= since)
    ]


def row(x: Letter, tz: ZoneInfo) -> str:
    topic, p, o = x.origin
    when = x.time.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
    reason = str(x.data.get("reason", "")).replace("\n", " ")
    return f"{x.number:<8} {when}  {x.data.get('service', '?'):<17} {topic} {p}@{o:<6} key={x.data.get('key') or '-':<12} {x.status:<9} {reason[:70]}"


def show(x: Letter, tz: ZoneInfo) -> None:
    raw = x.original()
    typer.echo(f"letter {x.number} ({x.status})  id {x.id}  at {x.time.astimezone(tz).isoformat()}")
    for k, v in x.data.items():
        if k != "original":
            typer.echo(f"  {k}: {v}")
    typer.echo(f"  original: {len(raw)} bytes, sha256 {hashlib.sha256(raw).hexdigest()}")
    if why := x.cut():
        typer.echo(f"  cut: {why}")
    if x.redrive:
        r = x.redrive
        typer.echo(
            f"  re-driven {r['at']} by {r.get('operator') or '?'} to {r['topic']} {r['redriven_partition']}@{r['redriven_offset']}"
        )
    try:
        typer.echo(json.dumps(orjson.loads(raw), indent=2, ensure_ascii=False))
    except orjson.JSONDecodeError:
        typer.echo(repr(raw[:2000]) + (" ..." if len(raw) > 2000 else ""))


# --------------------------------------------------------------------------- re-drive


@dataclass
class Outcome:
    redriven: dict[Origin, Origin] = field(default_factory=dict)  # original -> new place
    refused: list[tuple[Letter, str]] = field(default_factory=list)
    returned: list[Letter] = field(default_factory=list)


async def redrive(cfg: CliSettings, chosen: list[Letter], wait: float, operator: str) -> Outcome:
    from aiokafka import AIOKafkaProducer

    out = Outcome()
    groups: dict[Origin, list[Letter]] = defaultdict(list)
    for x in chosen:
        if (why := x.cut()) is not None:
            out.refused.append((x, why))
        else:
            groups[x.origin].append(x)
    if not groups:
        return out
    async with reader(cfg.kafka_bootstrap) as watcher:
        dlq_ends = await start_at(watcher, await partitions(watcher, [DLQ]), None, from_end=True)
        producer = AIOKafkaProducer(bootstrap_servers=cfg.kafka_bootstrap, enable_idempotence=True)
        try:
            await producer.start()
            for origin, letters in groups.items():
                out.redriven[origin] = await _send_one(producer, origin, letters, operator)
        finally:
            await producer.stop()
        out.returned = await _watch(watcher, dlq_ends, set(out.redriven.values()), wait)
    return out


async def _send_one(producer: Any, origin: Origin, letters: list[Letter], operator: str) -> Origin:
    topic, partition, offset = origin
    first = letters[0]
    key = first.data.get("key")
    raw = first.original()
    meta = await producer.send_and_wait(
        topic, raw, key=key.encode() if key else None, headers=[("content-type", CONTENT_TYPE.encode())]
    )
    try:
        event_id = decode_envelope(raw).id
    except UnreadableEvent:
        event_id = None
    record = DeadLetterRedriven(
        letters=sorted(x.id for x in letters),
        topic=topic,
        partition=partition,
        offset=offset,
        key=key,
        event_id=event_id,
        redriven_partition=meta.partition,
        redriven_offset=meta.offset,
        operator=operator,
    )
    event = make_event(
        id=derived_event_id("pbz-cli", f"redrive/{topic}/{partition}/{offset}", 0),
        type="dlq.redriven",
        source="pbz-cli",
        time=datetime.now(UTC),
        subject=topic,
        data=record.model_dump(mode="json"),
    )
    # Recorded only once it is re-published: a crash between re-drives it again, and the
    # consumers' dedupe drops the copy.
    await producer.send_and_wait(
        DLQ,
        event.to_json(),
        key=key.encode() if key else None,
        headers=[("content-type", CONTENT_TYPE.encode())],
    )
    return topic, meta.partition, meta.offset


async def _watch(watcher: Any, ends: dict[Any, int], places: set[Origin], wait: float) -> list[Letter]:
    """Letters written after the re-drive about the re-driven messages."""
    back: list[Letter] = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        batch = await watcher.getmany(timeout_ms=250, max_records=500)
        for records in batch.values():
            for r in records:
                try:
                    event = decode_envelope(r.value)
                except UnreadableEvent:
                    continue
                if event.type != "dlq.recorded":
                    continue
                x = Letter(f"{r.partition}-{r.offset}", event.id, event.time, event.data)
                if x.origin in places:
                    back.append(x)
        await asyncio.sleep(0)
    return back


def report(out: Outcome, chosen: list[Letter], skipped: int, wait: float) -> None:
    for origin, new in out.redriven.items():
        letters = [x for x in chosen if x.origin == origin]
        services = ", ".join(sorted({str(x.data.get("service")) for x in letters}))
        typer.echo(
            f"re-driven {origin[0]} {origin[1]}@{origin[2]} (letters {', '.join(x.number for x in letters)}; {services}) -> {new[0]} {new[1]}@{new[2]}"
        )
    for x, why in out.refused:
        typer.echo(
            f"refused {x.number}: {why}; it cannot be re-driven from here: have its producer send it again"
        )
    for x in out.returned:
        typer.echo(f"back in the DLQ: {x.number} {x.data.get('service')}: {x.data.get('reason')}")
    typer.echo(
        f"{len(out.redriven)} re-driven, {len(out.refused)} refused, {skipped} already re-driven before; "
        f"{len(out.returned)} back in the DLQ within {wait:g} s"
    )


# --------------------------------------------------------------------------- commands

LIST_EXAMPLE = "Example:\n\n  pbz dlq list --service permit-fasttrack --since 1d --pending\n"
SHOW_EXAMPLE = "Example:\n\n  pbz dlq show 3-17\n"
REDRIVE_EXAMPLE = """Example:

  pbz dlq redrive --service assessment --reason handler_error --dry-run
  pbz dlq redrive --service assessment --reason handler_error --wait 15
"""


def letter_json(x: Letter) -> str:
    """One letter as a JSON line (without its original bytes)."""
    return json.dumps(
        {
            "number": x.number,
            "id": x.id,
            "time": x.time.isoformat(),
            "status": x.status,
            **{k: v for k, v in x.data.items() if k != "original"},
        }
    )


def dry_run_report(chosen: list[Letter], skipped: int, tz: ZoneInfo) -> None:
    for x in chosen:
        typer.echo(("would refuse " if x.cut() else "would re-drive ") + row(x, tz))
    typer.echo(f"{len(chosen)} letters would be re-driven or refused; {skipped} already re-driven before")


def register(app: typer.Typer) -> None:
    dlq = typer.Typer(help="Dead letters: list, show, re-drive.", no_args_is_help=True)
    app.add_typer(dlq, name="dlq")

    @dlq.command("list", epilog=LIST_EXAMPLE)
    @friendly
    def list_(
        service: str | None = typer.Option(None, help="Only letters of this service."),
        reason: str | None = typer.Option(None, help="Only letters whose reason contains this."),
        since: str | None = typer.Option(None, help="Only letters since this time (e.g. 2h, 2026-04-07)."),
        pending: bool = typer.Option(False, help="Only letters not re-driven yet."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per letter."),
    ) -> None:
        """List dead letters: number, time, service, original topic/partition@offset, key, status, reason."""
        cfg = settings()
        letters = select(
            run(load(cfg), cfg), service, reason, parse_time(since, cfg.timezone) if since else None
        )
        if pending:
            letters = [x for x in letters if x.status == "pending"]
        tz = ZoneInfo(cfg.timezone)
        for x in letters:
            typer.echo(letter_json(x) if as_json else row(x, tz))
        note(f"{len(letters)} letters")

    @dlq.command("show", epilog=SHOW_EXAMPLE)
    @friendly
    def show_(
        number: str = typer.Argument(..., metavar="N", help="The letter's number, as list prints it."),
    ) -> None:
        """Show one letter whole: where it came from, why, and the original decoded."""
        cfg = settings()
        letters = run(load(cfg), cfg)
        found = [x for x in letters if x.number == number or number in x.also or x.id == number]
        if not found:
            fail(f"no letter {number} on {DLQ} (pbz dlq list shows the numbers)")
        show(found[0], ZoneInfo(cfg.timezone))

    @dlq.command("redrive", epilog=REDRIVE_EXAMPLE)
    @friendly
    def redrive_(
        service: str | None = typer.Option(None, help="Only letters of this service."),
        reason: str | None = typer.Option(None, help="Only letters whose reason contains this."),
        since: str | None = typer.Option(None, help="Only letters since this time."),
        number: list[str] = typer.Option([], "--number", "-n", help="Only these letters."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be re-driven; send nothing."),
        wait: float = typer.Option(10.0, help="Seconds to watch for re-driven messages coming back."),
        operator: str = typer.Option(getpass.getuser(), help="Who re-drives (recorded)."),
    ) -> None:
        """Re-publish the originals of pending letters to their topics (same bytes, key and id)."""
        cfg = settings()
        letters = select(
            run(load(cfg), cfg), service, reason, parse_time(since, cfg.timezone) if since else None
        )
        if number:
            letters = [x for x in letters if x.number in number]
        chosen = [x for x in letters if x.redrive is None]
        skipped = len(letters) - len(chosen)
        if dry_run:
            dry_run_report(chosen, skipped, ZoneInfo(cfg.timezone))
            return
        out = run(redrive(cfg, chosen, wait, operator), cfg)
        report(out, chosen, skipped, wait)
        if out.refused or out.returned:
            raise typer.Exit(1)
