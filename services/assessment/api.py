"""Assessment HTTP: rankings, each zone's history of revisions, the running period explained; evaluations.

Every route needs a bearer token: the ranking for any of the system's roles, a zone's own
results for the party office and the zone's members."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from shared import zone_copy
from shared.auth import PrincipalDep, require
from shared.events.catalog import EvaluationSubmit
from shared.periods import QUERY_PERIOD_ANY, month_of
from shared.service import CommandAccepted, IdempotencyKey, RuntimeDep, accept

from . import domain, store

router = APIRouter(tags=["assessment"])
Period = Annotated[str, Query(pattern=QUERY_PERIOD_ANY, description="YYYY-MM or YYYY-Qn")]


class Indicator(BaseModel):
    score: float | None = Field(description="0–100; null when there is nothing to measure yet")
    figures: dict[str, Any]


class Evaluation(BaseModel):
    host_rates_construction: float | None
    construction_rates_host: float | None
    management: float | None
    score: float | None
    complete: bool


class Ranked(BaseModel):
    zone_id: str
    rank: int
    score: float
    grade: str
    revision: int | None = Field(description="The zone's published revision; null for a running period")
    indicators: dict[str, Indicator]
    evaluation: Evaluation
    evaluation_missing: bool


class Ranking(BaseModel):
    period: str
    closed: bool
    revision: int | None
    ranking: list[Ranked]


class Revision(BaseModel):
    period: str
    revision: int
    at: datetime
    cause: str
    score: float
    grade: str
    indicators: dict[str, Indicator]
    evaluation: Evaluation


class History(BaseModel):
    zone_id: str
    revisions: list[Revision]


class Live(BaseModel):
    zone_id: str
    period: str
    score: float
    grade: str
    indicators: dict[str, Indicator]
    evaluation: Evaluation
    evaluation_missing: bool
    not_applicable: list[str]
    explanation: dict[str, str] = Field(description="Why each indicator is what it is, in plain words")


class Problem(BaseModel):
    detail: str


async def _compute(runtime: Any, zone_id: str, period: str) -> dict[str, Any]:
    db = runtime.db
    zone = await db[zone_copy.ZONES].find_one({"_id": zone_id})
    facts = await store.facts(db, zone_id, period, list((zone or {}).get("project_ids", [])))
    ratings = {r["role"]: r["score"] for r in await store.ratings(db, zone_id, period)}
    return domain.assess(facts, ratings, runtime.settings.weights())


@router.get(
    "/assessments",
    response_model=Ranking,
    dependencies=[Depends(require("party_office", "hse", "zone_member"))],
)
async def assessments(runtime: RuntimeDep, period: Period | None = None) -> Ranking:
    """All zones ranked for a period: the published results of a closed one, live figures for a running one."""
    period = period or month_of(runtime.clock.now())
    db = runtime.db
    kept = await db[store.RANKINGS].find_one({"_id": period})
    results: dict[str, tuple[dict[str, Any], int | None]] = {}
    if kept is not None:
        for doc in await db[store.ASSESSMENTS].find({"period": period}).to_list(None):
            results[doc["zone_id"]] = (doc["result"], doc["revision"])
    else:
        for zone in await store.zones(db):
            if zone["status"] != "proposed":
                results[zone["_id"]] = (await _compute(runtime, zone["_id"], period), None)
    ranks = {r["zone_id"]: r["rank"] for r in domain.rank({z: r["score"] for z, (r, _) in results.items()})}
    ranked = [
        Ranked(
            zone_id=z,
            rank=ranks[z],
            score=r["score"],
            grade=r["grade"],
            revision=rev,
            indicators=r["indicators"],
            evaluation=r["evaluation"],
            evaluation_missing=r["evaluation_missing"],
        )
        for z, (r, rev) in results.items()
    ]
    ranked.sort(key=lambda x: (x.rank, x.zone_id))
    return Ranking(
        period=period, closed=kept is not None, revision=kept["revision"] if kept else None, ranking=ranked
    )


@router.get("/zones/{zone_id}/assessments", response_model=History, responses={404: {"model": Problem}})
async def zone_history(zone_id: str, runtime: RuntimeDep, principal: PrincipalDep) -> History:
    """Every published result of the zone, every revision."""
    await zone_copy.readable(runtime.db, zone_id, principal)
    out = []
    for doc in await runtime.db[store.ASSESSMENTS].find({"zone_id": zone_id}).sort("period", 1).to_list(None):
        for rev in doc["revisions"]:
            r = rev["result"]
            out.append(
                Revision(
                    period=doc["period"],
                    revision=rev["revision"],
                    at=rev["at"],
                    cause=rev["cause"],
                    score=r["score"],
                    grade=r["grade"],
                    indicators=r["indicators"],
                    evaluation=r["evaluation"],
                )
            )
    return History(zone_id=zone_id, revisions=out)


@router.get("/zones/{zone_id}/live", response_model=Live, responses={404: {"model": Problem}})
async def live(
    zone_id: str, runtime: RuntimeDep, principal: PrincipalDep, period: Period | None = None
) -> Live:
    """The running period as it stands, every indicator with its figures and why."""
    await zone_copy.readable(runtime.db, zone_id, principal)
    period = period or month_of(runtime.clock.now())
    r = await _compute(runtime, zone_id, period)
    return Live(
        zone_id=zone_id,
        period=period,
        explanation=domain.explain(r),
        **{
            k: r[k]
            for k in ("score", "grade", "indicators", "evaluation", "evaluation_missing", "not_applicable")
        },
    )


@router.post(
    "/evaluations",
    response_model=CommandAccepted,
    status_code=202,
    dependencies=[Depends(require("party_office", "zone_member"))],
)
async def submit(
    body: EvaluationSubmit, runtime: RuntimeDep, principal: PrincipalDep, idempotency: IdempotencyKey = None
) -> CommandAccepted:
    """Submit a "2+1" evaluation (``evaluation.submit``): by a member of the zone employed by
    the evaluating unit, or by the party office."""
    return await accept(runtime, "evaluation.submit", body, body.zone_id, principal.actor(), idempotency)
