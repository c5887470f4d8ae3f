"""Assessment handlers: every fact mapped to its zone and period, the "2+1" evaluations,
and the period close with results, rankings and — for late facts — new revisions.

The concurrency contract: facts and ratings are one document each, written once where they
arrive. A zone's result for a period (``assessments``) is written only from
``pbz.assessment.work`` keyed by the zone: the clock emits one ``assessment.close-period``
per (zone, period), and a fact or rating for a period that is (nearly) due emits one
``assessment.revise-period``. A period's ranking is written only from the same topic keyed
by the period (``assessment.rank-period``), once every zone of the close has its result."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from shared import zone_copy
from shared.actor import actor_of, trusted_sources
from shared.events.catalog import (
    ActivityRecorded,
    AssessmentClosePeriod,
    AssessmentRankPeriod,
    ComplianceEvaluated,
    EvaluationSubmit,
    ImprovementRecorded,
    IncidentReported,
    PermitIssued,
    PermitSlaBreached,
    ProblemEvent,
    ProcedureInspected,
    ProjectMilestoneReached,
    ZonePeriodWork,
)
from shared.periods import month_of, period_bounds, periods_closed_between, quarter_of
from shared.pipeline import HandlerContext, Handlers

from . import domain, store

handlers = Handlers()
handlers.aggregate(store.ASSESSMENTS, store.RANKINGS)
# A fact for a period this close to its close asks for a revision check (the check itself is
# a no-op until the period is closed): covers a fact handled while another instance's clock
# tick closes the period (the clock is re-read every second).
REVISE_MARGIN = timedelta(hours=24)


def _weights(ctx: HandlerContext) -> domain.Weights:
    return ctx.settings.weights() if ctx.settings is not None else domain.Weights()


class Ledger:
    """Facts and published results for one handled event, and the (zone, period) pairs it
    touched, whose revision check it asks for."""

    def __init__(self, ctx: HandlerContext) -> None:
        self.ctx = ctx
        self.facts: dict[str, dict[str, Any]] = {}
        self.touched: set[tuple[str, str]] = set()  # (zone, period) that may need a new revision

    def periods(self, d: date | datetime) -> tuple[str, str]:
        return month_of(d, self.ctx.tz), quarter_of(d, self.ctx.tz)

    async def record(
        self,
        fact_id: str,
        kind: str,
        when: date | datetime,
        zone_id: str | None,
        project_id: str | None,
        **figures: Any,
    ) -> None:
        if fact_id in self.facts or await self.ctx.get(store.FACTS, fact_id) is not None:
            return  # the same fact again (another event id): counted once
        if zone_id is None and project_id is not None:
            zone = await zone_copy.zone_for_project(self.ctx, project_id)
            zone_id = zone["zone_id"] if zone else None
        month, quarter = self.periods(when)
        fact = {
            "_id": fact_id,
            "kind": kind,
            "zone_id": zone_id,
            "project_id": project_id,
            "month": month,
            "quarter": quarter,
            **figures,
        }
        self.put_fact(fact)

    def put_fact(self, fact: dict[str, Any]) -> None:
        self.facts[fact["_id"]] = fact
        self.ctx.put(store.FACTS, fact)
        if fact["zone_id"] is not None:
            self.touch(fact["zone_id"], fact)

    def touch(self, zone_id: str, fact: dict[str, Any]) -> None:
        self.touched |= {(zone_id, fact["month"]), (zone_id, fact["quarter"])}

    async def compute(self, zone_id: str, period: str) -> dict[str, Any]:
        zone = await self.ctx.get(zone_copy.ZONES, zone_id)
        projects = list((zone or {}).get("project_ids", []))
        facts = {f["_id"]: f for f in await store.facts(self.ctx.db, zone_id, period, projects)}
        ratings = {r["_id"]: r for r in await store.ratings(self.ctx.db, zone_id, period)}
        return domain.assess(
            list(facts.values()), {r["role"]: r["score"] for r in ratings.values()}, _weights(self.ctx)
        )

    async def publish(self, zone_id: str, period: str, cause: str) -> bool:
        """Publish the zone's result for a closed period if it is new or changed: a new revision."""
        result = await self.compute(zone_id, period)
        kept = await self.ctx.get(store.ASSESSMENTS, store.key(zone_id, period))
        revisions = list(kept["revisions"]) if kept else []
        if revisions and _same(revisions[-1]["result"], result):
            return False
        revision = len(revisions) + 1
        revisions.append({"revision": revision, "at": self.ctx.moment, "cause": cause, "result": result})
        self.ctx.put(
            store.ASSESSMENTS,
            {
                "_id": store.key(zone_id, period),
                "zone_id": zone_id,
                "period": period,
                "revision": revision,
                "result": result,
                "revisions": revisions,
            },
        )
        self.ctx.emit(
            "assessment.computed",
            {
                "zone_id": zone_id,
                "period": period,
                "revision": revision,
                "indicators": result["indicators"],
                "evaluation": result["evaluation"],
                "score": result["score"],
                "grade": result["grade"],
                "evaluation_missing": result["evaluation_missing"],
            },
            key=zone_id,
        )
        return True

    def revise(self) -> None:
        """Facts or ratings for periods closed (or about to be): one revision check per
        (zone, period), on the zone's partition of the work topic."""
        grace = _grace(self.ctx)
        for zone_id, period in sorted(self.touched):
            due = period_bounds(period, self.ctx.tz)[1] + grace
            if self.ctx.moment + REVISE_MARGIN >= due:
                self.ctx.emit(
                    "assessment.revise-period",
                    {"zone_id": zone_id, "period": period, "cause": self.ctx.event.type},
                    key=zone_id,
                )


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (
        a["score"] == b["score"] and a["indicators"] == b["indicators"] and a["evaluation"] == b["evaluation"]
    )


