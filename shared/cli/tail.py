"""``pbz tail``: follow topics, one readable line per event (or the raw JSON)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import typer

from ..events import CloudEvent, Topic, UnreadableEvent, decode_envelope
from .common import CliSettings, fail, friendly, parse_time, run, settings
from .kafka import partitions, reader, start_at

EXAMPLE = """Examples:

  pbz tail pbz.permit.events --zone ZC-P001          follow one zone's permits
  pbz tail all --type permit.issued --since 2h       the last two hours' issued permits, then follow
  pbz tail pbz.dlq --json --since 1d --idle 3        a day of dead letters as JSON, stop when quiet
"""

# The fields a line shows, in this order, when the payload has them.
KEY_FIELDS = (
    "permit_id",
    "zone_id",
    "project_id",
    "work_id",
    "activity_id",
    "member_id",
    "test_id",
    "incident_id",
    "inspection_id",
    "evaluation_id",
    "problem_id",
    "status",
    "kind",
    "role",
    "decision",
    "period",
    "rule",
    "met",
    "score",
    "grade",
    "revision",
    "reasons",
    "service",
    "topic",
    "offset",
    "reason",
    "now",
)


def zone_of(data: dict[str, Any]) -> str | None:
    for holder in (data, data.get("zone") or {}, data.get("permit") or {}):
        if isinstance(holder, dict) and holder.get("zone_id"):
            return str(holder["zone_id"])
    return None


def summary(data: dict[str, Any]) -> str:
    flat: dict[str, Any] = {}
    for nested in ("permit", "zone"):
        if isinstance(data.get(nested), dict):
            flat.update({k: v for k, v in data[nested].items() if k in KEY_FIELDS})
    flat.update({k: v for k, v in data.items() if k in KEY_FIELDS})
    flat.pop("zone_id", None)
    parts = []
    for k in KEY_FIELDS:
        if k in flat and flat[k] is not None:
            v = flat[k]
            shown = ",".join(map(str, v)) if isinstance(v, list) else str(v)
            parts.append(f"{k}={shown[:60]}")
    return " ".join(parts)


def line(event: CloudEvent, tz: ZoneInfo) -> str:
    when = event.time.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
    zone = zone_of(event.data) or "-"
    return f"{when}  {event.type:<30} zone={zone:<12} {summary(event.data)}".rstrip()


def matches(event: CloudEvent, types: list[str], zone: str | None) -> bool:
    return (not types or event.type in types) and (zone is None or zone_of(event.data) == zone)


async def follow(
    cfg: CliSettings,
    topics: list[str],
    *,
    types: list[str],
    zone: str | None,
    since: datetime | None,
    as_json: bool,
    limit: int | None,
    idle: float | None,
) -> int:
    tz = ZoneInfo(cfg.timezone)
    shown = 0
    async with reader(cfg.kafka_bootstrap) as consumer:
        await start_at(consumer, await partitions(consumer, topics), since, from_end=True)
        quiet_since = time.monotonic()
        while limit is None or shown < limit:
            batch = await consumer.getmany(timeout_ms=500, max_records=500)
            records = sorted((r for rs in batch.values() for r in rs), key=lambda r: (r.timestamp, r.offset))
            if records:
                quiet_since = time.monotonic()
            elif idle is not None and time.monotonic() - quiet_since >= idle:
                break
            for r in records:
                if limit is not None and shown >= limit:
                    break
                shown += _show(r, tz, types, zone, as_json)
    return shown


def _show(record: Any, tz: ZoneInfo, types: list[str], zone: str | None, as_json: bool) -> int:
    try:
        event = decode_envelope(record.value)
    except UnreadableEvent as e:
        if types or zone:
            return 0
        stamp = (
            datetime.fromtimestamp(record.timestamp / 1000, UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
        )
        typer.echo(f"{stamp}  <unreadable {record.topic} {record.partition}@{record.offset}: {e}>")
        return 1
    if not matches(event, types, zone):
        return 0
    typer.echo(orjson.dumps(orjson.loads(record.value)).decode() if as_json else line(event, tz))
    return 1


def register(app: typer.Typer) -> None:
    @app.command(epilog=EXAMPLE)
    @friendly
    def tail(
        topics: list[str] = typer.Argument(..., metavar="TOPIC...", help="Topics to follow, or 'all'."),
        event_type: list[str] = typer.Option([], "--type", "-t", help="Only these event types."),
        zone: str | None = typer.Option(None, "--zone", "-z", help="Only this zone's events."),
        since: str | None = typer.Option(None, help="Start at this time (default: now, new events only)."),
        as_json: bool = typer.Option(False, "--json", help="The raw envelopes, one JSON per line."),
        limit: int | None = typer.Option(None, help="Stop after this many events."),
        idle: float | None = typer.Option(None, help="Stop after this many seconds without a message."),
    ) -> None:
        """Follow topics: one line per event (time in the site's time zone, type, zone, key fields)."""
        cfg = settings()
        known = [t.value for t in Topic]
        wanted = known if topics == ["all"] else topics
        unknown = [t for t in wanted if t not in known]
        if unknown:
            fail(f"unknown topics {unknown}; the topics are: {', '.join(known)} (or 'all')", 2)
        run(
            follow(
                cfg,
                wanted,
                types=event_type,
                zone=zone,
                since=parse_time(since, cfg.timezone) if since else None,
                as_json=as_json,
                limit=limit,
                idle=idle,
            ),
            cfg,
        )
