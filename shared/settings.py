"""Configuration from environment variables (prefix ``PBZ_``), with the defaults of SPEC."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator
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
    # Transient failures (Mongo/Kafka unreachable): retry in place, backoff capped here.
    retry_initial_s: float = 0.2
    retry_max_s: float = 10.0
    # Where a consumer group with no committed offset starts reading.
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    # Traces: spans exported over OTLP/HTTP to this endpoint (e.g. http://jaeger:4318);
    # empty = tracing off (the trace context is still carried from event to event).
    otlp_endpoint: str = ""
    # Consumer lag: sampled this often (a Prometheus gauge per topic and partition); /readyz
    # turns red when the lag is above lag_alert_messages and grew at each of the last
    # lag_alert_samples samples (falling further behind, not catching up).
    lag_interval_s: float = 15.0
    lag_alert_messages: int = 1000
    lag_alert_samples: int = 4
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
