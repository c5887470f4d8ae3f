"""The web app's sessions (services/web/signin.py): kept on the server, the browser holding an
opaque id in a secure, HTTP-only, SameSite cookie; a new id after sign-in; forgotten when idle;
CSRF tokens compared in constant time; only local pages to go back to after sign-in."""

from __future__ import annotations

import time

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.web import signin
from services.web.settings import WebSettings


def app(store: signin.SessionStore) -> Starlette:
    async def put(request: Request) -> JSONResponse:
        request.session["member_id"] = "MB0001"
        request.session["access"] = "secret-token"
        if request.query_params.get("rotate"):
            request.session[signin.ROTATE] = True
        return JSONResponse({})

    async def show(request: Request) -> JSONResponse:
        return JSONResponse({"member_id": request.session.get("member_id")})

    async def clear(request: Request) -> JSONResponse:
        request.session.clear()
        return JSONResponse({})

    a = Starlette(routes=[Route("/put", put), Route("/show", show), Route("/clear", clear)])
    a.add_middleware(signin.ServerSessions, store=store, secure=True)
    return a


async def test_the_session_lives_on_the_server_behind_an_opaque_secure_cookie() -> None:
    store = signin.SessionStore(idle_s=60)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app(store)), base_url="https://web") as c:
        assert "set-cookie" not in (await c.get("/show")).headers  # no session, no cookie
        first = await c.get("/put")
        cookie = first.headers["set-cookie"]
        assert cookie.startswith(f"{signin.COOKIE}=")
        for attr in ("HttpOnly", "SameSite=Lax", "Secure", "Path=/"):
            assert attr in cookie
        assert "secret-token" not in cookie and "MB0001" not in cookie  # only an id
        assert (await c.get("/show")).json() == {"member_id": "MB0001"}
        sid = c.cookies[signin.COOKIE]
        await c.get("/put?rotate=1")  # signed in: a new id, the old one forgotten
        assert c.cookies[signin.COOKIE] != sid and store.load(sid) is None
        assert (await c.get("/show")).json() == {"member_id": "MB0001"}
        cleared = await c.get("/clear")
        assert "Max-Age=0" in cleared.headers["set-cookie"] and len(store) == 0


def test_an_idle_session_is_forgotten() -> None:
    store = signin.SessionStore(idle_s=0.05)
    store.save("s1", {"member_id": "MB0001"})
    assert store.load("s1") == {"member_id": "MB0001"}
    time.sleep(0.1)
    assert store.load("s1") is None and store.load(None) is None


def test_only_a_local_page_is_a_place_to_go_back_to() -> None:
    assert signin.safe_next("/zones/Z1?x=1") == "/zones/Z1?x=1"
    for bad in ("https://evil.example/", "//evil.example/", "/\\evil", None, 3, ""):
        assert signin.safe_next(bad) == "/"


def test_csrf_tokens_belong_to_the_session() -> None:
    class Conn:
        def __init__(self) -> None:
            self.session: dict[str, str] = {}

    conn = Conn()
    token = signin.csrf_token(conn)  # type: ignore[arg-type]
    assert signin.csrf_token(conn) == token  # type: ignore[arg-type]
    assert signin.csrf_ok(conn, token)  # type: ignore[arg-type]
    assert not signin.csrf_ok(conn, token + "x") and not signin.csrf_ok(conn, None)  # type: ignore[arg-type]
    assert not signin.csrf_ok(Conn(), token)  # type: ignore[arg-type]  another session


def test_the_web_app_s_addresses_move_with_the_port_offset() -> None:
    s = WebSettings(port_offset=700, _env_file=None)  # type: ignore[call-arg]
    assert s.service_url("permit-fasttrack") == "http://127.0.0.1:8703"
    assert s.web_public_url == "http://127.0.0.1:8700" and s.port == 8700
    assert s.oidc_metadata_url == "http://127.0.0.1:8780/realms/pbz/.well-known/openid-configuration"
    compose = WebSettings(
        web_zone_registry_url="http://zone-registry:8001/",
        web_oidc_metadata_url="http://keycloak:8080/realms/pbz/.well-known/openid-configuration",
        _env_file=None,  # type: ignore[call-arg]
    )
    assert compose.service_url("zone-registry") == "http://zone-registry:8001"
    assert compose.oidc_metadata_url.startswith("http://keycloak:8080/")
