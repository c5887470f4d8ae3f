"""The simulator's sign-ins: one per person however many ask at once, and people signed in
ahead of their first action (a provider answered in memory; no network)."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs

import httpx
import pytest

from services.simulator.identity import Identity
from shared.actor import AuthType
from shared.auth import Principal


class Provider:
    """A token endpoint that counts the password sign-ins, each taking a moment."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.sign_ins: list[str] = []
        self.refuse = refuse

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        who = form.get("username", form.get("client_id", ""))
        await asyncio.sleep(0.01)
        if who in self.refuse:
            return httpx.Response(401, json={"error": "invalid_grant"})
        self.sign_ins.append(who)
        return httpx.Response(200, json={"access_token": f"token-of-{who}", "expires_in": 300})


def identity(provider: Provider) -> Identity:
    ident = Identity(issuer="http://idp.test/realms/pbz", jwks_url="http://idp.test/certs")
    ident._http = httpx.AsyncClient(transport=httpx.MockTransport(provider))

    async def verify(token: str) -> Principal:
        return Principal(subject=token.removeprefix("token-of-").upper(), type=AuthType.USER)

    ident.verifier.verify = verify  # type: ignore[method-assign]
    return ident


async def test_one_person_asked_for_at_once_signs_in_once() -> None:
    provider = Provider()
    ident = identity(provider)
    tokens = await asyncio.gather(*(ident.token("M0001") for _ in range(5)))
    assert provider.sign_ins == ["m0001"] and set(tokens) == {"token-of-m0001"}
    assert ident.signed_in("M0001") and not ident.signed_in("M0002")


async def test_people_are_signed_in_ahead_in_order_and_never_twice() -> None:
    provider = Provider()
    ident = identity(provider)
    await ident.token("M0002")  # needed before the ahead-of-time sign-ins came to them
    await ident.sign_in_ahead(["M0001", "M0002", "M0003", "M0001"])
    assert provider.sign_ins == ["m0002", "m0001", "m0003"]
    assert ident.signed_in_ahead == 2
    assert (await ident.actor("M0003")).id == "M0003"


async def test_a_sign_in_ahead_that_fails_is_left_to_the_sign_in_on_demand() -> None:
    provider = Provider(refuse=frozenset({"m0001"}))
    ident = identity(provider)
    await ident.sign_in_ahead(["M0001", "M0002"])
    assert provider.sign_ins == ["m0002"] and ident.signed_in_ahead == 1
    with pytest.raises(RuntimeError, match="sign-in of M0001"):
        await ident.token("M0001")


async def test_giving_up_on_the_sign_ins_ahead_spares_the_one_another_caller_awaits() -> None:
    provider = Provider()
    ident = identity(provider)
    ahead = asyncio.create_task(ident.sign_in_ahead(["M0001", "M0002"]))
    await asyncio.sleep(0)  # M0001's sign-in is under way
    waiting = asyncio.create_task(ident.token("M0001"))
    await asyncio.sleep(0)
    ahead.cancel()
    assert await waiting == "token-of-m0001"
    assert provider.sign_ins == ["m0001"]


async def test_several_at_a_time_still_sign_each_person_in_once() -> None:
    provider = Provider()
    ident = identity(provider)
    await ident.sign_in_ahead([f"M000{i}" for i in range(1, 6)], concurrency=3)
    assert sorted(provider.sign_ins) == [f"m000{i}" for i in range(1, 6)] and ident.signed_in_ahead == 5
