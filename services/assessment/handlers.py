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
    Cadence,
    ComplianceEvaluated,
    EvaluationSubmit,
    ImprovementRecorded,
    IncidentReclassified,
    IncidentReported,
    InspectionCorrected,
    OrganisationalLifeEvaluated,
    PermitIssued,
    PermitSlaBreached,
    ProblemEvent,
    ProcedureInspected,
    ProjectMilestoneReached,
    ProjectRegistered,
    RevisionReason,
    ZonePeriodWork,
)
from shared.periods import period_bounds, periods_closed_between, quarter_of
from shared.pipeline import HandlerContext, Handlers

from . import corrections, domain, revisions, store

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

    def periods(self, d: date | datetime) -> tuple[str, str, str]:
        return corrections.periods_of(d, self.ctx.tz)

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
        month, quarter, year = self.periods(when)
        fact = {
            "_id": fact_id,
            "kind": kind,
            "zone_id": zone_id,
            "project_id": project_id,
            "month": month,
            "quarter": quarter,
            "year": year,
            **figures,
        }
        self.put_fact(fact)

    def put_fact(self, fact: dict[str, Any]) -> None:
        self.facts[fact["_id"]] = fact
        self.ctx.put(store.FACTS, fact)
        if fact["zone_id"] is not None:
            self.touch(fact["zone_id"], fact)

    def touch(self, zone_id: str, fact: dict[str, Any]) -> None:
        """The month and quarter of a fact (a yearly rule has neither: its year is rolled up)."""
        self.touched |= {(zone_id, p) for p in (fact.get("month"), fact.get("quarter")) if p}

    async def compute(self, zone_id: str, period: str) -> revisions.PeriodAssessment:
        """The zone's period from its facts as corrected since (``no_data`` when none scores)."""
        zone = await self.ctx.get(zone_copy.ZONES, zone_id)
        projects = list((zone or {}).get("project_ids", []))
        facts = list(
            {f["_id"]: f for f in await store.facts(self.ctx.db, zone_id, period, projects)}.values()
        )
        correctable = [f["_id"] for f in facts if f["kind"] in corrections.CORRECTABLE]
        facts = corrections.effective_facts(facts, await store.corrections_of(self.ctx.db, correctable))
        ratings = {r["_id"]: r for r in await store.ratings(self.ctx.db, zone_id, period)}
        return revisions.assess_period(
            facts, {r["role"]: r["score"] for r in ratings.values()}, _weights(self.ctx)
        )

    async def publish(
        self, zone_id: str, period: str, cause: str, reason: RevisionReason, caused_by: str | None = None
    ) -> bool:
        """Publish the zone's result for a closed period if it is new or changed: a new revision
        (``assessment.computed``, or ``assessment.no-data``), with its reason."""
        assessment = await self.compute(zone_id, period)
        kept = await self.ctx.get(store.ASSESSMENTS, store.key(zone_id, period))
        previous = revisions.latest_of(kept) if kept else None
        rev = revisions.next_revision(previous, zone_id, period, assessment, reason, caused_by)
        if rev is None:
            return False
        result = revisions.result_doc(assessment)
        entry = {
            "revision": rev.revision,
            "at": self.ctx.moment,
            "cause": cause,
            "reason": reason.value,
            "caused_by": caused_by,
            "previous_score": rev.previous_score,
            "previous_grade": rev.previous_grade,
            "result": result,
        }
        doc = {
            "_id": store.key(zone_id, period),
            "zone_id": zone_id,
            "period": period,
            "revision": rev.revision,
            "status": result["status"],
            "result": result,
            "revisions": [*(kept["revisions"] if kept else []), entry],
        }
        self.ctx.put(store.ASSESSMENTS, doc)
        self.ctx.emit(rev.event_type, rev.payload(), key=zone_id)
        return True

    def revise(self, caused_by: str | None = None) -> None:
        """Facts or ratings for periods closed (or about to be): one revision check per
        (zone, period), on the zone's partition of the work topic, naming what caused it."""
        grace = _grace(self.ctx)
        for zone_id, period in sorted(self.touched):
            due = period_bounds(period, self.ctx.tz)[1] + grace
            if self.ctx.moment + REVISE_MARGIN >= due:
                work = {
                    "zone_id": zone_id,
                    "period": period,
                    "cause": self.ctx.event.type,
                    "caused_by": caused_by,
                }
                self.ctx.emit("assessment.revise-period", work, key=zone_id)


# --------------------------------------------------------------------------- zones


