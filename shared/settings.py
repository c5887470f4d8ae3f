"""Configuration from environment variables (prefix ``PBZ_``), with the defaults of SPEC."""

from __future__ import annotations

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
    # Transient failures (Mongo/Kafka unreachable): retry in place, backoff capped here.
    retry_initial_s: float = 0.2
    retry_max_s: float = 10.0
    # Where a consumer group with no committed offset starts reading.
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
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
                self.oidc_issuer = f"http://127.0.0.1:{8080 + self.port_offset}/realms/pbz"
        return self

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
