"""The month's report, read back from the services' HTTP APIs only — never from the
simulator's memory — and checked against the simulator's ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from .plan import Plan
from .player import REASON_WORDS, Observed, Stats, hm
from .scoring import compare, expected, facts_from_plan
from .timing import Timing, route_figures, timings, zone_times

DRAWING_REVIEW_OLD_DAYS = 10  # SPEC §1: drawing review took 10 days on the old route


@dataclass
class Report:
    data: dict[str, Any] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


async def _get(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    r = await client.get(path, params=params or None)
    r.raise_for_status()
    return r.json()


async def build_report(
    clients: dict[str, httpx.AsyncClient],
    plan: Plan,
    zone_ids: dict[str, str],
    stats: Stats | None,
    observed: Observed | None = None,
) -> Report:
    """Every section read from the services' HTTP APIs, each checked against the ground truth;
    with ``observed`` (what the player saw and did) also the widened checks of issue 19: cycle
    times, SLA breaches and expiries, scores recomputed by the simulator, and its refusals."""
    rep = Report()
    twin_ids = {zone_ids[k] for k in plan.truth.twin_zones if k in zone_ids}
    await _zones_section(rep, clients["zone-registry"], plan, zone_ids, twin_ids)
    await _cadence_section(rep, clients["activity-log"], plan, zone_ids)
    ts = timings(plan, observed.first_issued, observed.ended_unissued) if observed else None
    await _permits_section(rep, clients["permit-fasttrack"], plan, ts, observed)
    await _assessment_section(rep, clients["assessment"], plan, zone_ids, twin_ids)
    if ts is not None and observed is not None:
        await _scores_section(rep, clients["assessment"], plan, zone_ids, ts, observed.run_end)
        rep.mismatches += observed.refusals
    await _benefit_section(rep, clients["assessment"], plan)
    if stats is not None:
        _run_section(rep, stats)
    rep.data["period"] = plan.period
    return rep


async def _zones_section(
    rep: Report, zr: httpx.AsyncClient, plan: Plan, zone_ids: dict[str, str], twin_ids: set[str]
) -> None:
    """Coverage and zones; the old route's twin zones counted apart (they are not the oilfield's)."""
    truth, mis = plan.truth, rep.mismatches
    coverage = await _get(zr, "/coverage")
    zstats = await _get(zr, "/stats")  # the collaboration zones; the comparison zones apart
    twins = [z for z in await _get(zr, "/zones") if z["zone_id"] in twin_ids]
    rep.data["coverage"] = coverage
    rep.data["zones"] = zstats
    rep.data["twin_zones"] = {
        "zones": len(twins),
        "signing": sorted({z["settings"]["signing"] for z in twins}),
        "members": sum(z["member_count"] for z in twins),
    }
    if len(twins) != len(truth.twin_zones) or any(z["settings"]["signing"] != "sequential" for z in twins):
        mis.append(f"twin zones: {len(twins)} read back, {len(truth.twin_zones)} established sequential")
    if (zstats["comparison_zones"], zstats["comparison_members"]) != (
        len(twins),
        sum(z["member_count"] for z in twins if z["status"] != "closed"),
    ):
        mis.append(
            f"twin zones: /stats counts {zstats['comparison_zones']} comparison zones "
            f"({zstats['comparison_members']} members) apart, {len(twins)} read back"
        )
    if coverage["key_projects"] != len(truth.key_projects):
        mis.append(
            f"coverage: {coverage['key_projects']} key projects reported, {len(truth.key_projects)} registered"
        )
    if coverage["covered"] != len(truth.key_projects) or coverage["uncovered"]:
        mis.append(
            f"coverage: {coverage['covered']}/{coverage['key_projects']} covered, uncovered {coverage['uncovered']}; every key project should be"
        )
    by_mode = {k: v for k, v in zstats["zones_by_mode"].items() if v}
    if by_mode != truth.zones_by_mode:
        mis.append(f"zones by mode: service says {by_mode}, simulator formed {truth.zones_by_mode}")
    if zstats["members"] != truth.members or zstats["floating_members"] != truth.floating_members:
        mis.append(
            f"members: service says {zstats['members']} ({zstats['floating_members']} floating), "
            f"simulator enrolled {truth.members} ({truth.floating_members} floating)"
        )
    unknown = [k for k in truth.unmet_rules if k not in zone_ids]
    if unknown:
        mis.append(f"zones never announced by zone-registry: {unknown}")


async def _cadence_section(rep: Report, al: httpx.AsyncClient, plan: Plan, zone_ids: dict[str, str]) -> None:
    truth, period, mis = plan.truth, plan.period, rep.mismatches
    compliance = await _get(al, "/compliance", period=period)
    per_rule: dict[str, list[int]] = {}
    by_zone = {z["zone_id"]: z for z in compliance["zones"]}
    for zone_key, unmet in truth.unmet_rules.items():
        zone_id = zone_ids.get(zone_key)
        if zone_id is None:
            continue
        z = by_zone.get(zone_id)
        if z is None:
            mis.append(f"compliance: no evaluation of zone {zone_id} for {period}")
            continue
        if not z.get("closed", True):
            mis.append(f"compliance: {period} of zone {zone_id} is not closed")
        for rule in z["rules"]:
            per_rule.setdefault(rule["rule"], [0, 0])
            per_rule[rule["rule"]][0] += 1 if rule["met"] else 0
            per_rule[rule["rule"]][1] += 1
            kept = rule["rule"] not in unmet
            if rule["met"] != kept:
                mis.append(
                    f"compliance: zone {zone_id} {rule['rule']} {'met' if rule['met'] else 'not met'} "
                    f"({rule['actual']}/{rule['required']}), simulator {'kept' if kept else 'missed'} it"
                )
    rep.data["compliance"] = {r: {"met": m, "zones": n} for r, (m, n) in sorted(per_rule.items())}
    astats = await _get(al, "/stats")
    rep.data["activities"] = astats
    if (
        astats["problems_raised"] != truth.problems_raised
        or astats["problems_resolved"] != truth.problems_resolved
    ):
        mis.append(
            f"problems: service says {astats['problems_raised']} raised / {astats['problems_resolved']} resolved, "
            f"simulator {truth.problems_raised} / {truth.problems_resolved}"
        )


async def _permits_section(
    rep: Report, pf: httpx.AsyncClient, plan: Plan, ts: list[Timing] | None, observed: Observed | None
) -> None:
    """Permits of both routes, each checked permit by permit; the two sign-off columns measured."""
    truth, mis = plan.truth, rep.mismatches
    pstats = await _get(pf, "/stats")
    rep.data["permits"] = pstats["work_permits"]
    rep.data["drawings"] = pstats["drawing_reviews"]
    rep.data["all_permits"] = pstats["overall"]
    rep.data["by_signing"] = pstats.get("by_signing", {})
    rep.data["provenance"] = {
        "zones_signoff": "measured: the zones' permits, request→issue as the permit-fasttrack timed them",
        "sequential_signoff": "measured: a twin of every work plan played through zones signing sequentially",
        "permits": "measured (both routes together; by_signing splits them)",
        "drawings": "measured",
    }
    if ts is not None and observed is not None:
        mis += route_mismatches(rep.data["by_signing"], ts, observed.run_end)
    issued = observed.first_issued if observed else {}
    for permit_id, reasons in sorted(truth.blocked_reasons.items()):
        r = await pf.get(f"/permits/{permit_id}")
        if r.status_code == 404:
            mis.append(f"permit {permit_id}: never requested")
            continue
        r.raise_for_status()
        p = r.json()
        mis += permit_mismatches(permit_id, reasons, p, truth)
        if observed is not None:
            mis += life_mismatches(permit_id, p, plan, issued.get(permit_id))


def route_mismatches(by_signing: dict[str, Any], ts: list[Timing], run_end: datetime) -> list[str]:
    """Each route's count, issued, median and p90 request→issue and SLA breaches, as the
    service reports them against the simulator's own clock."""
    out = []
    for mode, sequential in (("parallel", False), ("sequential", True)):
        mine = route_figures(ts, sequential, run_end)
        theirs = by_signing.get(mode)
        if theirs is None:
            if mine.permits:
                out.append(
                    f"signing {mode}: no figures reported, the simulator asked for {mine.permits} permits"
                )
            continue
        pairs = [
            ("permits", theirs["count"], mine.permits, 0),
            ("median request→issue (min)", theirs["median_cycle_minutes"], mine.median_minutes, 0.11),
            ("p90 request→issue (min)", theirs["p90_cycle_minutes"], mine.p90_minutes, 0.11),
            ("SLA breaches", theirs["sla_breaches"], mine.breaches, 0),
        ]
        for what, got, want, tol in pairs:
            if (got is None) != (want is None) or (got is not None and abs(got - want) > tol):
                out.append(f"signing {mode}: {what} {got}, simulator {want}")
    return out


