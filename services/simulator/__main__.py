"""The demo month, replayed through the whole system.

python -m services.simulator run    paced for a person to follow, narrated, then the report;
                                    keeps running (services stay up under `make run`) until Ctrl-C
python -m services.simulator demo   as fast as the system allows, the report, exit 1 on mismatch
python -m services.simulator realm --out FILE
                                    the OpenID Connect realm of the demo's people (Keycloak imports it)
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import date, datetime
from pathlib import Path

import httpx
import orjson
import typer

from shared.settings import ServiceSettings

from .identity import Identity
from .plan import build_plan, check_days
from .player import PARTY_OFFICER, Player
from .report import build_report, render
from .world import build_world

cli = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
PORTS = {"zone-registry": 8001, "activity-log": 8002, "permit-fasttrack": 8003, "assessment": 8004}


def consumed_topics() -> dict[str, list[str]]:
    """service title -> topics it consumes, from the services' own definitions."""
    from services.activity_log.app import definition as al
    from services.assessment.app import definition as asm
    from services.permit_fasttrack.app import definition as pf
    from services.zone_registry.app import definition as zr

    return {d.title: [t.value for t in d.consumes] for d in (zr, al, pf, asm)}


async def wait_ready(clients: dict[str, httpx.AsyncClient], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    waiting = set(clients)
    while waiting:
        for name in list(waiting):
            try:
                if (await clients[name].get("/readyz")).status_code == 200:
                    waiting.discard(name)
            except httpx.HTTPError:
                pass
        if waiting and time.monotonic() > deadline:
            raise SystemExit(f"services not ready after {timeout:.0f} s: {', '.join(sorted(waiting))}")
        if waiting:
            await asyncio.sleep(0.5)


async def play_and_report(
    *,
    seed: int,
    zones: int,
    host_units: int,
    units: int,
    start: date,
    days: int,
    pace: float,
    narrate: bool,
    json_path: Path | None,
    clients: dict[str, httpx.AsyncClient],
    groups: dict[str, list[str]],
    bootstrap: str,
    identity: Identity,
    catch_up_timeout_s: float = 120.0,
) -> bool:
    world = build_world(seed=seed, zones=zones, host_units=host_units, units=units, start=start)
    plan = build_plan(world, start, days, seed)

    started = time.monotonic()

    def say(line: str) -> None:
        print(line, flush=True)

    def progress(line: str) -> None:
        print(f"{line}  [{time.monotonic() - started:.0f} s]", flush=True)

    print(
        f"Playing {days} days from {start.isoformat()}: {len(world.zones)} zones planned over "
        f"{len(world.key_projects)} key projects, {len(world.units)} units, "
        f"{sum(len(z.people) for z in world.zones)} members; {len(plan.actions)} planned events"
        + (f", {pace:g} s per simulated day" if pace else ", as fast as the system allows"),
        flush=True,
    )
    async with Player(
        plan,
        bootstrap=bootstrap,
        groups=groups,
        identity=identity,
        pace_s_per_day=pace,
        narrate=say if narrate else None,
        progress=progress,
        seed=seed,
        catch_up_timeout_s=catch_up_timeout_s,
    ) as player:
        stats = await player.play()
        await player.caught_up()
    report = await build_report(clients, plan, player.zone_ids, stats, player.observed())
    print(render(report), flush=True)
    if json_path is not None:
        payload = {**report.data, "mismatches": report.mismatches, "ok": report.ok, "seed": seed}
        await asyncio.to_thread(json_path.write_bytes, orjson.dumps(payload, option=orjson.OPT_INDENT_2))
        print(f"report written to {json_path}", flush=True)
    return report.ok


def token_help(settings: ServiceSettings) -> str:
    """How a person gets a token for a demo person and uses it (printed by `make run`)."""
    token_url = f"{settings.oidc_issuer}/protocol/openid-connect/token"
    zones = f"http://127.0.0.1:{PORTS['zone-registry'] + settings.port_offset}/zones"
    return (
        "Every route but /healthz, /readyz, /metrics and /docs needs a bearer token. Sign in as a demo\n"
        "person (members MB0001..., party office PO0001, HSE HS0001; password pbz-demo):\n"
        f"  TOKEN=$(curl -s -d grant_type=password -d client_id=pbz-cli -d username=po0001 -d password=pbz-demo \\\n"
        f"    {token_url} | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')\n"
        f'  curl -H "Authorization: Bearer $TOKEN" {zones}'
    )


def _clients(host: str, offset: int, auth: httpx.Auth) -> dict[str, httpx.AsyncClient]:
    """One client per service, reading as the party office (the report reads everything)."""
    return {
        name: httpx.AsyncClient(base_url=f"http://{host}:{port + offset}", timeout=30, auth=auth)
        for name, port in PORTS.items()
    }


def _run(
    *,
    seed: int,
    zones: int,
    host_units: int,
    units: int,
    start: str,
    days: int,
    pace: float,
    narrate: bool,
    json_path: Path | None,
    keep_alive: bool,
    catch_up_timeout_s: float = 120.0,
) -> bool:
    try:
        first_day = date.fromisoformat(start)
        check_days(first_day, days)  # before anything waits for the services
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    settings = ServiceSettings()
    groups = {settings.group_id(title): topics for title, topics in consumed_topics().items()}

    async def main() -> bool:
        identity = Identity.from_settings(settings)
        clients = _clients("127.0.0.1", settings.port_offset, identity.auth(PARTY_OFFICER))
        try:
            await wait_ready(clients)
            ok = await play_and_report(
                seed=seed,
                zones=zones,
                host_units=host_units,
                units=units,
                start=first_day,
                days=days,
                pace=pace,
                narrate=narrate,
                json_path=json_path,
                clients=clients,
                groups=groups,
                bootstrap=settings.kafka_bootstrap,
                identity=identity,
                catch_up_timeout_s=catch_up_timeout_s,
            )
        finally:
            for c in clients.values():
                await c.aclose()
            await identity.aclose()
        if keep_alive:
            print("\nThe services keep running with the month's data:", flush=True)
            for name, port in PORTS.items():
                print(f"  {name:<17} http://127.0.0.1:{port + settings.port_offset}/docs", flush=True)
            print(
                f"The dashboard (数据大屏): http://127.0.0.1:{8000 + settings.port_offset}/dashboard?period="
                f"{start[:7]} (party office po0001 / pbz-demo)",
                flush=True,
            )
            print(token_help(settings), flush=True)
            print("Ctrl-C stops everything.", flush=True)
            await asyncio.Event().wait()  # until Ctrl-C
        return ok

    return asyncio.run(main())


SEED = typer.Option(7, help="Seed of the simulated world and month")
ZONES = typer.Option(23, help="Zones the key projects should form")
HOSTS = typer.Option(14, help="Host units (production plants)")
UNITS = typer.Option(72, help="Participating units in all")
START = typer.Option("2026-04-01", help="First simulated day")
DAYS = typer.Option(30, help="Simulated days")
JSON = typer.Option(None, "--json", help="Also write the report as JSON here")
# How long one step may wait for every service to catch up before the run gives up: the old
# route's twin doubles the permits, and a shared machine can be slow (PBZ_SIM_CATCH_UP_TIMEOUT).
CATCH_UP = typer.Option(
    float(os.environ.get("PBZ_SIM_CATCH_UP_TIMEOUT", "600")),
    "--catch-up-timeout",
    help="Seconds a step may wait for the services to catch up (PBZ_SIM_CATCH_UP_TIMEOUT)",
)


@cli.command()
def run(
    seed: int = SEED,
    zones: int = ZONES,
    host_units: int = HOSTS,
    units: int = UNITS,
    start: str = START,
    days: int = DAYS,
    pace: float = typer.Option(
        float(os.environ.get("PBZ_SIM_PACE", "3")), help="Wall seconds per simulated day (PBZ_SIM_PACE)"
    ),
    json_path: Path | None = JSON,
    keep_alive: bool = typer.Option(True, help="Stay up after the report (the services keep running)"),
    catch_up_timeout: float = CATCH_UP,
) -> None:
    """Play the month at a pace a person can follow, narrated, then print the report."""
    _run(
        seed=seed,
        zones=zones,
        host_units=host_units,
        units=units,
        start=start,
        days=days,
        pace=pace,
        narrate=True,
        json_path=json_path,
        keep_alive=keep_alive,
        catch_up_timeout_s=catch_up_timeout,
    )


@cli.command()
def demo(
    seed: int = SEED,
    zones: int = ZONES,
    host_units: int = HOSTS,
    units: int = UNITS,
    start: str = START,
    days: int = DAYS,
    json_path: Path | None = JSON,
    narrate: bool = typer.Option(False, help="Print what happens as it happens"),
    catch_up_timeout: float = CATCH_UP,
) -> None:
    """Play the month as fast as the system allows; exit 1 when an answer contradicts the ground truth."""
    ok = _run(
        seed=seed,
        zones=zones,
        host_units=host_units,
        units=units,
        start=start,
        days=days,
        pace=0.0,
        narrate=narrate,
        json_path=json_path,
        keep_alive=False,
        catch_up_timeout_s=catch_up_timeout,
    )
    if not ok:
        print(
            f"{datetime.now().isoformat(timespec='seconds')} demo FAILED: the services' answers contradict the ground truth",
            file=sys.stderr,
        )
        raise typer.Exit(1)


@cli.command()
def realm(
    out: Path = typer.Option(..., help="Where to write the realm (JSON, as Keycloak imports it)"),
    web_port: int = typer.Option(8000, help="The web app's port (redirect URIs of pbz-web)"),
) -> None:
    """Write the demo realm; exit 0 whether or not it changed, and say which."""
    from .realm import write_realm

    changed = write_realm(out, web_port)
    print(f"realm {'written' if changed else 'unchanged'}: {out}")


if __name__ == "__main__":
    cli()
