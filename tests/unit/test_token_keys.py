"""The verifier's key cache, without a provider: keys fetched once and reused, fetched again
for a key id the cache lacks (the provider rotated its keys), kept while the provider is down,
and a 503 rather than a 401 when no key was ever fetched. (The tokens here are signed by keys
made for the test: the services themselves never issue one.)"""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth import AuthError, TokenVerifier
from shared.events.catalog import HttpReason

ISSUER = "http://idp.test/realms/pbz"


class Provider:
    """A JWKS endpoint whose keys the test rotates, and which can go down."""

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {}
        self.fetches = 0
        self.down = False

    def add(self, kid: str) -> Any:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.keys[kid] = key
        return key

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        if self.down:
            return httpx.Response(503)
        jwks = []
        for kid, key in self.keys.items():
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            jwks.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return httpx.Response(200, json={"keys": jwks})


def token(key: Any, kid: str, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": ISSUER,
        "aud": "pbz-services",
        "sub": "MB0001",
        "iat": now,
        "exp": now + 60,
        "roles": ["zone_member"],
    }
    return jwt.encode({**body, **claims}, key, algorithm="RS256", headers={"kid": kid})


def verifier(provider: Provider) -> TokenVerifier:
    return TokenVerifier(
        issuer=ISSUER,
        audience="pbz-services",
        jwks_url=f"{ISSUER}/protocol/openid-connect/certs",
        jwks_min_refresh_s=0,
        transport=httpx.MockTransport(provider.handler),
    )


async def test_keys_are_cached_and_fetched_again_for_a_rotated_key() -> None:
    provider = Provider()
    first = provider.add("k1")
    v = verifier(provider)
    assert (await v.verify(token(first, "k1"))).subject == "MB0001"
    await v.verify(token(first, "k1", sub="MB0002"))
    assert provider.fetches == 1  # cached
    second = provider.add("k2")  # the provider rotates its keys
    assert (await v.verify(token(second, "k2"))).subject == "MB0001"
    assert provider.fetches == 2
    await v.aclose()


async def test_cached_keys_serve_while_the_provider_is_down_and_none_means_503() -> None:
    provider = Provider()
    key = provider.add("k1")
    v = verifier(provider)
    await v.verify(token(key, "k1"))
    provider.down = True
    assert (await v.verify(token(key, "k1"))).subject == "MB0001"
    with pytest.raises(AuthError) as unknown:
        await v.verify(token(provider.add("k9"), "k9"))  # a key it cannot fetch now
    assert (unknown.value.status, unknown.value.reason) == (401, HttpReason.TOKEN_INVALID)
    cold = verifier(provider)
    with pytest.raises(AuthError) as none:
        await cold.verify(token(key, "k1"))
    assert (none.value.status, none.value.reason) == (503, HttpReason.IDENTITY_PROVIDER_UNAVAILABLE)
    await v.aclose()
    await cold.aclose()


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": int(time.time()) - 120}, HttpReason.TOKEN_EXPIRED),
        ({"iss": "http://elsewhere/realms/pbz"}, HttpReason.TOKEN_INVALID),
        ({"aud": "another-api"}, HttpReason.TOKEN_INVALID),
    ],
)
async def test_expiry_issuer_and_audience_are_checked(claims: dict[str, Any], reason: HttpReason) -> None:
    provider = Provider()
    key = provider.add("k1")
    v = verifier(provider)
    with pytest.raises(AuthError) as refused:
        await v.verify(token(key, "k1", **claims))
    assert (refused.value.status, refused.value.reason) == (401, reason)
    await v.aclose()


async def test_a_symmetric_token_is_refused_before_any_key_is_looked_up() -> None:
    provider = Provider()
    v = verifier(provider)
    forged = jwt.encode({"sub": "x"}, "a-secret-long-enough-for-hmac-sha256!!", algorithm="HS256")
    with pytest.raises(AuthError) as refused:
        await v.verify(forged)
    assert refused.value.reason == HttpReason.TOKEN_INVALID and provider.fetches == 0
    await v.aclose()


async def test_concurrent_first_requests_wait_for_the_one_fetch_of_the_keys() -> None:
    # A cold service read by several requests at once (the web app's dashboard asks a service
    # for three things in parallel): all are answered with the keys of one fetch, none 503.
    import asyncio

    provider = Provider()
    key = provider.add("k1")
    slow = provider.handler

    async def slow_handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.2)
        return slow(request)

    v = TokenVerifier(
        issuer=ISSUER,
        audience="pbz-services",
        jwks_url=f"{ISSUER}/protocol/openid-connect/certs",
        transport=httpx.MockTransport(slow_handler),
    )
    subjects = await asyncio.gather(*(v.verify(token(key, "k1", sub=f"MB000{i}")) for i in range(5)))
    assert [s.subject for s in subjects] == [f"MB000{i}" for i in range(5)]
    assert provider.fetches == 1
    await v.aclose()
