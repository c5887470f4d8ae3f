"""Prometheus metrics every service exposes on ``/metrics``."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_CONSUMED = Counter(
    "pbz_events_consumed_total", "Messages read from Kafka", ["service", "topic", "type"]
)
EVENTS_DUPLICATE = Counter(
    "pbz_events_duplicate_total", "Redelivered or duplicated events that changed nothing", ["service", "type"]
)
EVENTS_IGNORED = Counter(
    "pbz_events_ignored_total", "Readable events of a type this service has no use for", ["service", "type"]
)
EVENTS_EMITTED = Counter("pbz_events_emitted_total", "Events published", ["service", "type"])
EVENTS_ROUTED = Counter(
    "pbz_events_routed_total",
    "Messages re-published to the topic and key of the aggregate they change",
    ["service", "type"],
)
STALE_WRITES = Counter(
    "pbz_stale_writes_total",
    "Aggregate writes skipped because a newer version was already stored",
    ["service", "collection"],
)
PROCESSED_PURGED = Counter(
    "pbz_processed_purged_total",
    "Finished processed records removed after the retention (the dedupe window)",
    ["service"],
)
EVENTS_DLQ = Counter("pbz_events_dlq_total", "Messages sent to pbz.dlq", ["service", "topic", "kind"])
TRANSIENT_RETRIES = Counter(
    "pbz_transient_retries_total",
    "Retries after a failure (an outage waited out, or a message's bounded retries)",
    ["service"],
)
WAITING = Gauge(
    "pbz_waiting_on_transient", "1 while a message waits on a failure (an outage, or a retry)", ["service"]
)
HANDLER_SECONDS = Histogram(
    "pbz_handler_seconds",
    "Time from reading a message to its effect stored and events published",
    ["service", "type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
STEP_SECONDS = Histogram(
    "pbz_pipeline_step_seconds",
    "Time in each store and broker step of the pipeline: read (a batch's declared reads), record "
    "(processed records inserted), apply (writes), publish (events acknowledged), done (marked), "
    "forward (re-keyed to the work topic), commit (offsets)",
    ["service", "step"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
CONSUMER_LAG = Gauge(
    "pbz_consumer_lag",
    "Messages on a partition this instance consumes that its group has not committed yet",
    ["service", "topic", "partition"],
)
REPLAYED = Counter("pbz_replayed_total", "Messages re-read by a store rebuild (pbz replay)", ["service"])
PERMITS_WAITING = Gauge(
    "pbz_permits_waiting",
    "Open permits not issued yet, by status (pending signatures, approved, blocked, suspended)",
    ["service", "status"],
)