# --------------------------------------------------------------------------- zones


async def on_zone_changed(ctx: HandlerContext, previous: dict[str, Any] | None, zone: dict[str, Any]) -> None:
    """Facts kept for projects with no zone count for the zone that lists the project (they
    are joined when a result is computed, never rewritten): closed periods get a revision."""
    added = set(zone["project_ids"]) - set((previous or {}).get("project_ids", []))
    if not added:
        return
    ledger = Ledger(ctx)
    for fact in await store.waiting_facts(ctx.db, sorted(added)):
        ledger.touch(zone["zone_id"], fact)
    ledger.revise()


zone_copy.register(handlers, on_change=on_zone_changed)


# --------------------------------------------------------------------------- facts


@handlers.on("activity.compliance-evaluated")
async def on_compliance(ctx: HandlerContext, data: ComplianceEvaluated) -> None:
    ledger = Ledger(ctx)
    month_start = date.fromisoformat(f"{data.period}-01")
    fact_id = f"compliance:{data.zone_id}:{data.period}:{data.rule}"
    existing = await ctx.get(store.FACTS, fact_id)
    fact = {
        "_id": fact_id,
        "kind": "compliance",
        "zone_id": data.zone_id,
        "project_id": None,
        "month": data.period,
        "quarter": quarter_of(month_start),
        "rule": data.rule,
        "met": data.met,
        "required": data.required,
        "actual": data.actual,
    }
    if existing is None or existing["met"] != data.met:
        ledger.put_fact(fact)
    ledger.revise()


@handlers.on("activity.recorded")
async def on_activity(ctx: HandlerContext, data: ActivityRecorded) -> None:
    ledger = Ledger(ctx)
    await ledger.record(
        f"activity:{data.activity_id}",
        "activity",
        data.started_at,
        data.zone_id,
        None,
        attendees=len(data.attendee_member_ids),
    )
    ledger.revise()