def life_mismatches(pid: str, p: dict[str, Any], plan: Plan, issued: datetime | None) -> list[str]:
    """A permit's first issue and its expiry, against what the simulator saw and planned."""
    out = []
    work = plan.truth.works.get(pid.removeprefix("WP-").rsplit("-", 1)[0])
    if work is not None and (issued is None) != (p.get("issued_at") is None):
        out.append(f"permit {pid}: issued_at {p.get('issued_at')}, the simulator saw {issued}")
    elif issued is not None and p.get("issued_at") is not None:
        got = datetime.fromisoformat(p["issued_at"]) - datetime.fromisoformat(p["requested_at"])
        want = issued - work.planned_at if work is not None else got
        if abs((got - want).total_seconds()) > 60:
            out.append(f"permit {pid}: request→issue {got}, the simulator asked and saw it issued in {want}")
    if work is not None and issued is not None:
        left_open = work.close_at is None and pid not in plan.truth.cancelled
        if left_open != (p["status"] == "expired"):
            out.append(
                f"permit {pid}: {p['status']}, the simulator {'left it open to expire' if left_open else 'closed it'}"
            )
    return out


async def _assessment_section(
    rep: Report, asm: httpx.AsyncClient, plan: Plan, zone_ids: dict[str, str], twin_ids: set[str]
) -> None:
    """The ranking of the oilfield's zones and the figures summed over them; the twins are the
    assessment's comparison zones (signing ``sequential``), listed apart, never ranked."""
    truth, period, mis = plan.truth, plan.period, rep.mismatches
    ranking = await _get(asm, "/assessments", period=period)
    rep.data["twin_comparison"] = ranking.get("comparison", [])
    ranked_twins = [r["zone_id"] for r in ranking["ranking"] + ranking["no_data"] if r["zone_id"] in twin_ids]
    if ranked_twins:
        mis.append(f"ranking {period}: twin zones of the old route ranked beside the zones: {ranked_twins}")
    apart = {r["zone_id"] for r in rep.data["twin_comparison"]}
    if twin_ids - apart:
        mis.append(f"ranking {period}: twin zones not listed as comparisons: {sorted(twin_ids - apart)}")
    rep.data["ranking"] = ranking
    rank_of = {r["zone_id"]: r["rank"] for r in ranking["ranking"]}
    perfect = [zone_ids[k] for k in truth.perfect_zones if k in zone_ids]
    troubled = [zone_ids[k] for k in truth.troubled_zones if k in zone_ids]
    missing_rank = [z for z in perfect + troubled if z not in rank_of]
    if missing_rank:
        mis.append(f"ranking {period}: zones not ranked: {missing_rank}")
    else:
        for good in perfect:
            for bad in troubled:
                if rank_of[good] > rank_of[bad]:
                    mis.append(
                        f"ranking {period}: {bad} (missed something) ranks above {good} (perfect record)"
                    )
    figures: dict[str, float] = {}
    for r in ranking["ranking"]:
        for name, ind in (r.get("indicators") or {}).items():
            for k, v in (ind.get("figures") or {}).items():
                if isinstance(v, int | float) and not isinstance(v, bool):
                    figures[f"{name}.{k}"] = figures.get(f"{name}.{k}", 0) + v
    rep.data["figures"] = dict(figures)
    checks = [
        ("quality.inspected", truth.inspections, "inspected procedures"),
        ("quality.excellent", truth.excellent, "excellent procedures"),
        ("safety.minor", truth.incidents.get("minor", 0), "minor incidents"),
        ("safety.near_miss", truth.incidents.get("near_miss", 0), "near misses"),
        ("benefit.cost_saved_cny", truth.cost_saved_cny, "CNY saved"),
        ("benefit.days_saved", truth.days_saved, "days saved"),
    ]
    for key, expected_value, what in checks:
        if abs(figures.get(key, 0) - expected_value) > 1e-6:
            mis.append(
                f"assessment {period}: {what} {figures.get(key, 0)}, simulator produced {expected_value}"
            )


