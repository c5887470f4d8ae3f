"""Configuration from environment variables (prefix ``PBZ_``), with the defaults of SPEC."""

from __future__ import annotations

import socket
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What every service needs. Services subclass it to add their own limits."""

    model_config = SettingsConfigDict(env_prefix="PBZ_", env_file=".env", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:9092"
    mongo_url: str = "mongodb://127.0.0.1:27017"
    # Each service keeps its own database: "<prefix><service>" (e.g. pbz_zone_registry).
    mongo_db_prefix: str = "pbz_"
    clock: Literal["wall", "events"] = "wall"
    timezone: str = "Asia/Shanghai"
    # Wall-clock mode: how often the scheduler looks for deadlines and period closes.
    scheduler_interval_s: float = 30.0
    http_host: str = "127.0.0.1"
    http_port: int = 0  # 0: the service's own default port
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    # Failures are retried in place with this backoff: an outage (Mongo or Kafka
    # unreachable) for as long as it lasts, the partition waiting and /readyz red...
    retry_initial_s: float = 0.2
    retry_max_s: float = 10.0
    # ...a failure of unknown cause, or a store failure that repeats on one message while the
    # store answers its ping, this many times; then the message goes to pbz.dlq.
    retry_attempts: int = Field(5, ge=1, le=100)
    # An event a handler emits must fit on the broker (its default limit is 1 MiB): a bigger
    # one is the message's failure (pbz.dlq, reason event_too_large), never sent.
    max_event_bytes: int = Field(1_000_000, ge=1024, le=1_000_000)
    # A dead letter keeps the original message up to this many bytes, with the whole
    # message's length and SHA-256, so that the letter itself always fits on the broker.
    dlq_original_max_bytes: int = Field(65_536, ge=0, le=500_000)
    # A clock tick further than this ahead of the last one (wall clock: of this machine's
    # time) is refused to pbz.dlq, reason clock_skew; the clock stays where it was.
    clock_max_skew_hours: float = Field(2208.0, gt=0)  # 92 days: a quarter's close at most
    # Consumer group membership. A member that dies is noticed after the session timeout
    # (the broker's minimum is 6 s); with a group instance id (static membership) a
    # restarted process takes its partitions back at once. "hostname": this host's name
    # (a container's, under compose); empty: dynamic membership.
    session_timeout_ms: int = Field(6000, ge=6000, le=300_000)
    heartbeat_interval_ms: int = Field(2000, ge=100, le=100_000)
    group_instance_id: str = ""
    # Topics (shared.admin create-topics): partitions, replication, and the in-sync
    # replicas a write needs (0: two when there are three replicas or more, else one).
    topic_partitions: int = Field(6, ge=1)
    topic_replication: int = Field(1, ge=1)
    topic_min_insync_replicas: int = Field(0, ge=0)
    # Where a consumer group with no committed offset starts reading.
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    # A suffix for consumer groups and databases, so tests can run isolated copies.
    instance_suffix: str = ""
    # Local infrastructure only: moves the default Kafka, Mongo and HTTP ports by this much,
    # so several checkouts can each run their own (deploy/local/infra.sh reads it too).
    port_offset: int = 0

    @model_validator(mode="after")
    def _offset_local_ports(self) -> ServiceSettings:
        if self.port_offset:
            if "kafka_bootstrap" not in self.model_fields_set:
                self.kafka_bootstrap = f"127.0.0.1:{9092 + self.port_offset}"
            if "mongo_url" not in self.model_fields_set:
                self.mongo_url = f"mongodb://127.0.0.1:{27017 + self.port_offset}"
        return self

    def database_name(self, service: str) -> str:
        return f"{self.mongo_db_prefix}{service}{self.instance_suffix}"

    def group_id(self, service: str) -> str:
        return f"pbz-{service}{self.instance_suffix}"

    def instance_id(self, service: str) -> str | None:
        """The static group membership id of this process, if any."""
        if not self.group_instance_id:
            return None
        name = socket.gethostname() if self.group_instance_id == "hostname" else self.group_instance_id
        return f"{service}{self.instance_suffix}-{name}"

    def min_insync_replicas(self) -> int:
        if self.topic_min_insync_replicas:
            return self.topic_min_insync_replicas
        return 2 if self.topic_replication >= 3 else 1