@handlers.on("problem.resolved")
async def on_problem_resolved(ctx: HandlerContext, data: ProblemEvent) -> None:
    ledger = Ledger(ctx)
    await ledger.record(
        f"problem:{data.problem_id}", "problem_resolved", data.resolved_at or ctx.moment, data.zone_id, None
    )
    ledger.revise()


@handlers.on("permit.issued")
async def on_permit_issued(ctx: HandlerContext, data: PermitIssued) -> None:
    ledger = Ledger(ctx)
    p = data.permit
    issued_at = ctx.event.time
    review = p.kind == "drawing_review"  # counted apart, in schedule (issue 15)
    await ledger.record(
        f"permit_issued:{p.permit_id}",
        "drawing_review" if review else "permit_issued",
        issued_at,
        p.zone_id,
        p.project_id,
        permit_id=p.permit_id,
        within_sla=issued_at <= p.sla_deadline,
        cycle_minutes=round((issued_at - p.requested_at).total_seconds() / 60, 1),
    )
    ledger.revise()


@handlers.on("permit.sla-breached")
async def on_sla_breached(ctx: HandlerContext, data: PermitSlaBreached) -> None:
    ledger = Ledger(ctx)
    await ledger.record(
        f"sla_breach:{data.permit.permit_id}",
        "drawing_sla_breach" if data.permit.kind == "drawing_review" else "sla_breach",
        data.deadline,
        data.permit.zone_id,
        data.permit.project_id,
        permit_id=data.permit.permit_id,
    )
    ledger.revise()


@handlers.on("safety.incident-reported")
async def on_incident(ctx: HandlerContext, data: IncidentReported) -> None:
    ledger = Ledger(ctx)
    await ledger.record(
        f"incident:{data.incident_id}",
        "incident",
        data.occurred_at,
        None,
        data.project_id,
        severity=data.severity,
        incident_kind=data.kind,
    )
    ledger.revise()


@handlers.on("quality.procedure-inspected")
async def on_inspection(ctx: HandlerContext, data: ProcedureInspected) -> None:
    ledger = Ledger(ctx)
    await ledger.record(
        f"quality:{data.inspection_id}",
        "quality",
        data.inspected_at,
        None,
        data.project_id,
        result=data.result,
    )
    ledger.revise()


@handlers.on("project.milestone-reached")
async def on_milestone(ctx: HandlerContext, data: ProjectMilestoneReached) -> None:
    ledger = Ledger(ctx)
    await ledger.record(
        f"milestone:{data.project_id}:{data.milestone}",
        "milestone",
        data.actual_date,
        None,
        data.project_id,
        on_time=data.actual_date <= data.planned_date,
    )
    ledger.revise()


@handlers.on("improvement.recorded")
async def on_improvement(ctx: HandlerContext, data: ImprovementRecorded) -> None:
    ledger = Ledger(ctx)
    await ledger.record(
        f"improvement:{ctx.event.id}",
        "improvement",
        ctx.event.time,
        None,
        data.project_id,
        cost_saved_cny=data.cost_saved_cny,
        days_saved=data.days_saved,
    )
    ledger.revise()


# --------------------------------------------------------------------------- "2+1"


@handlers.on("evaluation.submit", key=lambda event, data: data.zone_id)
async def on_evaluation(ctx: HandlerContext, data: EvaluationSubmit) -> None:
    zone = await ctx.get(zone_copy.ZONES, data.zone_id)
    rating_id = f"{store.key(data.zone_id, data.period)}|{data.evaluator_role}"
    reasons = domain.evaluator_refusals(
        actor_of(ctx.event, trusted_sources(ctx.settings)), zone, data.evaluator_unit_id
    )
    reasons += domain.evaluation_refusals(
        zone=zone,
        evaluator_role=data.evaluator_role,
        evaluator_unit_id=data.evaluator_unit_id,
        score=data.score,
        already=await ctx.get(store.RATINGS, rating_id) is not None,
    )
    if reasons:
        ctx.emit(
            "assessment.command-rejected",
            {
                "command_id": ctx.event.id,
                "command_type": ctx.event.type,
                "zone_id": data.zone_id,
                "reasons": reasons,
            },
            key=data.zone_id,
        )
        return
    ledger = Ledger(ctx)
    rating = {
        "_id": rating_id,
        "zone_id": data.zone_id,
        "period": data.period,
        "role": data.evaluator_role,
        "unit_id": data.evaluator_unit_id,
        "score": data.score,
        "comment": data.comment,
        "evaluation_id": data.evaluation_id,
    }
    ctx.put(store.RATINGS, rating)
    ledger.touched.add((data.zone_id, data.period))
    ledger.revise()