async def _scores_section(
    rep: Report,
    asm: httpx.AsyncClient,
    plan: Plan,
    zone_ids: dict[str, str],
    ts: list[Timing],
    run_end: datetime,
) -> None:
    """Every zone's score, grade, indicators and "2+1" parts recomputed by the simulator from its
    own facts with SPEC §3.4's formula (``scoring.py``) against what the assessment published."""
    period = plan.period
    published = {r["zone_id"]: r for r in rep.data["ranking"]["ranking"]}
    checked = 0
    for z in plan.world.zones:
        zone_id = zone_ids.get(z.key)
        if zone_id is None:
            continue
        facts = facts_from_plan(plan, z.key, period, times=zone_times(ts, z.key, period, run_end))
        rep.mismatches.extend(compare(zone_id, period, expected(facts), published.get(zone_id)))
        checked += 1
    rep.data["scores_recomputed"] = checked


async def _benefit_section(rep: Report, asm: httpx.AsyncClient, plan: Plan) -> None:
    """The benefit as the assessment's year-end report gives it, each figure with its provenance;
    the derived amounts checked against the improvements the simulator made."""
    year = plan.period[:4]
    r = await asm.get("/reports/year-end", params={"year": year})
    if r.status_code != 200:
        rep.mismatches.append(f"year-end {year}: {r.status_code} {r.text[:200]}")
        return
    section = next((s for s in r.json()["sections"] if s["name"] == "benefit"), None)
    if section is None:
        rep.mismatches.append(f"year-end {year}: no benefit section")
        return
    rep.data["benefit"] = section
    rep.data["provenance"]["benefit"] = {k: f["provenance"] for k, f in section["figures"].items()}
    for key, want in (("cost_saved", plan.truth.cost_saved_cny), ("days_saved", plan.truth.days_saved)):
        got = section["figures"].get(key, {}).get("value")
        if got is None or abs(got - want) > 0.01:
            rep.mismatches.append(
                f"year-end {year}: benefit {key} {got}, the simulator's improvements give {want}"
            )


