"""Every service's HTTP API against its own OpenAPI document, with schemathesis: generated
requests (valid and invalid) must never cause a server error, and every response must be
one the document describes. Each service runs as a real process on the real infra, called
with a real token of the party office (who may read everything). Here on empty stores;
test_demo_month.py runs the same check on the stores the short month filled."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pymongo
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from services.simulator.identity import Identity
from tests.support import MONGO, PARTY_OFFICER

SERVICES = [
    ("services.zone_registry", "zone_registry"),
    ("services.activity_log", "activity_log"),
    ("services.permit_fasttrack", "permit_fasttrack"),
    ("services.assessment", "assessment"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def service_process(module: str, suffix: str) -> Iterator[str]:
    """The service as a real process on a free port, with the databases of ``suffix``; its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "PBZ_HTTP_PORT": str(port),
        "PBZ_INSTANCE_SUFFIX": suffix,
        "PBZ_CLOCK": "events",
        "PBZ_AUTO_OFFSET_RESET": "latest",
        "PBZ_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", module], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                # The port opens before the group join; /readyz turns green once assigned.
                if httpx.get(f"{base}/readyz", timeout=3).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"{module} did not start: {proc.stderr.read().decode() if proc.stderr else ''}"
                )
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def party_office_token() -> str:
    """A real token of the party office (these tests are synchronous: their own loop)."""

    async def sign_in() -> str:
        async with Identity.from_settings() as who:
            return await who.token(PARTY_OFFICER)

    return asyncio.run(sign_in())


def keeps_its_contract(base: str, token: str, examples: int = 12) -> int:
    """Run schemathesis over every operation of the service at ``base``; how many operations."""
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    headers = {"Authorization": f"Bearer {token}"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers)

        check()
    return len(operations)


@pytest.fixture(scope="module", params=SERVICES, ids=[name for _, name in SERVICES])
def api_base(request: pytest.FixtureRequest) -> Iterator[str]:
    module, name = request.param
    suffix = f"_c{uuid.uuid4().hex[:8]}"
    try:
        with service_process(module, suffix) as base:
            yield base
    finally:
        pymongo.MongoClient(MONGO).drop_database(f"pbz_{name}{suffix}")


def test_the_api_keeps_its_contract(api_base: str) -> None:
    # Driven through hypothesis directly: schemathesis' pytest plugin does not load under
    # pytest 9 yet.
    assert keeps_its_contract(api_base, party_office_token()) >= 8