# --------------------------------------------------------------------------- the clock


def _active_in(zone: dict[str, Any], period: str, tz: Any) -> bool:
    """Assessed for a period: a zone that has been active (not only proposed) and existed before its end."""
    end = period_bounds(period, tz)[1]
    return zone["status"] != "proposed" and datetime.fromisoformat(zone["established_at"]) < end


def _grace(ctx: HandlerContext) -> timedelta:
    return timedelta(hours=ctx.settings.close_grace_hours if ctx.settings is not None else 36)


@handlers.on_tick
async def on_tick(ctx: HandlerContext, previous: datetime, now: datetime) -> None:
    """Every period the clock closes: one close per zone assessed for it (R4)."""
    for period in periods_closed_between(previous, now, ctx.tz, _grace(ctx), quarters=True):
        zones = [z["_id"] for z in await store.zones(ctx.db) if _active_in(z, period, ctx.tz)]
        for zone_id in zones:
            ctx.emit(
                "assessment.close-period",
                {"zone_id": zone_id, "period": period, "cause": ctx.event.type, "assessed": len(zones)},
                key=zone_id,
            )


@handlers.on("assessment.close-period", key=lambda event, data: data.zone_id)
async def on_close_period(ctx: HandlerContext, data: AssessmentClosePeriod) -> None:
    if await ctx.get(store.ASSESSMENTS, store.key(data.zone_id, data.period)) is not None:
        return  # closed before: its ranking was asked for then
    await Ledger(ctx).publish(data.zone_id, data.period, data.cause or ctx.event.type)
    ctx.emit("assessment.rank-period", {"period": data.period, "assessed": data.assessed}, key=data.period)


@handlers.on("assessment.revise-period", key=lambda event, data: data.zone_id)
async def on_revise_period(ctx: HandlerContext, data: ZonePeriodWork) -> None:
    if await ctx.get(store.ASSESSMENTS, store.key(data.zone_id, data.period)) is None:
        return  # not closed (yet): the close will count it
    if await Ledger(ctx).publish(data.zone_id, data.period, data.cause or ctx.event.type):
        ctx.emit("assessment.rank-period", {"period": data.period, "assessed": 0}, key=data.period)


@handlers.on("assessment.rank-period", key=lambda event, data: data.period)
async def on_rank_period(ctx: HandlerContext, data: AssessmentRankPeriod) -> None:
    """The period's ranking, once every zone of its close has a result; a new revision
    whenever a revised result changes it."""
    docs = await ctx.db[store.ASSESSMENTS].find({"period": data.period}).to_list(None)
    kept = await ctx.get(store.RANKINGS, data.period)
    if (data.assessed and len(docs) < data.assessed) or (not data.assessed and kept is None):
        return  # not every zone is in yet: the last of them asks again
    ranking = domain.rank({d["zone_id"]: d["result"]["score"] for d in docs})
    if kept is not None and kept["ranking"] == ranking:
        return
    revision = (kept["revision"] + 1) if kept else 1
    ctx.put(store.RANKINGS, {"_id": data.period, "revision": revision, "ranking": ranking, "at": ctx.moment})
    ctx.emit(
        "assessment.ranking-published",
        {"period": data.period, "revision": revision, "ranking": ranking},
        key=data.period,
    )