def _run_section(rep: Report, stats: Stats) -> None:
    emitted = sum(v for k, v in stats.seen_by_type.items() if k != "dlq.recorded")
    by_group = stats.waited.by_group_s
    slowest = max(by_group.items(), key=lambda kv: kv[1]) if by_group else ("-", 0.0)
    rep.data["run"] = {
        "events_published": stats.published,
        "events_emitted_by_services": emitted,
        "wall_s": round(stats.wall_s, 1),
        "events_per_s": round((stats.published + emitted) / stats.wall_s, 1) if stats.wall_s else None,
        "slowest_service": slowest[0],
        "slowest_catch_up_s": round(slowest[1], 1),
        "catch_up_s": {k: round(v, 1) for k, v in by_group.items()},
        "dead_letters": stats.dlq,
        "steps": stats.steps,
        "waiting_s": round(stats.waited.total_s, 1),
        "sign_in_s": round(stats.sign_in_s, 1),
        "signed_in": stats.signed_in,
        "signed_in_ahead": stats.signed_in_ahead,
    }
    if stats.dlq:
        rep.mismatches.append(
            f"{stats.dlq} message(s) ended in pbz.dlq: the simulator publishes only valid events"
        )


def _history(p: dict[str, Any]) -> tuple[set[str], set[str], dict[str, set[str]]]:
    """(reasons ever blocked, event types, detail values by key of interest)."""
    seen: set[str] = set()
    types: set[str] = set()
    found: dict[str, set[str]] = {"cause": set(), "rule": set(), "change": set()}
    for h in p.get("history", []):
        types.add(str(h.get("type", "")))
        detail = h.get("detail") or {}
        if h.get("type") == "permit.blocked":
            seen.update(detail.get("reasons") or [])
            found["rule"].update(str(x.get("rule")) for x in detail.get("details") or [] if x.get("rule"))
        if h.get("type") == "permit.suspended":
            found["cause"].add(str(detail.get("cause")))
        if h.get("type") == "permit.updated":
            found["change"].add(str(detail.get("change")))
    return seen, types, found


