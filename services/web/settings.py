"""The web app's settings (prefix ``PBZ_``, like every service's): where the four services and
the OpenID Connect provider are, the session cookie, and how often the dashboard refreshes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from shared.settings import ServiceSettings

SERVICE_PORTS = {"zone-registry": 8001, "activity-log": 8002, "permit-fasttrack": 8003, "assessment": 8004}
WEB_PORT = 8000


class WebSettings(ServiceSettings):
    """The shared settings (issuer, audience, time zone, HTTP host, logs, port offset) and the
    web app's own. Empty URLs default to the local ports moved by ``PBZ_PORT_OFFSET``."""

    # The four services' HTTP APIs (the web app's only source of data).
    web_zone_registry_url: str = ""
    web_activity_log_url: str = ""
    web_permit_fasttrack_url: str = ""
    web_assessment_url: str = ""
    # A service that does not answer within this many seconds is shown as unavailable.
    web_service_timeout_s: float = Field(10.0, gt=0, le=60)
    # The address browsers reach the web app at: the OpenID Connect redirect goes back here.
    web_public_url: str = ""
    # The provider's OpenID configuration as the web app fetches it (compose: over its network);
    # empty = the issuer's own.
    web_oidc_metadata_url: str = ""
    web_oidc_client_id: str = "pbz-web"
    # A session unused this long is forgotten (sign in again); sessions live in memory.
    web_session_idle_minutes: float = Field(30.0, gt=0, le=24 * 60)
    # Secure cookies (browsers keep them on http://127.0.0.1 and localhost too); false only
    # behind a plain-HTTP address other than these.
    web_cookie_secure: bool = True
    # How often an open dashboard or permit card asks for fresh figures.
    web_refresh_seconds: float = Field(5.0, ge=1, le=600)
    web_default_locale: Literal["zh_CN", "en"] = "zh_CN"

    @model_validator(mode="after")
    def _local_addresses(self) -> WebSettings:
        for title, port in SERVICE_PORTS.items():
            attr = f"web_{title.replace('-', '_')}_url"
            if not getattr(self, attr):
                setattr(self, attr, f"http://127.0.0.1:{port + self.port_offset}")
        if not self.web_public_url:
            self.web_public_url = f"http://127.0.0.1:{WEB_PORT + self.port_offset}"
        return self

    def service_url(self, title: str) -> str:
        url: str = getattr(self, f"web_{title.replace('-', '_')}_url")
        return url.rstrip("/")

    @property
    def oidc_metadata_url(self) -> str:
        return (
            self.web_oidc_metadata_url or f"{self.oidc_issuer.rstrip('/')}/.well-known/openid-configuration"
        )

    @property
    def port(self) -> int:
        return self.http_port or WEB_PORT + self.port_offset
