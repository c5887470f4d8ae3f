"""The whole system as `make run` starts it, for the web app's end-to-end tests: the four
services and the web app as real processes on the real broker, store and identity provider,
and Debian's Chromium driven by Playwright (never Playwright's own browser download)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.activity_log.app import definition as activity_log
from services.assessment.app import definition as assessment
from services.permit_fasttrack.app import definition as permit_fasttrack
from services.zone_registry.app import definition as zone_registry
from tests.support import _LOCAL, KAFKA

DEFINITIONS = (zone_registry, activity_log, permit_fasttrack, assessment)
CHROMIUM = os.environ.get("PBZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The provider's pbz-web client redirects only to the web app's own port (8000 + offset).
WEB_PORT = 8000 + _LOCAL.port_offset
WEB = f"http://127.0.0.1:{WEB_PORT}"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_taken(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


async def start_groups_at_the_end(groups: dict[str, list[str]]) -> None:
    """Commit each new consumer group's offsets at its topics' current end, so the services
    (started next, as processes) read from there however late their partitions are assigned."""
    for group, topics in groups.items():
        consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, group_id=group, enable_auto_commit=False)
        await consumer.start()
        try:
            cluster = await consumer._client.fetch_all_metadata()
            tps = [
                TopicPartition(t, p) for t in topics for p in sorted(cluster.partitions_for_topic(t) or ())
            ]
            consumer.assign(tps)
            ends = await consumer.end_offsets(tps)
            await consumer.commit(dict(ends))
        finally:
            await consumer.stop()


@dataclass
class Process:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    base: str


def _wait_healthy(p: Process, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{p.base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if p.proc.poll() is not None or time.monotonic() > deadline:
            tail = p.log.read_text(errors="replace")[-3000:] if p.log.exists() else ""
            raise RuntimeError(f"{p.name} did not start; its log:\n{tail}")
        time.sleep(0.2)


def _spawn(name: str, module: str, env: dict[str, str], port: int, logs: Path) -> Process:
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", module], env=env, stdout=out, stderr=subprocess.STDOUT)
    return Process(name, proc, log, f"http://127.0.0.1:{port}")


@contextlib.contextmanager
def system(suffix: str, logs: Path) -> Iterator[dict[str, Process]]:
    """The four services (with databases and consumer groups of ``suffix``) and the web app."""
    if port_taken(WEB_PORT):
        raise RuntimeError(f"port {WEB_PORT} is taken (make run in this checkout?): the web app needs it")
    base_env = {
        **os.environ,
        "PBZ_INSTANCE_SUFFIX": suffix,
        "PBZ_CLOCK": "events",
        "PBZ_AUTO_OFFSET_RESET": "latest",
        "PBZ_LOG_FORMAT": "text",
    }
    procs: dict[str, Process] = {}
    try:
        for d in DEFINITIONS:
            port = free_port()
            env = {
                **base_env,
                "PBZ_HTTP_PORT": str(port),
                "PBZ_ACCESS_LOG_PATH": str(logs / f"{d.name}-access.log"),
            }
            procs[d.title] = _spawn(d.title, f"services.{d.name}", env, port, logs)
        web_env = {
            **base_env,
            "PBZ_HTTP_PORT": str(WEB_PORT),
            "PBZ_WEB_REFRESH_SECONDS": "1",
            **{f"PBZ_WEB_{t.replace('-', '_').upper()}_URL": p.base for t, p in procs.items()},
        }
        procs["web"] = _spawn("web", "services.web", web_env, WEB_PORT, logs)
        for p in procs.values():
            _wait_healthy(p)
        yield procs
    finally:
        for p in procs.values():
            p.proc.terminate()
        for p in procs.values():
            try:
                p.proc.wait(20)
            except subprocess.TimeoutExpired:
                p.proc.kill()


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """Debian's Chromium, headless, through Playwright; each person gets a fresh context (the
    browser itself runs on a fresh temporary profile)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


async def sign_in(page: Any, username: str, path: str) -> None:
    """Open a page of the web app and sign in at the provider's real login page."""
    await page.goto(f"{WEB}{path}")
    await page.wait_for_selector("#username")
    assert page.url.startswith(_LOCAL.oidc_issuer), page.url  # Keycloak's own page
    await page.fill("#username", username)
    await page.fill("#password", "pbz-demo")
    await page.click("#kc-login")
    await page.wait_for_url(f"{WEB}{path}*")