def permit_mismatches(pid: str, expected: set[str], p: dict[str, Any], truth: Any) -> list[str]:
    """What the service says of one permit against what the simulator did to it."""
    seen, types, found = _history(p)
    out: list[str] = []
    if expected and not expected <= seen:
        out.append(
            f"permit {pid}: should have been blocked for {sorted(expected)}, was for {sorted(seen) or 'nothing'}"
        )
    if not expected and seen:
        out.append(f"permit {pid}: should never have been blocked, was for {sorted(seen)}")
    checks = [
        (
            pid in truth.rejected_permits,
            {"permit.rejected", "permit.resubmitted"} <= types,
            "rejected then resubmitted",
        ),
        (
            pid in truth.suspended_permits,
            truth.suspended_permits.get(pid) in found["cause"],
            f"suspended ({truth.suspended_permits.get(pid)})",
        ),
        (pid in truth.revised, "permit.revised" in types, "re-planned"),
        (pid in truth.cancelled, p["status"] == "cancelled", "cancelled"),
        (pid in truth.interrupted, "permit.work-resumed" in types, "interrupted and resumed"),
        (pid in truth.extended, "permit.extended" in types, "extended"),
        (
            pid in truth.extension_refused,
            "permit.command-rejected" in types,
            "refused an extension beyond its cap",
        ),
        (pid in truth.handovers, "handover_completed" in found["change"], "handed over at the shift change"),
        (
            pid in truth.completion_refused,
            "permit.completion-refused" in types and p["status"] == "closed",
            "refused completion, then closed",
        ),
        (
            pid in truth.conflicts,
            truth.conflicts.get(pid) in found["rule"],
            f"in conflict ({truth.conflicts.get(pid)})",
        ),
    ]
    out += [
        f"permit {pid}: should have been {what}, history says otherwise"
        for due, ok, what in checks
        if due and not ok
    ]
    if pid in truth.grades and p.get("grade") != truth.grades[pid]:
        out.append(f"permit {pid}: grade {p.get('grade')}, the standard gives {truth.grades[pid]}")
    if pid in truth.drawing_rounds and p.get("drawing_revision") != truth.drawing_rounds[pid]:
        out.append(
            f"drawing {pid}: {p.get('drawing_revision')} review rounds, the designer made {truth.drawing_rounds[pid]}"
        )
    if pid in truth.drawing_rounds and p["status"] != "issued":
        out.append(f"drawing {pid}: review not closed ({p['status']})")
    return out


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, round(0.9 * (len(s) - 1)))]


