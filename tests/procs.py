"""Services as real operating-system processes, for fault tests: started the way
``make services-up`` starts them (``python -m services.<name>``), killed with SIGKILL,
restarted, and asked over HTTP whether they are ready.

Each process gets an isolated instance (database and consumer group suffix) shared by the
copies of one service in a test, a free HTTP port, and its own log file under
``.local/logs/faults``. Only processes started here are ever signalled, by their pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support import KAFKA, MONGO

ROOT = Path(__file__).resolve().parents[1]
LOGS = Path(os.environ.get("PBZ_LOCAL_DIR", ROOT / ".local")) / "logs" / "faults"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServiceProcess:
    """One process of a service. ``start`` may be called again after ``kill``."""

    def __init__(self, module: str, suffix: str, name: str | None = None, **settings: Any) -> None:
        self.module = module
        self.name = name or module.rsplit(".", 1)[-1]
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PBZ_")}
        env.update(
            {
                "PBZ_KAFKA_BOOTSTRAP": KAFKA,
                "PBZ_MONGO_URL": MONGO,
                "PBZ_INSTANCE_SUFFIX": suffix,
                "PBZ_AUTO_OFFSET_RESET": "latest",
                "PBZ_CLOCK": "events",
                "PBZ_HTTP_PORT": str(self.port),
                "PBZ_LOG_FORMAT": "json",
                "PBZ_RETRY_INITIAL_S": "0.05",
                "PBZ_RETRY_MAX_S": "0.5",
            }
        )
        env.update({f"PBZ_{k.upper()}": str(v) for k, v in settings.items()})
        self.env = env
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log_path = LOGS / f"{self.name}{suffix}-{self.port}.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.started_at = 0.0
        self.kills = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        assert self.proc is None or self.proc.returncode is not None, "already running"
        log = self.log_path.open("ab")
        self.started_at = time.monotonic()
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", self.module, cwd=ROOT, env=self.env, stdout=log, stderr=log
        )
        log.close()

    async def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed or committed."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()
            self.kills += 1

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            await self.kill()

    async def get(self, path: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as client:
            return await client.get(path)

    async def wait_http(self, path: str = "/healthz", timeout: float = 90) -> float:
        """Seconds from ``start`` until ``path`` answers 200."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is not None and self.proc.returncode is not None:
                raise AssertionError(f"{self.name} exited ({self.proc.returncode}); log: {self.log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if (await self.get(path)).status_code == 200:
                    return time.monotonic() - self.started_at
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} {path} not 200 within {timeout} s; log: {self.log_path}")
            await asyncio.sleep(0.1)

    async def wait_ready(self, timeout: float = 90) -> float:
        return await self.wait_http("/readyz", timeout)

    async def readiness(self) -> dict[str, Any]:
        body: dict[str, Any] = (await self.get("/readyz")).json()
        return body


@contextlib.asynccontextmanager
async def processes(*procs: ServiceProcess) -> Any:
    """Start every process, wait until each is ready; stop all of them at the end."""
    try:
        for p in procs:
            await p.start()
        for p in procs:
            await p.wait_ready()
        yield procs
    finally:
        for p in procs:
            await p.stop()