async def on_zone_changed(ctx: HandlerContext, previous: dict[str, Any] | None, zone: dict[str, Any]) -> None:
    """Facts kept for projects with no zone count for the zone that lists the project (they
    are joined when a result is computed, never rewritten): closed periods get a revision.
    Every floating member the zone ever had is kept (the year-end report counts them all,
    not only those on the roster now)."""
    _keep_floating(ctx, previous, zone)
    added = set(zone["project_ids"]) - set((previous or {}).get("project_ids", []))
    if not added:
        return
    ledger = Ledger(ctx)
    for fact in await store.waiting_facts(ctx.db, sorted(added)):
        ledger.touch(zone["zone_id"], fact)
    ledger.revise()


zone_copy.register(handlers, on_change=on_zone_changed)


def _keep_floating(ctx: HandlerContext, previous: dict[str, Any] | None, zone: dict[str, Any]) -> None:
    """One document per floating member the zone ever had, written when the member is new to
    the zone or their away/transfer dates changed (no read: the previous snapshot says)."""
    before = {m["member_id"]: m for m in (previous or {}).get("members", [])}
    keys = ("away_since", "joined_on", "transferred_on")
    for m in zone.get("members", []):
        if not m.get("away_since"):
            continue
        old = before.get(m["member_id"])
        if old is not None and all(old.get(k) == m.get(k) for k in keys):
            continue
        doc = {
            "_id": f"{zone['zone_id']}|{m['member_id']}",
            "zone_id": zone["zone_id"],
            "member_id": m["member_id"],
        }
        ctx.put(store.FLOATING, {**doc, **{k: m.get(k) for k in keys}})


@handlers.on("project.registered")
async def on_project_registered(ctx: HandlerContext, data: ProjectRegistered) -> None:
    """Key projects, for the year-end report's coverage (one document per project)."""
    doc = {"_id": data.project_id, "key_project": data.key_project, "region": data.region}
    if await ctx.get(store.PROJECTS, data.project_id) != doc:
        ctx.put(store.PROJECTS, doc)


# --------------------------------------------------------------------------- facts


@handlers.on("activity.compliance-evaluated")
async def on_compliance(ctx: HandlerContext, data: ComplianceEvaluated) -> None:
    month_start = date.fromisoformat(f"{data.period}-01")
    fact_id = f"compliance:{data.zone_id}:{data.period}:{data.rule}"
    await _keep_rule(ctx, fact_id, data.zone_id, data.period, quarter_of(month_start), data)


@handlers.on("activity.organisational-life-evaluated")
async def on_org_life(ctx: HandlerContext, data: OrganisationalLifeEvaluated) -> None:
    """三会一课 and organisational life count in party building like the six systems: a
    monthly rule in its month (and quarter), a quarterly one in its quarter. A yearly rule
    has no assessment period of its own (a year is rolled up from its months)."""
    fact_id = f"orglife:{data.zone_id}:{data.period}:{data.rule}"
    if data.cadence == Cadence.YEARLY:  # kept for the year's cadence, in no scored period
        await _keep_rule(ctx, fact_id, data.zone_id, None, None, data, year=data.period)
        return
    month = data.period if data.cadence == Cadence.MONTHLY else None
    quarter = quarter_of(date.fromisoformat(f"{data.period}-01")) if month else data.period
    await _keep_rule(ctx, fact_id, data.zone_id, month, quarter, data)


async def _keep_rule(
    ctx: HandlerContext,
    fact_id: str,
    zone_id: str,
    month: str | None,
    quarter: str | None,
    data: ComplianceEvaluated | OrganisationalLifeEvaluated,
    year: str | None = None,
) -> None:
    """A cadence rule's evaluation for a period, one fact replaced only when its outcome changes."""
    ledger = Ledger(ctx)
    existing = await ctx.get(store.FACTS, fact_id)
    fact = {
        "_id": fact_id,
        "kind": "compliance",
        "zone_id": zone_id,
        "project_id": None,
        "month": month,
        "quarter": quarter,
        "year": year or (quarter or "")[:4],
        "rule": data.rule,
        "met": data.met,
        "required": data.required,
        "actual": data.actual,
    }
    if existing is None or existing["met"] != data.met:
        ledger.put_fact(fact)
    ledger.revise(caused_by=fact_id)


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


# --------------------------------------------------------------------------- corrections


@handlers.on("safety.incident-reclassified")
async def on_incident_reclassified(ctx: HandlerContext, data: IncidentReclassified) -> None:
    """An incident reclassified (minor → fatal): the month and quarter it happened in get a
    new revision, with the reason."""
    await _keep_correction(
        ctx,
        {
            "_id": f"reclassified:{data.incident_id}:{data.reclassified_at.isoformat()}",
            "kind": "incident_correction",
            "corrects": f"incident:{data.incident_id}",
            "project_id": data.project_id,
            "severity": data.severity,
            "incident_kind": data.kind,
            "reason": data.reason,
            "at": data.reclassified_at,
        },
    )