def render(rep: Report) -> str:
    d = rep.data
    cov, z, p = d["coverage"], d["zones"], d["permits"]
    tw = d.get("twin_zones") or {}
    lines = [
        f"══ Party-building collaboration zones — {d['period']} ══",
        f"Coverage     {cov['covered']}/{cov['key_projects']} key projects in an active zone ({cov['share'] * 100:.0f}%)"
        + (
            f"; uncovered: {', '.join(u['project_id'] for u in cov['uncovered'])}" if cov["uncovered"] else ""
        ),
        "Zones        "
        + ", ".join(f"{n} {m}" for m, n in z["zones_by_mode"].items())
        + f"; {z['units']} units, {z['members']} members, {z['floating_members']} floating members brought back"
        + (
            f" (and {tw['zones']} twin zones of the old route, {tw['members']} people, counted apart)"
            if tw
            else ""
        ),
        *_permit_lines(p, d),
        "Cadence      " + ", ".join(f"{r} {c['met']}/{c['zones']}" for r, c in d["compliance"].items()),
    ]
    a = d["activities"]
    f = d["figures"]
    med = a.get("median_hours_to_resolve")
    lines += [
        f"Problems     {a['problems_resolved']}/{a['problems_raised']} resolved"
        + (f", median {med:.1f} h to resolve" if med is not None else ""),
        f"Safety       {int(f.get('safety.minor', 0))} minor, {int(f.get('safety.major', 0))} major, {int(f.get('safety.fatal', 0))} fatal, "
        f"{int(f.get('safety.environmental', 0))} environmental, {int(f.get('safety.near_miss', 0))} near misses",
        f"Quality      {int(f.get('quality.excellent', 0))}/{int(f.get('quality.inspected', 0))} procedures excellent"
        f" ({_pct(f.get('quality.excellent', 0) / f['quality.inspected'] if f.get('quality.inspected') else None)})",
        _benefit_line(d, f),
    ]
    ranking = d["ranking"]["ranking"]
    if ranking:
        top = ", ".join(f"#{r['rank']} {r['zone_id']} {r['score']:.1f} {r['grade']}" for r in ranking[:3])
        bottom = ", ".join(f"#{r['rank']} {r['zone_id']} {r['score']:.1f} {r['grade']}" for r in ranking[-3:])
        lines += [f"Top          {top}", f"Bottom       {bottom}"]
    if "run" in d:
        r = d["run"]
        lines.append(
            f"Run          {r['events_published']} events published, {r['events_emitted_by_services']} emitted by the services, "
            f"{r['wall_s']} s wall, {r['events_per_s']} events/s end to end; slowest service {r['slowest_service']} "
            f"({r['slowest_catch_up_s']} s catching up)"
        )
        if "waiting_s" in r:
            lines.append(
                f"             of the wall time: {r['waiting_s']} s waiting for the services to catch up "
                f"({r['steps']} steps), {r['sign_in_s']} s at the provider ({r['signed_in']} people signing in when their "
                f"first action was due, tokens refreshed; {r['signed_in_ahead']} signed in beside the month)"
            )
    lines.append(
        "Check        "
        + (
            "all answers match the simulator's ground truth"
            if rep.ok
            else f"{len(rep.mismatches)} MISMATCH(ES):"
        )
    )
    lines += [f"  ✗ {m}" for m in rep.mismatches[:25]]
    if len(rep.mismatches) > 25:
        lines.append(f"  … and {len(rep.mismatches) - 25} more")
    return "\n".join(lines)


def _benefit_line(d: dict[str, Any], f: dict[str, Any]) -> str:
    b = d.get("benefit")
    if b is None:
        return (
            f"Benefit      CNY {f.get('benefit.cost_saved_cny', 0):,.0f} and {f.get('benefit.days_saved', 0):.0f} days saved"
            " (the month's figures, read back)"
        )
    cost, days = b["figures"]["cost_saved"], b["figures"]["days_saved"]
    return (
        f"Benefit      CNY {cost['value']:,.0f} ({cost['provenance']}) and {days['value']:.0f} days ({days['provenance']}) "
        f"saved in {d['period'][:4]} by {b['figures'].get('improvements', {}).get('value', 0):.0f} improvements"
        " — the year-end report's figures: derived = before − after of each method change"
    )


