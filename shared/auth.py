"""Who is calling: bearer JWTs issued by the OpenID Connect provider (Keycloak), validated
with PyJWT against the provider's published keys (JWKS) — issuer, audience, expiry, signature.

Nothing here issues tokens or does cryptography by hand: PyJWT verifies, the provider signs.
The keys are fetched from the JWKS endpoint, cached, refreshed when older than
``oidc_jwks_max_age_s`` and — rate-limited — when a token names a key id the cache lacks
(the provider rotated its keys). While the provider is unreachable the cached keys still
serve; with no keys at all a request answers 503 ``identity_provider_unavailable``.

``create_app`` (shared/service.py) puts :func:`authenticate` in front of every route of a
service's routers, so a route asks only for what it needs: ``PrincipalDep`` (who), or
``require("party_office", ...)`` (a role). 401 and 403 carry a reason code
(:class:`~shared.events.catalog.HttpReason`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict

from .actor import Actor, AuthType
from .events.catalog import HttpReason

log = logging.getLogger("pbz.auth")

ROLES = ("party_office", "hse", "zone_member")  # plus integrator:<system>
SERVICE_ACCOUNT_PREFIX = "service-account-"  # Keycloak's username for a client's service account


class Principal(BaseModel):
    """The caller, as the validated token says."""

    model_config = ConfigDict(frozen=True)

    subject: str  # a person's ``sub`` (their member_id), or a service account's client id
    type: AuthType
    roles: frozenset[str] = frozenset()
    client: str | None = None  # the client the token was issued to (``azp``)

    def has(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    def actor(self) -> Actor:
        """The actor a command published for this caller carries."""
        return Actor(type=self.type, id=self.subject, roles=self.roles)

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        roles = claims.get("roles")
        if not isinstance(roles, list):
            realm = claims.get("realm_access")
            roles = realm.get("roles", []) if isinstance(realm, dict) else []
        username = claims.get("preferred_username")
        client = claims.get("azp") if isinstance(claims.get("azp"), str) else None
        if isinstance(username, str) and username.startswith(SERVICE_ACCOUNT_PREFIX) and client:
            return cls(
                subject=client,
                type=AuthType.SERVICE_ACCOUNT,
                roles=frozenset(r for r in roles if isinstance(r, str)),
                client=client,
            )
        return cls(
            subject=str(claims["sub"]),
            type=AuthType.USER,
            roles=frozenset(r for r in roles if isinstance(r, str)),
            client=client,
        )


class AuthError(Exception):
    """A request refused for who is (or is not) calling: 401, 403, or 503 without keys."""

    def __init__(self, status: int, reason: HttpReason, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.reason = reason
        self.detail = detail

    @property
    def headers(self) -> dict[str, str]:
        if self.status == 401:
            error = "" if self.reason == HttpReason.TOKEN_MISSING else ', error="invalid_token"'
            return {"WWW-Authenticate": f'Bearer realm="pbz"{error}'}
        if self.status == 503:
            return {"Retry-After": "5"}
        return {}


class TokenVerifier:
    """Validates bearer tokens against the provider's JWKS (cached, refreshed)."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str,
        algorithms: Iterable[str] = ("RS256",),
        leeway_s: float = 5.0,
        jwks_max_age_s: float = 300.0,
        jwks_min_refresh_s: float = 10.0,
        timeout_s: float = 2.0,
        transport: httpx.AsyncBaseTransport | None = None,  # tests: a provider without a network
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.jwks_url = jwks_url
        self.algorithms = list(algorithms)
        self.leeway_s = leeway_s
        self.jwks_max_age_s = jwks_max_age_s
        self.jwks_min_refresh_s = jwks_min_refresh_s
        self.timeout_s = timeout_s
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -1e9  # monotonic time of the last successful fetch
        self._tried_at = -1e9  # of the last attempt, successful or not
        self._lock = asyncio.Lock()
        self._transport = transport
        self._http: httpx.AsyncClient | None = None

    @classmethod
    def from_settings(cls, settings: Any, transport: httpx.AsyncBaseTransport | None = None) -> TokenVerifier:
        """The verifier a service or the web app configures (``ServiceSettings``' oidc_* fields)."""
        return cls(
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience,
            jwks_url=settings.jwks_url,
            algorithms=settings.oidc_algorithms,
            leeway_s=settings.oidc_leeway_s,
            jwks_max_age_s=settings.oidc_jwks_max_age_s,
            transport=transport,
        )

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError(401, HttpReason.TOKEN_INVALID, "the bearer token is not a JWT") from None
        if header.get("alg") not in self.algorithms:
            raise AuthError(401, HttpReason.TOKEN_INVALID, "the token's algorithm is not accepted")
        key = await self._key(str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError(401, HttpReason.TOKEN_EXPIRED, "the bearer token has expired") from None
        except jwt.PyJWTError as e:
            # The class name says which check failed (signature, audience, issuer...), never
            # the token's content.
            raise AuthError(
                401, HttpReason.TOKEN_INVALID, f"the bearer token is not valid ({type(e).__name__})"
            ) from None
        return Principal.from_claims(claims)

    async def _key(self, kid: str) -> jwt.PyJWK:
        now = time.monotonic()
        stale = now - self._fetched_at > self.jwks_max_age_s
        if (stale or kid not in self._keys) and now - self._tried_at > self.jwks_min_refresh_s:
            async with self._lock:
                if time.monotonic() - self._tried_at > self.jwks_min_refresh_s:
                    await self._refresh()
        elif kid not in self._keys and self._lock.locked():
            # A fetch is under way (concurrent first requests): wait for its keys rather
            # than answer 503 without any.
            async with self._lock:
                pass
        if kid in self._keys:
            return self._keys[kid]
        if not self._keys:
            raise AuthError(
                503,
                HttpReason.IDENTITY_PROVIDER_UNAVAILABLE,
                "the identity provider's keys are not available",
            )
        raise AuthError(
            401, HttpReason.TOKEN_INVALID, "the token is signed with a key the provider does not publish"
        )

    async def _refresh(self) -> None:
        self._tried_at = time.monotonic()
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.timeout_s, transport=self._transport)
        try:
            response = await self._http.get(self.jwks_url)
            response.raise_for_status()
            keys = {}
            for jwk in response.json().get("keys", []):
                if (
                    jwk.get("use", "sig") != "sig"
                    or jwk.get("alg", self.algorithms[0]) not in self.algorithms
                ):
                    continue
                try:
                    keys[str(jwk.get("kid", ""))] = jwt.PyJWK(jwk)
                except jwt.PyJWTError:
                    continue
        except (httpx.HTTPError, ValueError) as e:
            # Keep the keys we have: a provider restart must not log everyone out.
            log.warning(
                "JWKS from %s not refreshed (%s); %d cached keys serve",
                self.jwks_url,
                type(e).__name__,
                len(self._keys),
            )
            return
        self._keys = keys
        self._fetched_at = time.monotonic()
        log.info("JWKS refreshed from %s: %d signing keys", self.jwks_url, len(keys))


