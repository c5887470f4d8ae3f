"""``pbz publish``: one event, checked against the catalogue before anything is sent."""

from __future__ import annotations

import difflib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from pydantic import ValidationError

from .. import tracing
from ..events import CONTENT_TYPE, REGISTRY, CloudEvent, make_event, new_event_id
from ..events.envelope import format_validation_error
from .common import CliSettings, fail, friendly, load_json, note, parse_time, run, settings

EXAMPLE = """Example:

  pbz publish quality.procedure-inspected --key P-001 --data
  '{"inspection_id": "Q-1", "project_id": "P-001", "procedure_code": "W-3",
  "result": "pass", "inspected_at": "2026-04-07T08:30+08:00"}'

Prints the event id. It starts a trace (traceparent) unless
--traceparent continues one.
"""


def build(
    event_type: str,
    data: object,
    *,
    cfg: CliSettings,
    subject: str | None,
    source: str,
    event_id: str | None,
    time: datetime | None,
    traceparent: str | None,
    correlation_id: str | None,
) -> CloudEvent:
    """The envelope, or a readable refusal: nothing is sent for a wrong type or payload."""
    spec = REGISTRY.get(event_type)
    if spec is None:
        close = difflib.get_close_matches(event_type, REGISTRY, n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else " (docs/events.md lists them)"
        fail(f"no event type {event_type!r} in the catalogue{hint}")
    if not isinstance(data, dict):
        fail(f"the data of {event_type} must be a JSON object, not {type(data).__name__}")
    try:
        payload = spec.model.model_validate(data).model_dump(mode="json", exclude_none=True)
    except ValidationError as e:
        fail(f"{event_type} refused, nothing sent: {format_validation_error(e, prefix='data.')}")
    return make_event(
        id=event_id or new_event_id(),
        type=event_type,
        source=source,
        time=time or datetime.now(ZoneInfo(cfg.timezone)),
        subject=subject,
        correlationid=correlation_id,
        data=payload,
        extensions={"traceparent": traceparent or tracing.new_traceparent()},
    )


async def send(cfg: CliSettings, topic: str, value: bytes, key: str | None) -> tuple[int, int]:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=cfg.kafka_bootstrap, enable_idempotence=True, request_timeout_ms=15000
    )
    try:
        await producer.start()
        meta = await producer.send_and_wait(
            topic, value, key=key.encode() if key else None, headers=[("content-type", CONTENT_TYPE.encode())]
        )
        return meta.partition, meta.offset
    finally:
        await producer.stop()


def register(app: typer.Typer) -> None:
    @app.command(epilog=EXAMPLE)
    @friendly
    def publish(
        event_type: str = typer.Argument(..., metavar="TYPE", help="An event type of the catalogue."),
        data: str | None = typer.Option(None, "--data", "-d", help="The payload, JSON."),
        file: Path | None = typer.Option(None, "--file", "-f", help="A file with the payload (JSON)."),
        subject: str | None = typer.Option(None, help="The envelope's subject (default: the key)."),
        key: str | None = typer.Option(None, help="The Kafka key: the aggregate's partition key."),
        source: str = typer.Option("pbz-cli", help="The envelope's source."),
        event_id: str | None = typer.Option(None, "--id", help="The CloudEvents id (default: new)."),
        time: str | None = typer.Option(None, help="The event's time (default: now)."),
        traceparent: str | None = typer.Option(None, help="Continue this trace (W3C traceparent)."),
        correlation_id: str | None = typer.Option(None, help="The correlation id to carry."),
    ) -> None:
        """Publish one event to its topic, checked against the catalogue first."""
        cfg = settings()
        if (data is None) == (file is None):
            fail("give the payload with exactly one of --data and --file", 2)
        text = data if data is not None else _read(file)
        event = build(
            event_type,
            load_json(text, "the payload"),
            cfg=cfg,
            subject=subject or key,
            source=source,
            event_id=event_id,
            time=parse_time(time, cfg.timezone) if time else None,
            traceparent=traceparent,
            correlation_id=correlation_id,
        )
        topic = REGISTRY[event_type].topic.value
        partition, offset = run(send(cfg, topic, event.to_json(), key), cfg)
        note(
            f"{event_type} sent to {topic} partition {partition} offset {offset} (trace {tracing.trace_id(event.model_extra.get('traceparent') if event.model_extra else None)})"
        )
        typer.echo(event.id)


def _read(file: Path | None) -> str:
    assert file is not None
    try:
        return file.read_text()
    except OSError as e:
        fail(f"cannot read {file}: {e.strerror}", 2)
