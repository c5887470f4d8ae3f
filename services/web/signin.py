"""Signing in: OpenID Connect authorization code with PKCE (S256) at the provider (Keycloak),
by authlib's Starlette client; sessions kept on the server, the browser holding only an
opaque id in a secure, HTTP-only, SameSite cookie — the tokens never reach the page's scripts.
Forms carry a per-session CSRF token.

The access token is validated like the services validate it (``shared.auth``: issuer,
audience, expiry, signature against the provider's keys) and refreshed with the refresh
token shortly before it expires; a session whose refresh fails is signed out.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from authlib.integrations.starlette_client import OAuth
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import AuthError, Principal, TokenVerifier

from .settings import WebSettings

log = logging.getLogger("pbz.web.signin")

COOKIE = "pbz_session"
PROVIDER = "pbz"
REFRESH_MARGIN_S = 30.0


@dataclass
class _Stored:
    data: dict[str, Any]
    seen: float = field(default_factory=time.monotonic)


class SessionStore:
    """Sessions in memory, forgotten after ``idle_s`` without a request (a restart signs
    everyone out: acceptable for one web process; several would share a store)."""

    def __init__(self, idle_s: float) -> None:
        self.idle_s = idle_s
        self._sessions: dict[str, _Stored] = {}

    def load(self, sid: str | None) -> dict[str, Any] | None:
        if sid is None:
            return None
        stored = self._sessions.get(sid)
        if stored is None:
            return None
        now = time.monotonic()
        if now - stored.seen > self.idle_s:
            del self._sessions[sid]
            return None
        stored.seen = now
        return stored.data

    def save(self, sid: str, data: dict[str, Any]) -> None:
        self._sessions[sid] = _Stored(data)
        self._sweep()

    def drop(self, sid: str | None) -> None:
        if sid is not None:
            self._sessions.pop(sid, None)

    def __len__(self) -> int:
        return len(self._sessions)

    def _sweep(self) -> None:
        now = time.monotonic()
        for sid in [s for s, v in self._sessions.items() if now - v.seen > self.idle_s]:
            del self._sessions[sid]


ROTATE = "_rotate"  # set in a session to give it a new id (after sign-in: no session fixation)


class ServerSessions:
    """ASGI middleware: ``scope["session"]`` is the server-side session of the cookie's id
    (what authlib and the pages read and write); the response sets or clears the cookie."""

    def __init__(self, app: ASGIApp, store: SessionStore, secure: bool) -> None:
        self.app = app
        self.store = store
        self.attrs = "Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        sid = HTTPConnection(scope).cookies.get(COOKIE)
        loaded = self.store.load(sid)
        data: dict[str, Any] = loaded if loaded is not None else {}
        known = loaded is not None
        scope["session"] = data

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                cookie = self._settle(sid if known else None, data)
                if cookie is not None:
                    headers.append("Set-Cookie", cookie)
                headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _settle(self, sid: str | None, data: dict[str, Any]) -> str | None:
        """Store the session; the Set-Cookie header to send, if any."""
        if not data:
            if sid is None:
                return None
            self.store.drop(sid)
            return f"{COOKIE}=; {self.attrs}; Max-Age=0"
        if data.pop(ROTATE, False) or sid is None:
            self.store.drop(sid)
            sid = secrets.token_urlsafe(32)
            self.store.save(sid, data)
            return f"{COOKIE}={sid}; {self.attrs}"
        self.store.save(sid, data)
        return None


# --------------------------------------------------------------------------- who is signed in


@dataclass(frozen=True)
class User:
    member_id: str  # the token's sub: a member id, PO0001, HS0001
    roles: frozenset[str]
    token: str

    def has(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)


class SignInRequired(Exception):
    """No session, or one whose tokens can no longer be refreshed."""


class Identity:
    """The provider as the web app uses it: the sign-in redirect, the code exchange, token
    validation and refresh, the sign-out redirect."""

    def __init__(self, settings: WebSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.oauth = OAuth()
        self.oauth.register(
            PROVIDER,
            client_id=settings.web_oidc_client_id,
            server_metadata_url=settings.oidc_metadata_url,
            client_kwargs={"scope": "openid", "code_challenge_method": "S256"},
        )
        self.verifier = TokenVerifier.from_settings(settings)
        self._http = httpx.AsyncClient(timeout=10, transport=transport)

    async def aclose(self) -> None:
        await self.verifier.aclose()
        await self._http.aclose()

    @property
    def redirect_uri(self) -> str:
        return f"{self.settings.web_public_url.rstrip('/')}/auth/callback"

    async def start(self, request: Request, next_path: str) -> Any:
        """Redirect to the provider's sign-in page (state, nonce and PKCE verifier kept in
        the session by authlib)."""
        request.session["next"] = next_path
        client = self.oauth.create_client(PROVIDER)
        return await client.authorize_redirect(request, self.redirect_uri)  # type: ignore[union-attr]

    async def finish(self, request: Request) -> str:
        """The provider's redirect back: exchange the code (with the PKCE verifier), check the
        ID token (authlib) and the access token (as the services will); the page to go on to."""
        client = self.oauth.create_client(PROVIDER)
        token = await client.authorize_access_token(request)  # type: ignore[union-attr]
        principal = await self.verifier.verify(token["access_token"])
        next_path = safe_next(request.session.get("next"))
        request.session.clear()
        request.session.update(self._session_of(principal, token))
        request.session[ROTATE] = True
        log.info("signed in: %s", principal.subject)
        return next_path

    async def user(self, request: HTTPConnection) -> User:
        """The signed-in person, with a fresh access token."""
        session = request.session
        if "member_id" not in session:
            raise SignInRequired
        if session["expires_at"] - time.time() < REFRESH_MARGIN_S:
            await self._refresh(session)
        return User(
            member_id=session["member_id"], roles=frozenset(session["roles"]), token=session["access"]
        )

    async def end_session_url(self, id_token: str | None) -> str:
        metadata = await self.oauth.create_client(PROVIDER).load_server_metadata()  # type: ignore[union-attr]
        end = metadata.get("end_session_endpoint")
        back = self.settings.web_public_url.rstrip("/") + "/"
        if not end:
            return back
        query = httpx.QueryParams(
            {"client_id": self.settings.web_oidc_client_id, "post_logout_redirect_uri": back}
            | ({"id_token_hint": id_token} if id_token else {})
        )
        return f"{end}?{query}"

    def _session_of(self, principal: Principal, token: dict[str, Any]) -> dict[str, Any]:
        return {
            "member_id": principal.subject,
            "roles": sorted(principal.roles),
            "access": token["access_token"],
            "refresh": token.get("refresh_token"),
            "id_token": token.get("id_token"),
            "expires_at": time.time() + float(token.get("expires_in", 60)),
            "csrf": secrets.token_urlsafe(32),
        }

    async def _refresh(self, session: dict[str, Any]) -> None:
        refresh = session.get("refresh")
        if not refresh:
            session.clear()
            raise SignInRequired
        metadata = await self.oauth.create_client(PROVIDER).load_server_metadata()  # type: ignore[union-attr]
        try:
            response = await self._http.post(
                metadata["token_endpoint"],
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": refresh,
                    "client_id": self.settings.web_oidc_client_id,
                },
            )
            if response.status_code != 200:
                raise SignInRequired
            token = response.json()
            principal = await self.verifier.verify(token["access_token"])
        except (httpx.HTTPError, ValueError, KeyError, AuthError):
            session.clear()
            raise SignInRequired from None
        except SignInRequired:
            session.clear()
            raise
        csrf = session.get("csrf")
        session.update(self._session_of(principal, token))
        session["csrf"] = csrf or session["csrf"]


def safe_next(value: object) -> str:
    """A page of this app to go back to: a local path, never another site."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


# --------------------------------------------------------------------------- CSRF


def csrf_token(request: HTTPConnection) -> str:
    token: str = request.session.setdefault("csrf", secrets.token_urlsafe(32))
    return token


def csrf_ok(request: HTTPConnection, sent: object) -> bool:
    expected = request.session.get("csrf")
    return isinstance(sent, str) and isinstance(expected, str) and hmac.compare_digest(sent, expected)
