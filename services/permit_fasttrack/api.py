"""Permit-fasttrack HTTP: permits with their whole history, cycle-time and SLA figures; signing, closing, resuming."""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from shared.auth import PrincipalDep, require
from shared.events.catalog import (
    Decision,
    PermitClose,
    PermitKind,
    PermitResume,
    PermitSign,
    PermitSnapshot,
    PermitStatus,
)
from shared.service import CommandAccepted, DbDep, IdempotencyKey, RuntimeDep, accept

from . import domain, store

# A bearer token on every route (shared/auth.py), with one of the system's roles; the
# commands carry the caller as their actor, and the permit's rules decide on it.
router = APIRouter(
    tags=["permit-fasttrack"], dependencies=[Depends(require("party_office", "hse", "zone_member"))]
)
on_site = [Depends(require("zone_member"))]


class HistoryEntry(BaseModel):
    event_id: str
    type: str
    actor: str
    at: datetime
    detail: dict[str, Any]


class PermitDetail(PermitSnapshot):
    title: str | None = None
    required_roles: list[str]
    waiting_on_roles: list[str]
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    issued_at: datetime | None = None
    sla_breached: bool
    history: list[HistoryEntry]


class PermitPage(BaseModel):
    items: list[PermitSnapshot]
    total: int
    page: int
    page_size: int


class PermitStats(BaseModel):
    count: int
    by_status: dict[str, int]
    median_cycle_minutes: float | None = Field(description="Request to first issue")
    p90_cycle_minutes: float | None
    issued_within_sla_share: float | None = Field(
        description="Of the permits issued, the share issued by their SLA deadline"
    )
    open_sla_breaches: int = Field(description="Breached and still not issued")
    sla_breaches: int
    blocked_reasons: dict[str, int] = Field(description="Permits ever blocked for each reason")


class Stats(BaseModel):
    overall: PermitStats
    zones: dict[str, PermitStats]


class Problem(BaseModel):
    detail: str


class SignBody(BaseModel):
    member_id: str = Field(min_length=1)
    role: str
    decision: Decision
    comment: str | None = None
    signed_at: datetime


class CloseBody(BaseModel):
    member_id: str = Field(min_length=1)
    closed_at: datetime


class ResumeBody(BaseModel):
    member_id: str = Field(min_length=1)


@router.get("/permits", response_model=PermitPage)
async def list_permits(
    db: DbDep,
    zone_id: str | None = None,
    project_id: str | None = None,
    status: PermitStatus | None = None,
    kind: PermitKind | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> PermitPage:
    query: dict[str, Any] = {}
    for field, value in (
        ("zone_id", zone_id),
        ("project_id", project_id),
        ("status", status),
        ("kind", kind),
    ):
        if value is not None:
            query[field] = str(value)
    total = await db[store.PERMITS].count_documents(query)
    docs = (
        await db[store.PERMITS]
        .find(query)
        .sort("requested_at", 1)
        .skip((page - 1) * page_size)
        .limit(page_size)
        .to_list(None)
    )
    return PermitPage(
        items=[PermitSnapshot(**domain.snapshot(d)) for d in docs],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get("/permits/{permit_id}", response_model=PermitDetail, responses={404: {"model": Problem}})
async def get_permit(permit_id: str, db: DbDep) -> PermitDetail:
    """State, signatures, blocked reasons and the whole history: each event, who, when."""
    p = await db[store.PERMITS].find_one({"_id": permit_id})
    if p is None:
        raise HTTPException(404, f"no permit {permit_id}")
    return PermitDetail(
        **domain.snapshot(p),
        title=p.get("title"),
        required_roles=p["required_roles"],
        waiting_on_roles=domain.waiting_on(p),
        planned_start=p.get("planned_start"),
        planned_end=p.get("planned_end"),
        issued_at=p.get("issued_at"),
        sla_breached=p.get("sla_breached", False),
        history=[HistoryEntry(**h) for h in p["history"]],
    )


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, round(0.9 * (len(s) - 1)))], 1)


def _figures(permits: list[dict[str, Any]]) -> PermitStats:
    by_status: dict[str, int] = {}
    cycles: list[float] = []
    within = 0
    blocked: dict[str, int] = {}
    for p in permits:
        by_status[p["status"]] = by_status.get(p["status"], 0) + 1
        if p.get("issued_at") is not None:
            cycles.append((p["issued_at"] - p["requested_at"]).total_seconds() / 60)
            within += p["issued_at"] <= p["sla_deadline"]
        reasons = {
            r for h in p["history"] if h["type"] == "permit.blocked" for r in h["detail"].get("reasons", [])
        }
        for r in reasons:
            blocked[r] = blocked.get(r, 0) + 1
    return PermitStats(
        count=len(permits),
        by_status=by_status,
        median_cycle_minutes=round(statistics.median(cycles), 1) if cycles else None,
        p90_cycle_minutes=_p90(cycles),
        issued_within_sla_share=round(within / len(cycles), 4) if cycles else None,
        open_sla_breaches=sum(
            1
            for p in permits
            if p.get("sla_breached") and p.get("issued_at") is None and p["status"] not in domain.FINISHED
        ),
        sla_breaches=sum(1 for p in permits if p.get("sla_breached")),
        blocked_reasons=dict(sorted(blocked.items())),
    )


@router.get("/stats", response_model=Stats)
async def stats(db: DbDep) -> Stats:
    """Per zone and overall: count by status, request→issue cycle time, SLA."""
    permits = await db[store.PERMITS].find({}, {"signatures": 0}).to_list(None)
    zones: dict[str, list[dict[str, Any]]] = {}
    for p in permits:
        zones.setdefault(p.get("zone_id") or "(no zone)", []).append(p)
    return Stats(overall=_figures(permits), zones={z: _figures(ps) for z, ps in sorted(zones.items())})


@router.post(
    "/permits/{permit_id}/sign", response_model=CommandAccepted, status_code=202, dependencies=on_site
)
async def sign(
    permit_id: str,
    body: SignBody,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    idempotency: IdempotencyKey = None,
) -> CommandAccepted:
    """Approve or reject on site (``permit.sign``)."""
    cmd = PermitSign(permit_id=permit_id, **body.model_dump())
    return await accept(runtime, "permit.sign", cmd, permit_id, principal.actor(), idempotency)


@router.post(
    "/permits/{permit_id}/close", response_model=CommandAccepted, status_code=202, dependencies=on_site
)
async def close(
    permit_id: str,
    body: CloseBody,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    idempotency: IdempotencyKey = None,
) -> CommandAccepted:
    cmd = PermitClose(permit_id=permit_id, **body.model_dump())
    return await accept(runtime, "permit.close", cmd, permit_id, principal.actor(), idempotency)


@router.post(
    "/permits/{permit_id}/resume",
    response_model=CommandAccepted,
    status_code=202,
    dependencies=[Depends(require("zone_member", "hse"))],
)
async def resume(
    permit_id: str,
    body: ResumeBody,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    idempotency: IdempotencyKey = None,
) -> CommandAccepted:
    cmd = PermitResume(permit_id=permit_id, **body.model_dump())
    return await accept(runtime, "permit.resume", cmd, permit_id, principal.actor(), idempotency)
