"""Structured JSON logs carrying the event id and correlation id of the message at hand."""

from __future__ import annotations

import contextvars
import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

current_event_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("event_id", default=None)
current_correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)
current_service: contextvars.ContextVar[str | None] = contextvars.ContextVar("service", default=None)

_STD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, var in (
            ("service", current_service),
            ("event_id", current_event_id),
            ("correlation_id", current_correlation_id),
        ):
            if (v := var.get()) is not None:
                doc[key] = v
        for k, v in record.__dict__.items():
            if k not in _STD and not k.startswith("_"):
                doc[k] = v
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<5} {record.name}: {record.getMessage()}"
        if (eid := current_event_id.get()) is not None:
            base += f" [event={eid} corr={current_correlation_id.get()}]"
        if record.exc_info:
            base += "\n" + self.formatException(record.exc_info)
        return base


def configure_access_log(path: str = "") -> None:
    """The access log (``pbz.access``: who read which roster or attendance) apart from the
    debug log: to ``path`` when given, else to stderr (the debug log is on stdout)."""
    handler: logging.Handler = (
        logging.FileHandler(path, encoding="utf-8") if path else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("pbz.access")
    for old in access.handlers:
        old.close()
    access.handlers[:] = [handler]
    access.setLevel(logging.INFO)
    access.propagate = False


def configure_logging(level: str = "INFO", fmt: str = "json", access_log_path: str = "") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    configure_access_log(access_log_path)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiokafka is chatty about rebalances at INFO; keep its warnings.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("pymongo").setLevel(logging.WARNING)
