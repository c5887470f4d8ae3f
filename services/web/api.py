"""The web app's JSON routes: the live parts of its pages (the dashboard's figures, a permit's
state on the signer's screen) and its health. They need a signed-in session (the cookie), not
a bearer token; every status they answer is in the OpenAPI document."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, FastAPI, Query, Request, Response
from pydantic import BaseModel, Field

from . import domain, views
from .client import PERMITS, Services, at
from .i18n import Translator
from .pages import api_problem, signed_in, translator
from .settings import SERVICE_PORTS, WebSettings


class Problem(BaseModel):
    detail: str
    reason: str = Field(
        description="token_missing, role_required, not_in_zone, not_found, service_unavailable..."
    )


class Health(BaseModel):
    status: str
    service: str


class Readiness(BaseModel):
    status: str
    service: str
    checks: dict[str, str]


class PermitState(BaseModel):
    """What the signer's screen updates in place."""

    permit_id: str
    status: str
    status_label: str
    issued_at: datetime | None
    valid_until: datetime | None
    signatures: int
    waiting_on_roles: list[str]
    blocked_reasons: list[str] = Field(description="The reasons in the person's language")
    version: int | None


SIGNED_IN: dict[int | str, dict[str, Any]] = {
    422: {"model": Problem, "description": "A parameter breaks its schema (invalid_request)"},
    401: {"model": Problem, "description": "No signed-in session (token_missing)"},
    403: {"model": Problem, "description": "Signed in, but this person may not read it (role_required, ...)"},
    503: {"model": Problem, "description": "A service does not answer (service_unavailable)"},
}

router = APIRouter(tags=["web"])


@router.get("/api/dashboard", response_model=domain.Dashboard, responses=SIGNED_IN)
async def dashboard(
    request: Request,
    period: Annotated[str | None, Query(pattern=domain.PERIOD.pattern, description="YYYY-MM")] = None,
) -> Any:
    """Every figure of the party office's dashboard (the page asks for it every few seconds):
    the cadence and ranking of ``period`` (default: the running month by the services' clock)."""
    user = await signed_in(request)
    if not user.has("party_office"):
        return api_problem(403, "role_required", "the dashboard is the party office's")
    state = request.app.state
    return await views.dashboard(state.services, user.token, state.tz, state.permit_details, period)


@router.get(
    "/api/permits/{permit_id}",
    response_model=PermitState,
    responses={**SIGNED_IN, 404: {"model": Problem, "description": "No such permit (not_found)"}},
)
async def permit_state(request: Request, permit_id: str) -> PermitState:
    """A permit's state as the signer's screen shows it, in the person's language."""
    user = await signed_in(request)
    services: Services = request.app.state.services
    p = await services.get(PERMITS, at("permits", permit_id), user.token)
    return state_of(p, translator(request))


def state_of(p: dict[str, Any], t: Translator) -> PermitState:
    return PermitState(
        permit_id=p["permit_id"],
        status=p["status"],
        status_label=t.code("permit_status", p["status"]),
        issued_at=p.get("issued_at"),
        valid_until=p.get("valid_until"),
        signatures=len(p.get("signatures", [])),
        waiting_on_roles=p.get("waiting_on_roles", []),
        blocked_reasons=[t.code("block", r) for r in p.get("blocked_reasons", [])],
        version=p.get("version"),
    )


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok", service="web")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(request: Request, response: Response) -> Readiness:
    """The four services and the identity provider answer."""
    settings: WebSettings = request.app.state.settings
    targets = {t: f"{settings.service_url(t)}/healthz" for t in SERVICE_PORTS}
    targets["identity"] = settings.oidc_metadata_url

    async def check(client: httpx.AsyncClient, url: str) -> str:
        try:
            r = await client.get(url)
        except httpx.HTTPError as e:
            return f"unreachable: {type(e).__name__}"
        return "ok" if r.status_code == 200 else f"status {r.status_code}"

    async with httpx.AsyncClient(timeout=2) as client:
        results = await asyncio.gather(*(check(client, u) for u in targets.values()))
    checks = dict(zip(targets, results, strict=True))
    ok = all(v == "ok" for v in checks.values())
    response.status_code = 200 if ok else 503
    return Readiness(status="ready" if ok else "not_ready", service="web", checks=checks)


def install(app: FastAPI) -> None:
    app.include_router(router)
