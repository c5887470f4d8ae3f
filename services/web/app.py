"""The web app's wiring: settings, the services' client, sign-in and sessions, pages and the
JSON routes, security headers; ``main`` serves it (``python -m services.web``)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import uvicorn
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logs import configure_logging, current_service

from . import api, pages
from .client import Services
from .settings import WebSettings
from .signin import Identity, ServerSessions, SessionStore
from .views import PermitDetails

log = logging.getLogger("pbz.web")
HERE = Path(__file__).parent
TITLE = "web"

# Scripts from this origin only; ECharts sets inline styles on the elements it draws.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self' {issuer}"
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, csp: str) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((k, v) for k, v in self.headers if k not in present),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(
    settings: WebSettings | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    settings = settings or WebSettings()
    services = Services(settings, transport)
    identity = Identity(settings, transport)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info(
            "web started: services %s, provider %s",
            settings.service_url("zone-registry"),
            settings.oidc_issuer,
        )
        try:
            yield
        finally:
            await services.aclose()
            await identity.aclose()

    app = FastAPI(
        title="pbz web",
        description="The party office's dashboard, the zone's page and the signer's screen. Pages are "
        "HTML (not listed here); the JSON routes below feed their live parts and need a signed-in session.",
        version="1.0.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.services = services
    app.state.identity = identity
    app.state.tz = ZoneInfo(settings.timezone)
    app.state.permit_details = PermitDetails()
    app.state.sessions = SessionStore(settings.web_session_idle_minutes * 60)
    pages.install(app)
    api.install(app)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(ServerSessions, store=app.state.sessions, secure=settings.web_cookie_secure)
    issuer_origin = httpx.URL(settings.oidc_issuer)
    app.add_middleware(
        SecurityHeaders, csp=CSP.format(issuer=f"{issuer_origin.scheme}://{issuer_origin.netloc.decode()}")
    )
    return app


def main() -> None:
    settings = WebSettings()
    configure_logging(settings.log_level, settings.log_format, settings.access_log_path)
    current_service.set(TITLE)
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )
