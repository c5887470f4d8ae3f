"""``pbz token PERSON``: an access token for a demo person, from the OpenID Connect provider
(Keycloak, from the identity branch), to use with curl. Resource-owner password grant on the
provider's token endpoint, found through its discovery document."""

from __future__ import annotations

import os
from typing import Any

import httpx
import typer

from .common import UNREACHABLE, CliSettings, fail, friendly, run, settings

EXAMPLE = """Example:

  TOKEN=$(pbz token PO0001 --password pbz-demo)      the party office (demo realm)
  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8001/zones
  export PBZ_TOKEN=$(pbz token OP0001 --password pbz-demo)   an operator, for pbz replay

Settings: PBZ_OIDC_ISSUER (the realm's URL), PBZ_OIDC_CLIENT_ID (a client allowed direct grants);
the password from --password, else PBZ_DEMO_PASSWORD.
"""


async def fetch_token(cfg: CliSettings, person: str, password: str, client_id: str, issuer: str) -> str:
    async with httpx.AsyncClient(timeout=10) as http:
        try:
            discovery = await http.get(f"{issuer}/.well-known/openid-configuration")
        except httpx.HTTPError as e:
            fail(
                f"the identity provider at {issuer} is not answering ({type(e).__name__}); is it running?",
                UNREACHABLE,
            )
        if discovery.status_code != 200:
            fail(
                f"{issuer} is not an OpenID Connect issuer ({discovery.status_code} on its discovery document)"
            )
        endpoint = discovery.json().get("token_endpoint")
        if not endpoint:
            fail(f"{issuer}'s discovery document names no token endpoint")
        answer = await http.post(
            endpoint,
            data={
                "grant_type": "password",
                "client_id": client_id,
                "username": person,
                "password": password,
                "scope": "openid",
            },
        )
    body: dict[str, Any] = (
        answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
    )
    if answer.status_code != 200 or "access_token" not in body:
        why = body.get("error_description") or body.get("error") or answer.text[:200]
        fail(f"no token for {person}: {answer.status_code} {why}")
    return str(body["access_token"])


def register(app: typer.Typer) -> None:
    @app.command(epilog=EXAMPLE)
    @friendly
    def token(
        person: str = typer.Argument(..., metavar="PERSON", help="The demo person's user name (member id)."),
        password: str | None = typer.Option(None, help="Their password (default: PBZ_DEMO_PASSWORD)."),
        client_id: str | None = typer.Option(None, help="The client (default: PBZ_OIDC_CLIENT_ID)."),
        issuer: str | None = typer.Option(None, help="The realm's URL (default: PBZ_OIDC_ISSUER)."),
    ) -> None:
        """Print an access token for a demo person (for curl's Authorization header)."""
        cfg = settings()
        secret = password if password is not None else os.environ.get("PBZ_DEMO_PASSWORD")
        if not secret:
            fail("give the person's password with --password or PBZ_DEMO_PASSWORD", 2)
        where = (issuer or cfg.issuer()).rstrip("/")
        typer.echo(run(fetch_token(cfg, person, secret, client_id or cfg.oidc_client_id, where), cfg))
