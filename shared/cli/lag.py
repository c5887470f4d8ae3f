"""``pbz lag`` and ``pbz status``: how far behind each service is, and whether it is well."""

from __future__ import annotations

import asyncio
import importlib
import json
from typing import Any

import httpx
import typer

from ..admin import PartitionLag, group_lags
from .common import SERVICES, CliSettings, fail, friendly, run, service_name, settings

LAG_EXAMPLE = """Examples:

  pbz lag                            every service's group, per topic and partition
  pbz lag --service assessment --lagging
  pbz lag --group pbz-assessment --json
"""
STATUS_EXAMPLE = "Example:\n\n  pbz status      exit 0 when every service is ready\n"


def topics_of(service: str) -> list[str]:
    module = importlib.import_module(f"services.{SERVICES[service][0]}.app")
    return [t.value for t in module.definition.consumes]


async def lags(cfg: CliSettings, services: list[str], groups: list[str]) -> list[PartitionLag]:
    wanted: dict[str, list[str]] = {cfg.group_id(s): topics_of(s) for s in services}
    if groups:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=cfg.kafka_bootstrap, request_timeout_ms=15000)
        try:
            await admin.start()
            for g in groups:
                offsets = await admin.list_consumer_group_offsets(g)
                if not offsets:
                    fail(f"consumer group {g!r} has committed nothing (or does not exist)")
                wanted[g] = sorted({tp.topic for tp in offsets})
        finally:
            await admin.close()
    return await group_lags(cfg.kafka_bootstrap, wanted)


def print_lags(rows: list[PartitionLag], lagging: bool) -> None:
    by_group: dict[str, list[PartitionLag]] = {}
    for r in rows:
        by_group.setdefault(r.group, []).append(r)
    for group, items in by_group.items():
        total = sum(r.lag for r in items)
        typer.echo(f"{group}: lag {total}")
        typer.echo(f"  {'topic':<26} {'partition':>9} {'committed':>10} {'end':>10} {'lag':>8}")
        for r in items:
            if lagging and r.lag == 0:
                continue
            committed = "-" if r.committed is None else str(r.committed)
            typer.echo(f"  {r.topic:<26} {r.partition:>9} {committed:>10} {r.end:>10} {r.lag:>8}")


async def probe(cfg: CliSettings, service: str) -> dict[str, Any]:
    """Health, readiness and clock of one service, or why it does not answer."""
    url = cfg.url(service)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=5) as http:
            health = await http.get("/healthz")
            ready = await http.get("/readyz")
        body = ready.json()
        return {
            "service": service,
            "url": url,
            "up": health.status_code == 200,
            "ready": ready.status_code == 200,
            "checks": body.get("checks", {}),
            "clock": body.get("clock"),
        }
    except (httpx.HTTPError, ValueError) as e:
        return {
            "service": service,
            "url": url,
            "up": False,
            "ready": False,
            "error": f"not answering ({type(e).__name__})",
        }


async def infrastructure(cfg: CliSettings) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=cfg.kafka_bootstrap, request_timeout_ms=5000)
        try:
            await asyncio.wait_for(admin.start(), 10)
            out["kafka"] = f"ok ({len(await admin.list_topics())} topics at {cfg.kafka_bootstrap})"
        finally:
            await admin.close()
    except Exception as e:
        out["kafka"] = f"unreachable at {cfg.kafka_bootstrap} ({type(e).__name__})"
    try:
        from motor.motor_asyncio import AsyncIOMotorClient

        mongo: AsyncIOMotorClient[Any] = AsyncIOMotorClient(cfg.mongo_url, serverSelectionTimeoutMS=3000)
        await mongo.admin.command("ping")
        mongo.close()
        out["mongo"] = f"ok ({cfg.mongo_url})"
    except Exception as e:
        out["mongo"] = f"unreachable at {cfg.mongo_url} ({type(e).__name__})"
    return out


async def status(cfg: CliSettings) -> tuple[list[dict[str, Any]], dict[str, str]]:
    found = await asyncio.gather(*(probe(cfg, s) for s in SERVICES))
    return list(found), await infrastructure(cfg)


def print_status(found: list[dict[str, Any]], infra: dict[str, str]) -> None:
    for name, state in infra.items():
        typer.echo(f"{name:<17} {state}")
    for s in found:
        if "error" in s:
            typer.echo(f"{s['service']:<17} down: {s['url']} {s['error']}")
            continue
        clock = s.get("clock") or {}
        when = f"clock {clock.get('mode')} {clock.get('now') or 'not ticked yet'}"
        if s["ready"]:
            typer.echo(f"{s['service']:<17} ready  {when}  {s['url']}")
        else:
            bad = "; ".join(f"{k}: {v}" for k, v in s["checks"].items() if v != "ok")
            typer.echo(f"{s['service']:<17} NOT READY ({bad})  {when}  {s['url']}")


def register(app: typer.Typer) -> None:
    @app.command(epilog=LAG_EXAMPLE)
    @friendly
    def lag(
        service: list[str] = typer.Option([], "--service", "-s", help="Only these services."),
        group: list[str] = typer.Option(
            [], "--group", "-g", help="Any consumer group (its committed topics)."
        ),
        lagging: bool = typer.Option(False, help="Only partitions with a lag."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per partition."),
    ) -> None:
        """Each service's consumer group, per topic and partition: committed offset, end offset, lag."""
        cfg = settings()
        services = [service_name(s) for s in service] or ([] if group else list(SERVICES))
        rows = run(lags(cfg, services, group), cfg)
        if as_json:
            for r in rows:
                typer.echo(
                    json.dumps(
                        {
                            "group": r.group,
                            "topic": r.topic,
                            "partition": r.partition,
                            "committed": r.committed,
                            "end": r.end,
                            "lag": r.lag,
                        }
                    )
                )
        else:
            print_lags(rows, lagging)

    @app.command("status", epilog=STATUS_EXAMPLE)
    @friendly
    def status_() -> None:
        """Health and readiness of every service, the infrastructure's, and each service's clock."""
        cfg = settings()
        found, infra = run(status(cfg), cfg)
        print_status(found, infra)
        if not all(s["ready"] for s in found) or any(not v.startswith("ok") for v in infra.values()):
            raise typer.Exit(1)
