"""What every ``pbz`` command shares: settings, the services' addresses, time parsing, and
turning an unreachable broker or service into one clear line instead of a traceback."""

from __future__ import annotations

import asyncio
import functools
import json
import re
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

import typer
from pydantic import Field, field_validator

from ..settings import ServiceSettings, local_issuer

# The services: Kafka name -> (python package, default HTTP port).
SERVICES: dict[str, tuple[str, int]] = {
    "zone-registry": ("zone_registry", 8001),
    "activity-log": ("activity_log", 8002),
    "permit-fasttrack": ("permit_fasttrack", 8003),
    "assessment": ("assessment", 8004),
}

UNREACHABLE = 3  # exit code: the broker, a service or the identity provider did not answer


class CliSettings(ServiceSettings):
    """The command line's settings (``PBZ_`` environment variables, like the services')."""

    # Where each service answers HTTP, JSON {"assessment": "http://host:8004", ...}; a service
    # not named answers on 127.0.0.1 at its own port (moved by PBZ_PORT_OFFSET).
    service_urls: dict[str, str] = Field(default_factory=dict)
    # A bearer token sent to the services' operations routes (once identity has landed).
    token: str = ""
    # The OpenID Connect provider `pbz token` asks (Keycloak's realm URL) and the client it is.
    oidc_issuer: str = "http://127.0.0.1:8080/realms/pbz"  # the services' setting; + PBZ_PORT_OFFSET
    oidc_client_id: str = "pbz-cli"

    @field_validator("service_urls")
    @classmethod
    def _known_services(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = set(v) - set(SERVICES)
        if unknown:
            raise ValueError(f"unknown services {sorted(unknown)}; known: {sorted(SERVICES)}")
        return {k: u.rstrip("/") for k, u in v.items()}

    def url(self, service: str) -> str:
        if service in self.service_urls:
            return self.service_urls[service]
        return f"http://127.0.0.1:{SERVICES[service][1] + self.port_offset}"

    def issuer(self) -> str:
        if "oidc_issuer" not in self.model_fields_set:
            return local_issuer(self.port_offset)
        return self.oidc_issuer.rstrip("/")

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def settings() -> CliSettings:
    try:
        return CliSettings()
    except Exception as e:
        fail(f"bad setting: {e}")


def fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def note(message: str) -> None:
    """Progress and summaries go to stderr; stdout keeps what a script reads."""
    typer.echo(message, err=True)


def service_name(name: str) -> str:
    name = name.replace("_", "-")
    if name not in SERVICES:
        fail(f"no service {name!r}; the services are {', '.join(SERVICES)}", 2)
    return name


P = ParamSpec("P")
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], cfg: CliSettings) -> T:
    """Run a command's coroutine; an unreachable broker or service ends it with one line."""
    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except typer.Exit:
        raise
    except Exception as e:
        explain(e, cfg)


def explain(e: BaseException, cfg: CliSettings) -> NoReturn:
    import httpx
    from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError

    if isinstance(e, KafkaConnectionError | KafkaTimeoutError):
        fail(
            f"Kafka at {cfg.kafka_bootstrap} is unreachable ({e}); is it running? (make infra-up)",
            UNREACHABLE,
        )
    if isinstance(e, httpx.ConnectError | httpx.TimeoutException):
        url = str(e.request.url) if getattr(e, "_request", None) is not None else "the service"
        fail(
            f"{url} is not answering ({type(e).__name__}); is the service running? (pbz status)", UNREACHABLE
        )
    if isinstance(e, KafkaError):
        fail(f"Kafka refused: {type(e).__name__}: {e}", UNREACHABLE)
    if isinstance(e, OSError):
        fail(f"{type(e).__name__}: {e}", UNREACHABLE)
    raise e


def friendly(fn: Callable[P, T]) -> Callable[P, T]:
    """Any unexpected error is still one line (with --debug for the traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except Exception as e:
            if "--debug" in sys.argv or _debug():
                raise
            fail(f"{type(e).__name__}: {e}")

    return wrapper


def _debug() -> bool:
    import os

    return os.environ.get("PBZ_DEBUG", "") not in ("", "0")


_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")


def parse_time(text: str, tz: str) -> datetime:
    """``2026-04-07T09:00+08:00``, ``2026-04-07 09:00`` (the site's time zone), ``2026-04-07``,
    or a span back from now: ``90s``, ``10m``, ``2h``, ``3d``."""
    if m := _RELATIVE.match(text.strip()):
        n, unit = float(m.group(1)), m.group(2)
        span = {
            "s": timedelta(seconds=n),
            "m": timedelta(minutes=n),
            "h": timedelta(hours=n),
            "d": timedelta(days=n),
        }
        return datetime.now(UTC) - span[unit]
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"not a time: {text!r} (e.g. 2026-04-07T09:00+08:00, 2026-04-07 09:00, 10m, 2h, 1d)", 2)
    return dt if dt.tzinfo else dt.replace(tzinfo=ZoneInfo(tz))


def load_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        fail(f"{what} is not JSON: {e}", 2)