# --------------------------------------------------------------------------- FastAPI

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="oidc",
    description="An access token from the OpenID Connect provider (realm pbz, audience pbz-services)",
)


async def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
) -> Principal:
    """The caller of this request; 401 without a valid token."""
    if credentials is None:
        raise AuthError(
            401, HttpReason.TOKEN_MISSING, "this route needs a bearer token (Authorization: Bearer ...)"
        )
    verifier: TokenVerifier = request.app.state.verifier
    principal = await verifier.verify(credentials.credentials)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(authenticate)]


def require(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: the caller holds one of ``roles``, else 403 ``role_required``."""

    async def check(principal: PrincipalDep) -> Principal:
        if not principal.has(*roles):
            raise AuthError(403, HttpReason.ROLE_REQUIRED, f"this needs one of the roles {', '.join(roles)}")
        return principal

    return check


def refuse(reason: HttpReason, detail: str) -> AuthError:
    """A 403 for a caller whose token is valid but who may not do this here."""
    return AuthError(403, reason, detail)


# --------------------------------------------------------------------------- the access log

access = logging.getLogger("pbz.access")


def log_access(principal: Principal, action: str, **what: Any) -> None:
    """One line in the access log (not the debug log): who read which personal data.

    ``what`` names records by their ids (zone, member), never by their content."""
    access.info(
        "%s by %s %s",
        action,
        principal.type.value,
        principal.subject,
        extra={"access": action, "actor": principal.subject, "actor_type": principal.type.value, **what},
    )
