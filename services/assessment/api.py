"""Assessment HTTP: rankings, each zone's history of revisions, the running period explained,
roll-ups by quarter and year, the year-end report; evaluations.

Every route needs a bearer token: the ranking for any of the system's roles, a zone's own
results for the party office and the zone's members."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from shared import zone_copy
from shared.auth import PrincipalDep, require
from shared.events.catalog import (
    PERIOD_YEAR,
    AssessmentStatus,
    EvaluationSubmit,
    NoDataReason,
    Provenance,
    RevisionReason,
    RollupLevel,
    SigningMode,
)
from shared.periods import QUERY_PERIOD_ANY, month_of
from shared.service import CommandAccepted, IdempotencyKey, RuntimeDep, accept

from . import corrections, domain, revisions, rollups, store, yearend

router = APIRouter(tags=["assessment"])
Period = Annotated[str, Query(pattern=QUERY_PERIOD_ANY, description="YYYY-MM or YYYY-Qn")]
ROLLUP_PERIOD = r"^(19|20|21)\d{2}(-Q[1-4])?$"


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


class NoData(BaseModel):
    zone_id: str
    no_data: NoDataReason
    revision: int | None = Field(description="The zone's published revision; null for a running period")


class Compared(BaseModel):
    """A comparison zone's result, apart from the ranking: a zone signing ``sequential``, the
    old route the collaboration zones replaced (the demo's twins)."""

    zone_id: str
    signing: SigningMode = Field(description="sequential: the old sign-off route the zone plays")
    status: AssessmentStatus
    no_data: NoDataReason | None
    score: float | None = Field(description="As computed; never ranked nor graded beside the zones")
    revision: int | None = Field(description="The zone's published revision; null for a running period")
    indicators: dict[str, Indicator]


class Ranking(BaseModel):
    period: str
    closed: bool
    revision: int | None
    reason: RevisionReason | None = Field(description="Why the ranking has its latest revision")
    ranking: list[Ranked]
    no_data: list[NoData] = Field(description="Zones due for the period but without data: never ranked")
    comparison: list[Compared] = Field(
        default_factory=list,
        description="Comparison zones of the old sequential sign-off: neither ranked nor listed as no data",
    )


class Revision(BaseModel):
    period: str
    revision: int
    at: datetime
    cause: str
    reason: RevisionReason
    caused_by: str | None = Field(description="The fact or correction behind the revision")
    status: AssessmentStatus
    no_data: NoDataReason | None
    score: float | None
    grade: str | None
    previous_score: float | None
    previous_grade: str | None
    indicators: dict[str, Indicator]
    evaluation: Evaluation


class History(BaseModel):
    zone_id: str
    revisions: list[Revision]


class Live(BaseModel):
    zone_id: str
    period: str
    status: AssessmentStatus
    no_data: NoDataReason | None
    score: float | None
    grade: str | None
    indicators: dict[str, Indicator]
    evaluation: Evaluation
    evaluation_missing: bool
    not_applicable: list[str]
    explanation: dict[str, str] = Field(description="Why each indicator is what it is, in plain words")


class Problem(BaseModel):
    detail: str


class RollupView(BaseModel):
    level: RollupLevel
    key: str = Field(description="The zone id, host unit id or region")
    period: str
    status: AssessmentStatus
    score: float | None = Field(description="Mean of the scored months (zone) or of the scored zones")
    grade: str | None
    months_scored: int
    months_no_data: int
    zones: int
    zones_scored: int
    grades: dict[str, int]
    figures: dict[str, float] = Field(description="indicator.figure summed over the months")


class Rollups(BaseModel):
    level: RollupLevel
    period: str
    rollups: list[RollupView]


class FigureView(BaseModel):
    value: float | None
    unit: str
    provenance: Provenance = Field(description="measured, derived, input or assumed")
    note: str


class SectionView(BaseModel):
    name: str
    figures: dict[str, FigureView]
    notes: list[str]


class RankedYear(BaseModel):
    rank: int
    zone_id: str
    score: float
    grade: str


class YearEnd(BaseModel):
    year: str
    sections: list[SectionView]
    ranking: list[RankedYear]
    no_data_zones: list[str]
    not_measured: list[str] = Field(description="Every figure that is an input, derived or assumed")


async def _compute(runtime: Any, zone_id: str, period: str) -> revisions.PeriodAssessment:
    """A zone's period as it stands, from its facts as corrected since."""
    db = runtime.db
    zone = await store.zone(db, zone_id)
    facts = await store.facts(db, zone_id, period, list((zone or {}).get("project_ids", [])))
    fixes = await store.corrections_of(db, [f["_id"] for f in facts if f["kind"] in corrections.CORRECTABLE])
    ratings = {r["role"]: r["score"] for r in await store.ratings(db, zone_id, period)}
    return revisions.assess_period(
        corrections.effective_facts(facts, fixes), ratings, runtime.settings.weights()
    )


async def _running(runtime: Any, period: str) -> Ranking:
    results: dict[str, revisions.PeriodAssessment] = {}
    zones = [z for z in await store.zones(runtime.db) if z["status"] != "proposed"]
    for zone in zones:
        results[zone["_id"]] = await _compute(runtime, zone["_id"], period)
    apart = domain.comparison_ids(zones)
    compared = [_compared(z, results[z], None) for z in sorted(apart)]
    results = {z: a for z, a in results.items() if z not in apart}
    scored = {z: a.score for z, a in results.items() if a.score is not None}
    ranked = [
        Ranked(revision=None, **_ranked_fields(results[e["zone_id"]]), **e) for e in domain.rank(scored)
    ]
    no_data = [
        NoData(zone_id=z, no_data=a.no_data, revision=None) for z, a in sorted(results.items()) if a.no_data
    ]
    return Ranking(
        period=period,
        closed=False,
        revision=None,
        reason=None,
        ranking=ranked,
        no_data=no_data,
        comparison=compared,
    )


def _compared(zone_id: str, a: revisions.PeriodAssessment, revision: int | None) -> Compared:
    return Compared(
        zone_id=zone_id,
        signing=SigningMode.SEQUENTIAL,
        status=a.status,
        no_data=a.no_data,
        score=a.score,
        revision=revision,
        indicators=a.indicators,
    )


def _ranked_fields(a: revisions.PeriodAssessment) -> dict[str, Any]:
    return {
        "grade": a.grade,
        "indicators": a.indicators,
        "evaluation": a.evaluation,
        "evaluation_missing": a.evaluation_missing,
    }


@router.get(
    "/assessments",
    response_model=Ranking,
    dependencies=[Depends(require("party_office", "hse", "zone_member"))],
)
async def assessments(runtime: RuntimeDep, period: Period | None = None) -> Ranking:
    """All zones ranked for a period: the published ranking of a closed one (its latest
    revision, zones without data beside it), live figures for a running one. Comparison
    zones (signing ``sequential``, the old route) are listed apart, never ranked."""
    period = period or month_of(runtime.clock.now())
    kept = await store.ranking(runtime.db, period)
    if kept is None:
        return await _running(runtime, period)
    latest = {d["zone_id"]: revisions.latest_of(d) for d in await store.assessments_in(runtime.db, [period])}
    published = revisions.ranking_of_doc(kept)
    apart = domain.comparison_ids(await store.zone_settings(runtime.db))
    ranked = [
        Ranked(
            zone_id=e.zone_id,
            rank=e.rank,
            score=e.score,
            revision=latest[e.zone_id].revision,
            **_ranked_fields(latest[e.zone_id].assessment),
        )
        for e in published.entries
        if e.zone_id in latest
    ]
    no_data = [
        NoData(
            zone_id=z,
            no_data=latest[z].assessment.no_data or NoDataReason.NO_FACTS,
            revision=latest[z].revision,
        )
        for z in published.no_data
        if z in latest
    ]
    compared = [_compared(z, latest[z].assessment, latest[z].revision) for z in sorted(apart & set(latest))]
    return Ranking(
        period=period,
        closed=True,
        revision=published.revision,
        reason=published.reason,
        ranking=ranked,
        no_data=no_data,
        comparison=compared,
    )


@router.get("/zones/{zone_id}/assessments", response_model=History, responses={404: {"model": Problem}})
async def zone_history(zone_id: str, runtime: RuntimeDep, principal: PrincipalDep) -> History:
    """Every published result of the zone, every revision, each with its reason."""
    await zone_copy.readable(runtime.db, zone_id, principal)
    out = []
    for doc in await store.zone_assessments(runtime.db, zone_id):
        for rev in doc["revisions"]:
            r = revisions.assessment_of(rev["result"])
            out.append(
                Revision(
                    period=doc["period"],
                    revision=rev["revision"],
                    at=rev["at"],
                    cause=rev["cause"],
                    reason=RevisionReason(rev.get("reason") or RevisionReason.PERIOD_CLOSED),
                    caused_by=rev.get("caused_by"),
                    status=r.status,
                    no_data=r.no_data,
                    score=r.score,
                    grade=r.grade,
                    previous_score=rev.get("previous_score"),
                    previous_grade=rev.get("previous_grade"),
                    indicators=r.indicators,
                    evaluation=r.evaluation,
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
    a = await _compute(runtime, zone_id, period)
    r = revisions.result_doc(a)
    return Live(
        zone_id=zone_id,
        period=period,
        explanation=domain.explain(r),
        **{k: r[k] for k in ("status", "no_data", "score", "grade", "indicators", "evaluation")},
        evaluation_missing=a.evaluation_missing,
        not_applicable=list(a.not_applicable),
    )


async def _zone_months(runtime: Any, period: str) -> list[rollups.ZoneMonth]:
    """Each month's latest result of the zones, the comparison zones left out (never graded)."""
    zones = {z["_id"]: z for z in await store.zones(runtime.db)}
    months = await store.assessments_in(runtime.db, rollups.months_of(period))
    out = []
    for doc in months:
        if domain.is_comparison(zones.get(doc["zone_id"])):
            continue
        r = revisions.latest_of(doc)
        zone = zones.get(doc["zone_id"]) or {}
        out.append(
            rollups.ZoneMonth(
                zone_id=r.zone_id,
                period=r.period,
                status=r.assessment.status,
                score=r.assessment.score,
                host_unit_id=zone.get("host_unit_id"),
                region=zone.get("region") or "unknown",
                figures=rollups.summable_figures(r.assessment.indicators),
            )
        )
    return out


def _view(r: rollups.Rollup) -> RollupView:
    return RollupView(**{f: getattr(r, f) for f in RollupView.model_fields})


@router.get("/rollups", response_model=Rollups, dependencies=[Depends(require("party_office", "hse"))])
async def rollup(
    runtime: RuntimeDep,
    period: Annotated[str, Query(pattern=ROLLUP_PERIOD, description="YYYY-Qn or YYYY")],
    level: RollupLevel = RollupLevel.ZONE,
) -> Rollups:
    """A quarter or a year rolled up per zone, host unit or region, from each month's latest
    revision (months without data counted beside the mean, never averaged in)."""
    months = await _zone_months(runtime, period)
    return Rollups(
        level=level, period=period, rollups=[_view(r) for r in rollups.rollup(level, period, months)]
    )


@router.get("/reports/year-end", response_model=YearEnd, dependencies=[Depends(require("party_office"))])
async def year_end(runtime: RuntimeDep, year: Annotated[str, Query(pattern=PERIOD_YEAR)]) -> YearEnd:
    """The year-end report the party office files: coverage, zones and members, cadence kept,
    permits and cycle times, safety, quality, benefit, ranking — each figure with its provenance."""
    db = runtime.db
    facts = await store.facts_of_year(db, list(yearend.YEAR_FACT_KINDS), year)
    fixes = await store.corrections_of(db, [f["_id"] for f in facts if f["kind"] in corrections.CORRECTABLE])
    stored = yearend.Stored(
        year=year,
        projects=await store.projects(db),
        zones=[{**z, "zone_id": z["_id"]} for z in await store.zones(db)],
        floating=await store.floating(db),
        facts=corrections.effective_facts(facts, fixes),
        ranking=rollups.rollup(RollupLevel.ZONE, year, await _zone_months(runtime, year)),
    )
    report = yearend.compose(yearend.gather(stored))
    return YearEnd(
        year=report.year,
        sections=[
            SectionView(
                name=s.name,
                figures={k: FigureView(**vars(f)) for k, f in s.figures.items()},
                notes=list(s.notes),
            )
            for s in report.sections
        ],
        ranking=[RankedYear(**vars(r)) for r in report.ranking],
        no_data_zones=list(report.no_data_zones),
        not_measured=report.inputs(),
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