def _route(r: dict[str, Any] | None) -> str:
    if not r:
        return "-"
    return (
        f"median {_minutes(r.get('median_cycle_minutes'))}, p90 {_minutes(r.get('p90_cycle_minutes'))}, "
        f"{_pct(r.get('issued_within_sla_share'))} within SLA, {r.get('sla_breaches', 0)} breaches "
        f"({r['count']} permits, {r['by_status'].get('lapsed', 0)} lapsed)"
    )


def _permit_lines(p: dict[str, Any], d: dict[str, Any]) -> list[str]:
    """Work permits by status, class and grade, cycle by route, SLA, blocks, suspensions by cause,
    conflicts by rule and the permits' life; drawing reviews apart."""
    routes = d.get("by_signing") or {}
    return [
        "Permits      "
        + ", ".join(f"{n} {s}" for s, n in sorted(p["by_status"].items()))
        + f" ({p['count']} work permits, one per special work; both routes — see Cycle)",
        "Classes      "
        + ", ".join(
            f"{k} {v}" for k, v in sorted(p.get("by_class_grade", {}).items(), key=lambda kv: -kv[1])
        ),
        f"Cycle        zones (signed on site at once): request→issue {_route(routes.get('parallel'))}",
        f"             vs sequential sign-off (six offices in turn, office hours; played by a twin of every work plan"
        f" through the same services, measured): {_route(routes.get('sequential'))}",
        f"SLA          all routes: {_pct(p.get('issued_within_sla_share'))} issued within SLA; {p.get('sla_breaches', 0)} breaches ({p.get('open_sla_breaches', 0)} still open)",
        "Blocked for  "
        + (
            ", ".join(
                f"{REASON_WORDS.get(k, k)} ×{v}"
                for k, v in sorted(p.get("blocked_reasons", {}).items(), key=lambda kv: -kv[1])
            )
            or "nothing"
        ),
        "Suspended    "
        + (
            ", ".join(f"{REASON_WORDS.get(k, k)} ×{v}" for k, v in p.get("suspensions_by_cause", {}).items())
            or "never"
        ),
        "Conflicts    "
        + (", ".join(f"{k} ×{v}" for k, v in p.get("conflicts_by_rule", {}).items()) or "none"),
        f"Life         {p.get('revisions', 0)} re-plans ({p.get('approvals_voided', 0)} voided approvals), "
        f"{p.get('cancelled', 0)} cancelled, {p.get('resubmissions', 0)} resubmitted, {p.get('interruptions', 0)} interruptions, "
        f"{p.get('extensions', 0)} extensions, {p.get('handovers', 0)} shift handovers, "
        f"{p.get('completion_refusals', 0)} completions refused then accepted, {p.get('lapsed', 0)} lapsed",
        _drawings_line(d.get("drawings", {})),
    ]


def _drawings_line(dr: dict[str, Any]) -> str:
    rounds = ", ".join(
        f"{k} round{'s' if k != '1' else ''} ×{v}" for k, v in (dr.get("rounds") or {}).items()
    )
    days = dr.get("median_cycle_days")
    p90 = dr.get("p90_cycle_minutes")
    return (
        f"Drawings     {dr.get('count', 0)} reviews ({rounds}); {dr.get('comments', 0)} comments, "
        f"{dr.get('open_comments', 0)} open; review cycle median {'-' if days is None else f'{days:.1f}'} d, "
        f"p90 {'-' if p90 is None else f'{p90 / 1440:.1f}'} d — the seed: {DRAWING_REVIEW_OLD_DAYS} days → 2"
    )


def _minutes(v: float | None) -> str:
    return "-" if v is None else hm(v)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.0f}%"
