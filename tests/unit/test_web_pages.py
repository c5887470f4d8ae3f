"""The web app's pages without the real services: a session put in its store, the services
answered by a mock transport. A service's refusal is a refusal page with its reason (never an
empty page of data), a service that does not answer is a 503 page, forms without the session's
CSRF token are refused, and no page is served to someone not signed in."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from services.web import signin
from services.web.app import create_app
from services.web.settings import WebSettings

SID = "test-session-id"


def services(request: httpx.Request) -> httpx.Response:
    port, path = request.url.port, request.url.path
    if port == 8003:  # the permit service does not answer
        raise httpx.ConnectError("refused", request=request)
    if path == "/zones/Z9":
        return httpx.Response(403, json={"detail": "not yours", "reason": "not_in_zone"})
    if path == "/zones/Z404":
        return httpx.Response(404, json={"detail": "no zone Z404", "reason": "not_found"})
    return httpx.Response(500, json={"detail": "unexpected", "reason": "internal_error"})


@pytest.fixture
async def client() -> Any:
    settings = WebSettings(_env_file=None, web_default_locale="en", port_offset=0)  # type: ignore[call-arg]
    app = create_app(settings, transport=httpx.MockTransport(services))
    app.state.sessions.save(
        SID,
        {
            "member_id": "MB0001",
            "roles": ["zone_member"],
            "access": "a-token",
            "expires_at": time.time() + 600,
            "csrf": "the-csrf-token",
        },
    )
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as c:
            yield c


async def test_no_page_without_signing_in(client: httpx.AsyncClient) -> None:
    r = await client.get("/zones/Z1?period=2026-04")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fzones%2FZ1%3Fperiod%3D2026-04"
    api = await client.get("/api/dashboard")
    assert api.status_code == 401 and api.json()["reason"] == "token_missing"


async def test_a_refusal_is_a_refusal_page_and_an_absent_service_a_503(client: httpx.AsyncClient) -> None:
    client.cookies.set(signin.COOKIE, SID)
    refused = await client.get("/zones/Z9")
    assert refused.status_code == 403
    assert "data-reason>not_in_zone<" in refused.text and 'id="roster"' not in refused.text
    assert "Only the party office and the zone&#39;s own members may read this." in refused.text
    assert (await client.get("/zones/Z404")).status_code == 404
    down = await client.get("/inbox")
    assert down.status_code == 503 and "data-reason>service_unavailable<" in down.text
    dashboard = await client.get("/dashboard")  # a member, not the party office
    assert dashboard.status_code == 403 and "data-reason>role_required<" in dashboard.text
    assert (await client.get("/api/dashboard")).json()["reason"] == "role_required"


async def test_a_form_without_the_session_s_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    client.cookies.set(signin.COOKIE, SID)
    forged = await client.post("/permits/P1/sign", data={"decision": "approve", "role": "host_rep"})
    assert forged.status_code == 403 and "data-reason>csrf_failed<" in forged.text
    logout = await client.post("/logout", data={"csrf_token": "wrong"})
    assert logout.status_code == 403


async def test_the_language_switch_goes_back_to_the_same_page_only(client: httpx.AsyncClient) -> None:
    r = await client.get("/lang/zh_CN", params={"next": "/zones/Z1?period=2026-04"})
    assert r.status_code == 303 and r.headers["location"] == "/zones/Z1?period=2026-04"
    assert "pbz_lang=zh_CN" in r.headers["set-cookie"]
    away = await client.get("/lang/en", params={"next": "https://elsewhere.example/"})
    assert away.headers["location"] == "/"
    page = await client.get("/", cookies={"pbz_lang": "zh_CN"})
    assert '<html lang="zh-Hans">' in page.text and "党建协作区" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
