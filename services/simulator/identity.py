"""The simulator signs in to the OpenID Connect provider as the people and systems it plays.

People (the demo's members, the party office, HSE) sign in with the demo password through
the ``pbz-cli`` client; the enterprise publishers with their client credentials. Each token
is validated the way the services validate theirs (``shared.auth``), and the actor a command
carries is read from it: what the provider says, not what the simulator assumes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass

import httpx

from shared.actor import Actor
from shared.auth import TokenVerifier
from shared.settings import ServiceSettings

from .realm import CLI_CLIENT, DEMO_PASSWORD, PUBLISHERS, publisher_secret

log = logging.getLogger("pbz.simulator.identity")


@dataclass
class _Token:
    access: str
    expires_at: float  # monotonic
    actor: Actor
    refresh: str | None = None
    refresh_expires_at: float = 0.0  # monotonic


class Identity:
    """Tokens (cached until shortly before they expire) and actors for the people and
    publishers the simulator plays."""

    def __init__(
        self,
        *,
        issuer: str,
        jwks_url: str,
        audience: str = "pbz-services",
        password: str = DEMO_PASSWORD,
        client_id: str = CLI_CLIENT,
        concurrency: int = 4,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.token_url = f"{self.issuer}/protocol/openid-connect/token"
        self.password = password
        self.client_id = client_id
        self.verifier = TokenVerifier(issuer=issuer, audience=audience, jwks_url=jwks_url)
        self._http = httpx.AsyncClient(timeout=30)
        self._tokens: dict[str, _Token] = {}
        self._signing: dict[str, asyncio.Future[_Token]] = {}  # one sign-in per person at a time
        self._gate = asyncio.Semaphore(concurrency)
        self.signed_in_ahead = 0

    @classmethod
    def from_settings(cls, settings: ServiceSettings | None = None) -> Identity:
        s = settings or ServiceSettings()
        return cls(issuer=s.oidc_issuer, jwks_url=s.jwks_url, audience=s.oidc_audience)

    async def aclose(self) -> None:
        await self._http.aclose()
        await self.verifier.aclose()

    async def __aenter__(self) -> Identity:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def token(self, who: str) -> str:
        """An access token for a person (member id, ``PO0001``...) or a publisher (client id)."""
        return (await self._signed_in(who)).access

    async def actor(self, who: str) -> Actor:
        return (await self._signed_in(who)).actor

    async def prepare(self, people: Iterable[str]) -> None:
        """Sign in several at once (each sign-in is a password hash on the provider's side)."""
        await asyncio.gather(*(self._signed_in(w) for w in set(people)))

    def signed_in(self, who: str) -> bool:
        """``who`` has a token (maybe one to refresh): no password is hashed for them again."""
        return who in self._tokens

    def cached_actor(self, who: str) -> Actor:
        """The actor of someone signed in by :meth:`prepare` (KeyError otherwise)."""
        return self._tokens[who].actor

    def auth(self, who: str) -> httpx.Auth:
        """An httpx auth that sends ``who``'s token, signing in again when it expires."""
        return _Bearer(self, who)

    async def sign_in_ahead(self, people: Iterable[str], concurrency: int = 1) -> None:
        """Sign people in before they are needed, ``concurrency`` at a time, in the order
        given (a person already being signed in is not signed in twice; ``signed_in_ahead``
        counts them). Failures are left to the sign-in on demand, which reports them."""
        queue = iter(dict.fromkeys(people))  # the workers share it: each person taken once

        async def worker() -> None:
            for who in queue:
                if who in self._tokens:
                    continue  # needed meanwhile, signed in on demand
                try:
                    await self._signed_in(who)
                    self.signed_in_ahead += 1
                except Exception as e:  # the sign-in on demand reports it
                    log.debug("sign-in ahead of %s failed: %s", who, e)

        await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))

    async def _signed_in(self, who: str) -> _Token:
        cached = self._tokens.get(who)
        if cached is not None and cached.expires_at - time.monotonic() > 30:
            return cached
        pending = self._signing.get(who)
        if pending is None:
            pending = asyncio.ensure_future(self._sign_in(who, cached))
            self._signing[who] = pending
            pending.add_done_callback(lambda _: self._signing.pop(who, None))
        # Shielded: a caller given up on (the ahead-of-time task at the end of a run) does
        # not cancel the sign-in another caller waits for.
        return await asyncio.shield(pending)

    async def _sign_in(self, who: str, cached: _Token | None) -> _Token:
        now = time.monotonic()
        async with self._gate:
            response = None
            if cached is not None and cached.refresh and cached.refresh_expires_at - now > 30:
                # A refresh costs the provider no password hash (a month of sign-ins did:
                # Keycloak was the busiest process of the demo after the store).
                response = await self._http.post(self.token_url, data=self._refresh_form(cached.refresh))
            if response is None or response.status_code != 200:
                response = await self._http.post(self.token_url, data=self._sign_in_form(who))
        if response.status_code != 200:
            raise RuntimeError(
                f"sign-in of {who} at {self.token_url} refused ({response.status_code}): {response.text[:200]}"
            )
        body = response.json()
        principal = await self.verifier.verify(body["access_token"])
        now = time.monotonic()
        token = _Token(
            access=body["access_token"],
            expires_at=now + float(body.get("expires_in", 60)),
            actor=principal.actor(),
            refresh=body.get("refresh_token"),
            refresh_expires_at=now + float(body.get("refresh_expires_in") or 0),
        )
        self._tokens[who] = token
        return token

    def _sign_in_form(self, who: str) -> dict[str, str]:
        if who in PUBLISHERS:
            return {
                "grant_type": "client_credentials",
                "client_id": who,
                "client_secret": publisher_secret(who),
            }
        return {
            "grant_type": "password",
            "client_id": self.client_id,
            "username": who.lower(),
            "password": self.password,
        }

    def _refresh_form(self, refresh: str) -> dict[str, str]:
        return {"grant_type": "refresh_token", "client_id": self.client_id, "refresh_token": refresh}


class _Bearer(httpx.Auth):
    def __init__(self, identity: Identity, who: str) -> None:
        self.identity = identity
        self.who = who

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        # A request that brings its own Authorization (another person's token) keeps it.
        if "Authorization" not in request.headers:
            request.headers["Authorization"] = f"Bearer {await self.identity.token(self.who)}"
        yield request
