"""Traces across services: OpenTelemetry, the context carried in the CloudEvents
distributed-tracing extension (``traceparent``, ``tracestate`` as envelope attributes).

Off by default, and then nearly free: no span is made, and an event a handler emits only
copies the ``traceparent``/``tracestate`` of the event it handles (two string look-ups), so
a trace started by a producer stays whole even through a service that does not export.

On (``PBZ_OTLP_ENDPOINT`` set, e.g. ``http://jaeger:4318``): each message handled is a
CONSUMER span, child of the span its envelope names; each event emitted while handling it
carries that span as its parent; spans are exported over OTLP/HTTP in batches.

A client that answers an event (a signer answering ``permit.signature-requested``) continues
its trace by sending that event's ``traceparent`` with its command (an HTTP header or an
envelope attribute): a permit's trace then runs from ``work.planned`` to ``permit.issued``.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer
    from starlette.requests import Request
    from starlette.responses import Response

    from .events import CloudEvent

log = logging.getLogger("pbz.tracing")

TRACE_ATTRIBUTES = ("traceparent", "tracestate")

# The trace context of the message (or HTTP request) at hand, as envelope attributes.
_current: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("trace", default=None)
_tracer: Tracer | None = None
_provider: TracerProvider | None = None


def enabled() -> bool:
    return _tracer is not None


def configure(service: str, endpoint: str | None) -> None:
    """Export spans over OTLP/HTTP when an endpoint is set; stay off otherwise."""
    if not endpoint:
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    url = endpoint.rstrip("/")
    if not url.endswith("/v1/traces"):
        url += "/v1/traces"
    provider = TracerProvider(resource=Resource.create({"service.name": f"pbz-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
    use(provider)
    log.info("tracing on: spans exported to %s", url)


def use(provider: TracerProvider | None) -> None:
    """Trace with this provider (``None``: off). Tests install an in-memory exporter here."""
    global _tracer, _provider
    _provider = provider
    _tracer = provider.get_tracer("pbz") if provider is not None else None


def shutdown() -> None:
    """Flush what is batched (a stopping service)."""
    if _provider is not None:
        _provider.shutdown()


def carried(attributes: Mapping[str, Any]) -> dict[str, str]:
    """The trace attributes of an envelope or a header map, if any."""
    return {k: str(attributes[k]) for k in TRACE_ATTRIBUTES if attributes.get(k)}


def outgoing() -> dict[str, str]:
    """The attributes an event emitted now must carry."""
    if _tracer is not None:
        from opentelemetry.propagate import inject

        carrier: dict[str, str] = {}
        inject(carrier)
        if carrier.get("traceparent"):
            return carried(carrier)
    return dict(_current.get() or {})


@contextlib.contextmanager
def handling(event: CloudEvent, service: str) -> Iterator[None]:
    """The scope of handling one event: a CONSUMER span when on, the carried context always."""
    attrs = carried(event.model_extra or {})
    token = _current.set(attrs or None)
    try:
        if _tracer is None:
            yield
            return
        yield from _span(event, service, attrs)
    finally:
        _current.reset(token)


def _span(event: CloudEvent, service: str, attrs: dict[str, str]) -> Iterator[None]:
    from opentelemetry.propagate import extract
    from opentelemetry.trace import SpanKind

    assert _tracer is not None
    with _tracer.start_as_current_span(
        f"{service} process {event.type}",
        context=extract(attrs),
        kind=SpanKind.CONSUMER,
        attributes={
            "cloudevents.event_id": event.id,
            "cloudevents.event_type": event.type,
            "cloudevents.event_source": event.source,
            "cloudevents.event_subject": event.subject or "",
            "messaging.system": "kafka",
            "pbz.service": service,
        },
    ):
        yield


async def http_middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """An HTTP caller's ``traceparent`` header is the parent of the commands it posts."""
    attrs = carried(request.headers)
    if not attrs and _tracer is None:
        return await call_next(request)
    token = _current.set(attrs or None)
    try:
        if _tracer is None:
            return await call_next(request)
        from opentelemetry.propagate import extract
        from opentelemetry.trace import SpanKind

        with _tracer.start_as_current_span(
            f"{request.method} {request.url.path}", context=extract(attrs), kind=SpanKind.SERVER
        ):
            return await call_next(request)
    finally:
        _current.reset(token)


def new_traceparent() -> str:
    """A fresh W3C traceparent (sampled) for a producer that starts a trace."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def trace_id(traceparent: str | None) -> str | None:
    """The trace id part of a traceparent."""
    if not traceparent:
        return None
    parts = traceparent.split("-")
    return parts[1] if len(parts) >= 4 else None


__all__ = [
    "TRACE_ATTRIBUTES",
    "carried",
    "configure",
    "enabled",
    "handling",
    "http_middleware",
    "new_traceparent",
    "outgoing",
    "shutdown",
    "trace_id",
    "use",
]
