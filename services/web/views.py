"""What each page reads from the services (through :mod:`client`, with the person's token),
put together by the rules of :mod:`domain`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from . import domain
from .client import ACTIVITIES, ASSESSMENT, PERMITS, ZONES, NotFound, Refused, Services, at

PAGE = 500  # the services' largest page
RULES = ("theme_party_day", "joint_meeting", "monthly_analysis", "weekly_meeting", "daily_checkin")


class PermitDetails:
    """Permits' full records, kept by version: the dashboard asks again only for those that
    changed since it last looked (a permit's ``version`` grows with every change)."""

    def __init__(self, concurrency: int = 8) -> None:
        self._kept: dict[str, tuple[Any, dict[str, Any]]] = {}
        self._gate = asyncio.Semaphore(concurrency)

    async def of(
        self, services: Services, token: str, snapshots: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        async def one(s: dict[str, Any]) -> dict[str, Any]:
            mark = s.get("version", s)
            kept = self._kept.get(s["permit_id"])
            if kept is not None and kept[0] == mark:
                return kept[1]
            async with self._gate:
                detail: dict[str, Any] = await services.get(PERMITS, at("permits", s["permit_id"]), token)
            self._kept[s["permit_id"]] = (mark, detail)
            return detail

        return list(await asyncio.gather(*(one(s) for s in snapshots)))


async def all_pages(services: Services, service: str, path: str, token: str, **params: Any) -> list[Any]:
    items: list[Any] = []
    page = 1
    while True:
        body = await services.get(service, path, token, page=page, page_size=PAGE, **params)
        items += body["items"]
        if len(items) >= body["total"] or not body["items"]:
            return items
        page += 1


async def dashboard(
    services: Services, token: str, tz: ZoneInfo, details: PermitDetails, period: str | None = None
) -> domain.Dashboard:
    """Every figure of the dashboard: cadence and ranking of ``period`` (the running month by
    the services' clock when None); coverage, members and permits as they stand."""
    get = services.get
    zones, coverage, projects, zstats, compliance, ranking, pstats, permits = await asyncio.gather(
        get(ZONES, "/zones", token),
        get(ZONES, "/coverage", token),
        get(ZONES, "/projects", token, key_project="true"),
        get(ZONES, "/stats", token),
        get(ACTIVITIES, "/compliance", token, period=period),
        get(ASSESSMENT, "/assessments", token, period=period),
        get(PERMITS, "/stats", token),
        all_pages(services, PERMITS, "/permits", token),
    )
    full = await details.of(services, token, permits)
    work = [p for p in full if p["kind"] == "work_permit"]
    drawings = [p for p in full if p["kind"] == "drawing_review"]
    names = {z["zone_id"]: z["name"] for z in zones}
    apart = domain.comparison(zones)
    counts = domain.zone_counts(zstats)
    ranking = domain.without_comparison(ranking, apart.zone_ids)
    incidents, quality, benefit = domain.period_sums(ranking)
    blocks = domain.fast_track_blocks(pstats)
    return domain.Dashboard(
        period=ranking["period"],
        months=domain.neighbour_months(ranking["period"]) if domain.PERIOD.match(ranking["period"]) else None,
        zone_names=names,
        coverage=domain.coverage_view(coverage, projects, zones),
        zones_by_mode=counts.zones_by_mode,
        members=counts.members,
        floating_members=counts.floating_members,
        comparison=apart,
        heatmap=domain.heatmap(compliance, names, RULES, apart.zone_ids),
        funnel=domain.funnel(work),
        cycle=domain.distribution(work, tz),
        blocked_reasons=blocks,
        drawing_days=domain.drawing_days(drawings),
        incidents=incidents,
        quality=quality,
        benefit=benefit,
        ranking=domain.ranked(ranking, names),
        updated_at=datetime.now(UTC),
    )


async def zone_page(
    services: Services, token: str, zone_id: str, tz: ZoneInfo, period: str | None = None
) -> dict[str, Any]:
    """The zone's roster (as much as this person may see), a month's activities and cadence
    (the running month by the services' clock unless ``period`` names one), problems and
    assessment. The roster read comes first: a refusal there stops the page."""
    get = services.get
    zone = await get(ZONES, at("zones", zone_id), token)
    compliance, problems, history, live = await asyncio.gather(
        get(ACTIVITIES, at("zones", zone_id, "compliance"), token, period=period),
        get(ACTIVITIES, at("zones", zone_id, "problems"), token),
        get(ASSESSMENT, at("zones", zone_id, "assessments"), token),
        get(ASSESSMENT, at("zones", zone_id, "live"), token, period=period),
    )
    period = compliance["period"]
    first, last = domain.month_bounds(period)
    activities = await all_pages(
        services, ACTIVITIES, at("zones", zone_id, "activities"), token, **{"from": first, "to": last}
    )
    return {
        "zone": zone,
        "comparison": domain.is_comparison(zone),
        "units": domain.unit_names([zone]),
        "compliance": compliance,
        "period": period,
        "months": domain.neighbour_months(period),
        "calendar": domain.month_calendar(period, activities, tz),
        "activities": activities,
        "problems": problems,
        "history": history["revisions"],
        "live": live,
    }


async def inbox(services: Services, token: str, member_id: str) -> dict[str, Any]:
    """What waits for this person (signatures, completions to accept), the nearest deadline
    first, with the SLA left: the permit service's own inbox of this member."""
    body: dict[str, Any] = await services.get(PERMITS, at("members", member_id, "inbox"), token)
    return body


async def permit_card(services: Services, token: str, permit_id: str, member_id: str) -> dict[str, Any]:
    """The signer's card: the permit's whole record, the preconditions met or not and why, who
    is who, and what this person may do on it now."""
    permit, mine = await asyncio.gather(
        services.get(PERMITS, at("permits", permit_id), token), inbox(services, token, member_id)
    )
    names = await names_in(services, token, permit.get("zone_id"))
    return {
        "permit": permit,
        "names": names,
        "my_roles": domain.my_roles(permit, member_id, mine["items"]),
        "accepting": domain.accepting_completion(permit, mine["items"]),
        "preconditions": domain.preconditions(permit),
        "block_details": domain.latest_block_details(permit),
        "steps": domain.site_steps(permit, member_id, names),
        "refused": domain.refused(permit, member_id),
    }


async def names_in(services: Services, token: str, zone_id: str | None) -> dict[str, str]:
    """Who is who on the zone's roster, where this person may read it (else ids are shown)."""
    if not zone_id:
        return {}
    try:
        zone = await services.get(ZONES, at("zones", zone_id), token)
    except (Refused, NotFound):
        return {}
    return {m["member_id"]: m["name"] for m in zone.get("members", []) if not m.get("erased")}