@handlers.on("quality.inspection-corrected")
async def on_inspection_corrected(ctx: HandlerContext, data: InspectionCorrected) -> None:
    """An inspection's result corrected: the period of the inspection gets a new revision."""
    await _keep_correction(
        ctx,
        {
            "_id": f"corrected:{data.inspection_id}:{data.corrected_at.isoformat()}",
            "kind": "inspection_correction",
            "corrects": f"quality:{data.inspection_id}",
            "project_id": data.project_id,
            "result": data.result,
            "reason": data.reason,
            "at": data.corrected_at,
        },
    )


async def _keep_correction(ctx: HandlerContext, correction: dict[str, Any]) -> None:
    """A correction is a fact of its own, kept once; the fact it corrects is never rewritten
    (``corrections.effective_facts`` applies it whenever a period is computed). Before the
    fact itself is heard of it waits: the fact's arrival revises its period then."""
    if await ctx.get(store.FACTS, correction["_id"]) is not None:
        return  # the same correction again
    ctx.put(store.FACTS, correction)
    fact = await ctx.get(store.FACTS, correction["corrects"])
    if fact is None:
        return
    zone_id = fact["zone_id"]
    if zone_id is None and fact.get("project_id"):
        zone = await zone_copy.zone_for_project(ctx, fact["project_id"])
        zone_id = zone["zone_id"] if zone else None
    if zone_id is None:
        return  # counted for the zone that covers the project, when one does
    ledger = Ledger(ctx)
    ledger.touch(zone_id, fact)
    ledger.revise(caused_by=correction["_id"])


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
        improvement_id=data.improvement_id,
        title=data.title,
        method_before=data.method_before,
        method_after=data.method_after,
        cost_before_cny=data.cost_before_cny,
        cost_after_cny=data.cost_after_cny,
        days_before=data.days_before,
        days_after=data.days_after,
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
    ledger.revise(caused_by=rating_id)  # a late one revises its closed period (late_evaluation)


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
    reason = RevisionReason.PERIOD_CLOSED
    await Ledger(ctx).publish(data.zone_id, data.period, data.cause or ctx.event.type, reason)
    work = {"period": data.period, "assessed": data.assessed, "reason": reason}
    ctx.emit("assessment.rank-period", work, key=data.period)


@handlers.on("assessment.revise-period", key=lambda event, data: data.zone_id)
async def on_revise_period(ctx: HandlerContext, data: ZonePeriodWork) -> None:
    if await ctx.get(store.ASSESSMENTS, store.key(data.zone_id, data.period)) is None:
        return  # not closed (yet): the close will count it
    cause = data.cause or ctx.event.type
    reason = corrections.revision_reason(cause, period_closing=False)
    if await Ledger(ctx).publish(data.zone_id, data.period, cause, reason, data.caused_by):
        work = {"period": data.period, "assessed": 0, "reason": reason}
        ctx.emit("assessment.rank-period", work, key=data.period)


def _ranking_reason(previous: revisions.RankingRevision | None, docs: list[dict[str, Any]]) -> RevisionReason:
    """The first ranking is the close's; a later one changed because of the zone revision made
    last (whichever rank-period message of the period happens to see it first)."""
    if previous is None or not docs:
        return RevisionReason.PERIOD_CLOSED
    last = max(docs, key=lambda d: d["revisions"][-1]["at"])["revisions"][-1]
    return RevisionReason(last.get("reason") or RevisionReason.LATE_FACT)


@handlers.on("assessment.rank-period", key=lambda event, data: data.period)
async def on_rank_period(ctx: HandlerContext, data: AssessmentRankPeriod) -> None:
    """The period's ranking, once every zone of its close has a result; a new revision, with
    the reason, whenever a revised result changes it. Zones without data are listed beside
    it, never ranked; comparison zones (the old sequential sign-off) are closed with the
    others, so they count in ``assessed``, but are in neither list."""
    docs = await store.assessments_in(ctx.db, [data.period])
    kept = await ctx.get(store.RANKINGS, data.period)
    if (data.assessed and len(docs) < data.assessed) or (not data.assessed and kept is None):
        return  # not every zone is in yet: the last of them asks again
    previous = revisions.ranking_of_doc(kept) if kept else None
    reason = _ranking_reason(previous, docs)
    comparison = domain.comparison_ids(await store.zone_settings(ctx.db))
    ranking = revisions.next_ranking(
        previous, data.period, map(revisions.latest_of, docs), reason, comparison
    )
    if ranking is None:
        return
    payload = ranking.payload()
    ctx.put(
        store.RANKINGS,
        {
            "_id": data.period,
            "revision": ranking.revision,
            "ranking": payload["ranking"],
            "no_data": payload["no_data"],
            "reason": payload["reason"],
            "at": ctx.moment,
        },
    )
    ctx.emit("assessment.ranking-published", payload, key=data.period)
