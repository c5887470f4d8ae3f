"""Assessment handlers: every fact mapped to its zone and period, the "2+1" evaluations,
and the period close with results, rankings and — for late facts — new revisions."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from shared import zone_copy
from shared.events.catalog import (
    ActivityRecorded,
    ComplianceEvaluated,
    EvaluationSubmit,
    ImprovementRecorded,
    IncidentReported,
    PermitIssued,
    PermitSlaBreached,
    ProblemEvent,
    ProcedureInspected,
    ProjectMilestoneReached,
)
from shared.periods import month_of, period_bounds, periods_closed_between, quarter_of
from shared.pipeline import HandlerContext, Handlers

from . import domain, store

handlers = Handlers()


def _weights(ctx: HandlerContext) -> domain.Weights:
    return ctx.settings.weights() if ctx.settings is not None else domain.Weights()


class Ledger:
    """Facts, ratings and published results for one handled event, with what this event
    staged visible to the computations it triggers."""

    def __init__(self, ctx: HandlerContext) -> None:
        self.ctx = ctx
        self.facts: dict[str, dict[str, Any]] = {}
        self.ratings: dict[str, dict[str, Any]] = {}
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
            self.touched |= {(fact["zone_id"], fact["month"]), (fact["zone_id"], fact["quarter"])}

    async def compute(self, zone_id: str, period: str) -> dict[str, Any]:
        field = "quarter" if "Q" in period else "month"
        facts = {f["_id"]: f for f in await store.facts(self.ctx.db, zone_id, period)}
        facts.update({k: f for k, f in self.facts.items() if f["zone_id"] == zone_id and f[field] == period})
        ratings = {r["_id"]: r for r in await store.ratings(self.ctx.db, zone_id, period)}
        ratings.update(
            {k: r for k, r in self.ratings.items() if r["zone_id"] == zone_id and r["period"] == period}
        )
        return domain.assess(
            list(facts.values()), {r["role"]: r["score"] for r in ratings.values()}, _weights(self.ctx)
        )

    async def publish(self, zone_id: str, period: str) -> bool:
        """Publish the zone's result for a closed period if it is new or changed: a new revision."""
        result = await self.compute(zone_id, period)
        kept = await self.ctx.get(store.ASSESSMENTS, store.key(zone_id, period))
        revisions = list(kept["revisions"]) if kept else []
        if revisions and _same(revisions[-1]["result"], result):
            return False
        revision = len(revisions) + 1
        revisions.append(
            {"revision": revision, "at": self.ctx.moment, "cause": self.ctx.event.type, "result": result}
        )
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

    async def publish_ranking(self, period: str) -> None:
        docs = {
            d["_id"]: d for d in await self.ctx.db[store.ASSESSMENTS].find({"period": period}).to_list(None)
        }
        # Results this event just staged replace the stored ones.
        for w in self.ctx.writes:
            if w["op"] == "put" and w["c"] == store.ASSESSMENTS and w["doc"]["period"] == period:
                docs[w["doc"]["_id"]] = w["doc"]
        if not docs:
            return  # no zone was assessed for the period: nothing to rank
        ranking = domain.rank({d["zone_id"]: d["result"]["score"] for d in docs.values()})
        kept = await self.ctx.get(store.RANKINGS, period)
        if kept is not None and kept["ranking"] == ranking:
            return
        revision = (kept["revision"] + 1) if kept else 1
        self.ctx.put(
            store.RANKINGS, {"_id": period, "revision": revision, "ranking": ranking, "at": self.ctx.moment}
        )
        self.ctx.emit(
            "assessment.ranking-published",
            {"period": period, "revision": revision, "ranking": ranking},
            key=period,
        )

    async def revise(self) -> None:
        """Facts or ratings for periods already closed: new revisions, never silent changes."""
        periods: set[str] = set()
        for zone_id, period in sorted(self.touched):
            if await self.ctx.get(store.CLOSED, period) is not None and await self.publish(zone_id, period):
                periods.add(period)
        for period in sorted(periods):
            await self.publish_ranking(period)


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (
        a["score"] == b["score"] and a["indicators"] == b["indicators"] and a["evaluation"] == b["evaluation"]
    )


# --------------------------------------------------------------------------- zones


async def on_zone_changed(ctx: HandlerContext, previous: dict[str, Any] | None, zone: dict[str, Any]) -> None:
    """Facts kept for projects with no zone count once a zone covers them."""
    ledger = Ledger(ctx)
    waiting = (
        await ctx.db[store.FACTS]
        .find({"zone_id": None, "project_id": {"$in": zone["project_ids"]}})
        .to_list(None)
    )
    for fact in waiting:
        ledger.put_fact({**fact, "zone_id": zone["zone_id"]})
    await ledger.revise()


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
    await ledger.revise()


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
    await ledger.revise()


@handlers.on("problem.resolved")
async def on_problem_resolved(ctx: HandlerContext, data: ProblemEvent) -> None:
    ledger = Ledger(ctx)
    await ledger.record(
        f"problem:{data.problem_id}", "problem_resolved", data.resolved_at or ctx.moment, data.zone_id, None
    )
    await ledger.revise()


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
    await ledger.revise()


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
    await ledger.revise()


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
    await ledger.revise()


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
    await ledger.revise()


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
    await ledger.revise()


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
    await ledger.revise()


# --------------------------------------------------------------------------- "2+1"


@handlers.on("evaluation.submit")
async def on_evaluation(ctx: HandlerContext, data: EvaluationSubmit) -> None:
    zone = await ctx.get(zone_copy.ZONES, data.zone_id)
    rating_id = f"{store.key(data.zone_id, data.period)}|{data.evaluator_role}"
    reasons = domain.evaluation_refusals(
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
    ledger.ratings[rating_id] = rating
    ctx.put(store.RATINGS, rating)
    ledger.touched.add((data.zone_id, data.period))
    await ledger.revise()


# --------------------------------------------------------------------------- the clock


def _active_in(zone: dict[str, Any], period: str, tz: Any) -> bool:
    """Assessed for a period: a zone that has been active (not only proposed) and existed before its end."""
    end = period_bounds(period, tz)[1]
    return zone["status"] != "proposed" and datetime.fromisoformat(zone["established_at"]) < end


@handlers.on_tick
async def on_tick(ctx: HandlerContext, previous: datetime, now: datetime) -> None:
    grace = timedelta(hours=ctx.settings.close_grace_hours if ctx.settings is not None else 36)
    for period in periods_closed_between(previous, now, ctx.tz, grace, quarters=True):
        if await ctx.get(store.CLOSED, period) is not None:
            continue
        ctx.put(store.CLOSED, {"_id": period, "at": now})
        ledger = Ledger(ctx)
        for zone in await store.zones(ctx.db):
            if _active_in(zone, period, ctx.tz):
                await ledger.publish(zone["_id"], period)
        await ledger.publish_ranking(period)
