"""The web app's only door to the four services: their HTTP APIs, called with the signed-in
person's bearer token, so that every service decides itself what this person may read or do.

A refusal (401/403 with its reason code) comes back as :class:`Refused`, a missing record as
:class:`NotFound`, a service that does not answer as :class:`Unavailable` — never as data.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from .settings import SERVICE_PORTS, WebSettings

log = logging.getLogger("pbz.web.client")

ZONES, ACTIVITIES, PERMITS, ASSESSMENT = SERVICE_PORTS  # the services' titles


def at(*parts: str) -> str:
    """A service's path from its segments, each escaped (an id is data, never a path)."""
    return "/" + "/".join(quote(str(part), safe="") for part in parts)


class ServiceError(Exception):
    def __init__(self, service: str, status: int, reason: str, detail: str = "") -> None:
        super().__init__(f"{service}: {status} {reason}")
        self.service = service
        self.status = status
        self.reason = reason
        self.detail = detail


class Refused(ServiceError):
    """401 or 403: the token is not valid, or this person may not read or do this."""


class NotFound(ServiceError):
    pass


class Unavailable(ServiceError):
    """The service did not answer, or answered 5xx."""


class Invalid(ServiceError):
    """400/409/422: the service refused the request itself (a field out of its schema)."""


class Services:
    """One HTTP client per service (connection pools kept for the app's life)."""

    def __init__(self, settings: WebSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._clients = {
            title: httpx.AsyncClient(
                base_url=settings.service_url(title),
                timeout=settings.web_service_timeout_s,
                transport=transport,
            )
            for title in SERVICE_PORTS
        }

    async def aclose(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self._clients.values()))

    async def get(self, service: str, path: str, token: str, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        return await self._call(service, "GET", path, token, params=query or None)

    async def post(
        self, service: str, path: str, token: str, body: dict[str, Any], idempotency_key: str | None = None
    ) -> Any:
        """A command through the service's write route: the service stamps the person's actor."""
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        return await self._call(service, "POST", path, token, json=body, headers=headers)

    async def now(self, service: str) -> datetime:
        """The service's own time (its ``/clock``: an event-driven clock in the demo), for the
        times a command carries; the machine's clock when the service does not say."""
        try:
            response = await self._clients[service].get("/clock")
            if response.status_code == 200:
                return datetime.fromisoformat(response.json()["now"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            log.warning("%s /clock: no answer; the machine's clock is used", service)
        return datetime.now(UTC)

    async def text(self, service: str, path: str, token: str) -> tuple[str, dict[str, str]]:
        """An HTML document a service renders (the printable permit), with its headers."""
        response = await self._send(service, "GET", path, token)
        self._raise_for(service, response)
        return response.text, dict(response.headers)

    async def _call(self, service: str, method: str, path: str, token: str, **kw: Any) -> Any:
        response = await self._send(service, method, path, token, **kw)
        self._raise_for(service, response)
        return response.json()

    async def _send(self, service: str, method: str, path: str, token: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
        try:
            return await self._clients[service].request(method, path, headers=headers, **kw)
        except httpx.HTTPError as e:
            log.warning("%s %s %s: no answer (%s)", service, method, path, type(e).__name__)
            raise Unavailable(service, 503, "service_unavailable") from None

    @staticmethod
    def _raise_for(service: str, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        reason, detail = "error", ""
        try:
            body = response.json()
            reason = str(body.get("reason") or reason)
            detail = body.get("detail") if isinstance(body.get("detail"), str) else ""
        except ValueError:
            pass
        status = response.status_code
        if status in (401, 403):
            raise Refused(service, status, reason, detail)
        if status == 404:
            raise NotFound(service, status, reason or "not_found", detail)
        log.warning("%s %s: %s %s", service, response.request.url.path, status, reason)
        if status < 500:
            raise Invalid(service, status, reason, detail)
        raise Unavailable(service, status, reason, detail)
