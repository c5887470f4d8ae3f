"""Configuration from environment variables (prefix ``PBZ_``), with the defaults of SPEC."""

from __future__ import annotations

import socket
from typing import Any, Literal

from faststream.security import BaseSecurity, SASLScram512
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What every service needs. Services subclass it to add their own limits."""

    model_config = SettingsConfigDict(env_prefix="PBZ_", env_file=".env", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:9092"
    # Kafka's own authentication: plaintext (the local default), or SASL/SCRAM-SHA-512 with one
    # principal per service and per publisher, authorised by the broker's ACLs
    # (deploy/local/infra.sh with PBZ_KAFKA_SECURITY=scram; compose's scram profile).
    kafka_security: Literal["plaintext", "scram"] = "plaintext"
    kafka_username: str = ""
    kafka_password: SecretStr = SecretStr("")
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
    # The producer batches: a batch leaves when it is full (max_batch_bytes) or has waited
    # linger_ms, compressed; every send is acknowledged by all in-sync replicas (acks=all)
    # and idempotent — neither can be turned off.
    kafka_linger_ms: int = Field(2, ge=0, le=1000)
    kafka_compression: Literal["none", "gzip", "lz4", "zstd"] = "lz4"
    kafka_max_batch_bytes: int = Field(262_144, ge=16_384, le=1_000_000)
    # The consumer: one fetch returns at most this many records (all partitions together);
    # each partition's share is handled as one batch (one insert of processed records, one
    # bulk write per collection, one commit). After an empty fetch it waits batch_wait_ms.
    batch_max_records: int = Field(100, ge=1, le=10_000)
    batch_wait_ms: int = Field(5, ge=1, le=1000)
    # How partitions are handled. "lanes" (the default): one task per partition handles its
    # records as they are fetched, the partitions side by side, while the next fetch is taken
    # (at most 5 x batch_max_records held). The others handle a fetch at a time, the next
    # taken when it is done: "topic" runs a topic's partitions side by side and the topics
    # in the order the fetch returned them; "serial" every partition in turn (the least
    # concurrency for the store); "all" every partition side by side.
    partitions: Literal["lanes", "serial", "topic", "all"] = "lanes"
    # Finished processed records (the memory that a message was handled, R6) are removed
    # when older than this, every processed_purge_every_s. A message redelivered later is
    # handled again: keep it longer than the input topics' retention (Kafka's default 7 days).
    processed_retention_hours: float = Field(336.0, ge=24)
    processed_purge_every_s: float = Field(3600.0, gt=0)
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

    # Who is calling (shared/auth.py): bearer tokens of this OpenID Connect issuer, for this
    # audience, checked against the issuer's published keys. The JWKS URL defaults to the
    # issuer's own (set it when the services reach the provider by another address, as in
    # compose).
    oidc_issuer: str = "http://127.0.0.1:8080/realms/pbz"
    oidc_jwks_url: str = ""
    oidc_audience: str = "pbz-services"
    oidc_algorithms: list[str] = Field(default_factory=lambda: ["RS256"])
    # Clock skew tolerated on a token's expiry; at most 60 s (a laxer value is refused at start).
    oidc_leeway_s: float = Field(5.0, ge=0, le=60)
    # The keys are refetched when older than this, or (at most every 10 s) for an unknown key id.
    oidc_jwks_max_age_s: float = Field(300.0, gt=0)
    # Sources (CloudEvents ``source``) whose commands may come without an actor: trusted
    # systems named one by one. None by default: every command names who sent it.
    trusted_command_sources: list[str] = Field(default_factory=list)
    # Origins a browser may call the HTTP API from; none by default (CORS closed).
    cors_origins: list[str] = Field(default_factory=list)
    # The access log (who read which roster or attendance): a file, kept apart from the
    # debug log; empty = stderr (the debug log is on stdout).
    access_log_path: str = ""
    # An HTTP write waits this long for Kafka before answering 503 with Retry-After.
    publish_timeout_s: float = Field(1.5, gt=0, le=2.0)
    retry_after_s: int = Field(5, ge=1)
    # How long Kafka keeps personal data (shared.admin create-topics applies it): commands on
    # pbz.zone.commands (names, phones) are deleted after it, and pbz.zone.events is compacted
    # so that a roster snapshot superseded — by an erasure, say — is gone after it (the
    # latest snapshot of each zone stays: the services' zone copies rebuild from it).
    personal_data_retention_hours: float = Field(720.0, gt=0)
    # pbz.dlq keeps the original bytes of what could not be read, whatever they hold.
    dlq_retention_hours: float = Field(336.0, gt=0)

    @field_validator("oidc_algorithms")
    @classmethod
    def _asymmetric_only(cls, value: list[str]) -> list[str]:
        # "none" or a shared-secret algorithm would let anyone who reads the public keys
        # sign a token: refused at start.
        weak = [a for a in value if a.lower() == "none" or a.upper().startswith("HS")]
        if weak or not value:
            raise ValueError(f"token algorithms must be asymmetric (RS/PS/ES/EdDSA), not {weak or value}")
        return value

    @model_validator(mode="after")
    def _offset_local_ports(self) -> ServiceSettings:
        if self.port_offset:
            if "kafka_bootstrap" not in self.model_fields_set:
                self.kafka_bootstrap = f"127.0.0.1:{9092 + self.port_offset}"
            if "mongo_url" not in self.model_fields_set:
                self.mongo_url = f"mongodb://127.0.0.1:{27017 + self.port_offset}"
            if "oidc_issuer" not in self.model_fields_set:
                self.oidc_issuer = local_issuer(self.port_offset)
        return self

    def kafka_producer_options(self) -> dict[str, Any]:
        """The producer's batching, compression and durability (aiokafka/FastStream keywords)."""
        return {
            "linger_ms": self.kafka_linger_ms,
            "compression_type": None if self.kafka_compression == "none" else self.kafka_compression,
            "max_batch_size": self.kafka_max_batch_bytes,
            "acks": "all",
            "enable_idempotence": True,
        }

    def kafka_security_options(self) -> BaseSecurity | None:
        """FastStream's security for the broker connection (None: plaintext)."""
        if self.kafka_security != "scram":
            return None
        return SASLScram512(self.kafka_username, self.kafka_password.get_secret_value())

    def kafka_client_options(self) -> dict[str, Any]:
        """The same, as aiokafka client keyword arguments (admin tools)."""
        if self.kafka_security != "scram":
            return {}
        return {
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": self.kafka_username,
            "sasl_plain_password": self.kafka_password.get_secret_value(),
        }

    @model_validator(mode="after")
    def _scram_needs_a_principal(self) -> ServiceSettings:
        if self.kafka_security == "scram" and not (
            self.kafka_username and self.kafka_password.get_secret_value()
        ):
            raise ValueError("PBZ_KAFKA_SECURITY=scram needs PBZ_KAFKA_USERNAME and PBZ_KAFKA_PASSWORD")
        return self

    @property
    def jwks_url(self) -> str:
        return self.oidc_jwks_url or f"{self.oidc_issuer.rstrip('/')}/protocol/openid-connect/certs"

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


def local_issuer(port_offset: int) -> str:
    """The local Keycloak realm's URL (deploy/local/infra.sh), moved by PBZ_PORT_OFFSET."""
    return f"http://127.0.0.1:{8080 + port_offset}/realms/pbz"
