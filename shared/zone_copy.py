"""A service's own copy of the zones, built from ``pbz.zone.events`` (event-carried state
transfer: every ``zone.*`` event carries the full snapshot). activity-log,
permit-fasttrack and assessment all keep one; this is the one way they do it.

Stored in the service's own ``zones`` collection as ``{_id: zone_id, **snapshot}``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException

from .actor import may_act_in
from .auth import Principal, refuse
from .events.catalog import HttpReason, ZoneEvent
from .mongo import Index
from .pipeline import HandlerContext, Handlers

if TYPE_CHECKING:
    from motor.motor_asyncio import AsyncIOMotorDatabase

ZONES = "zones"
SNAPSHOT_EVENTS = (
    "zone.established",
    "zone.updated",
    "zone.member-joined",
    "zone.member-left",
    "zone.closed",
    "zone.coverage-gap",
    # A PIPL erasure travels as a snapshot too: the copy loses the person's data with it.
    "zone.member-erased",
)
INDEXES = [
    Index(ZONES, [("project_ids", 1)]),
    Index(ZONES, [("status", 1)]),
]

# (ctx, previous snapshot or None, new snapshot) -> staged effects of the change
ZoneChanged = Callable[[HandlerContext, dict[str, Any] | None, dict[str, Any]], Awaitable[None]]


def register(handlers: Handlers, on_change: ZoneChanged | None = None) -> None:
    """Keep the zone copy up to date; call ``on_change`` after each snapshot is staged.

    The copy is an aggregate written only from ``pbz.zone.events``, which zone-registry keys
    by the zone (R1); versioned, so a late redelivery never overwrites a newer snapshot."""
    handlers.aggregate(ZONES)

    async def on_zone_event(ctx: HandlerContext, data: ZoneEvent) -> None:
        snapshot = data.zone.model_dump(mode="json")
        previous = await ctx.get(ZONES, snapshot["zone_id"])
        doc = {"_id": snapshot["zone_id"], **snapshot}
        ctx.put(ZONES, doc)
        if on_change is not None:
            await on_change(ctx, previous, doc)

    for event_type in SNAPSHOT_EVENTS:
        handlers.on(event_type)(on_zone_event)


async def active_zone_for_project(ctx: HandlerContext, project_id: str) -> dict[str, Any] | None:
    """The active zone covering a project, if any (the first by zone id, for determinism)."""
    cursor = ctx.db[ZONES].find({"project_ids": project_id, "status": "active"}).sort("_id", 1).limit(1)
    docs = await cursor.to_list(1)
    return docs[0] if docs else None


async def zone_for_project(ctx: HandlerContext, project_id: str) -> dict[str, Any] | None:
    """The zone covering a project, active first, else any non-closed one."""
    found = await active_zone_for_project(ctx, project_id)
    if found is not None:
        return found
    docs = (
        await ctx.db[ZONES]
        .find({"project_ids": project_id, "status": {"$ne": "closed"}})
        .sort("_id", 1)
        .limit(1)  # a cursor left open holds a FerretDB connection (and its SQLite rows)
        .to_list(1)
    )
    return docs[0] if docs else None


def members_with_role(zone: dict[str, Any], zone_role: str) -> list[str]:
    return sorted(m["member_id"] for m in zone.get("members", []) if m.get("zone_role") == zone_role)


def on_roster(zone: dict[str, Any], member_id: str) -> bool:
    return any(m["member_id"] == member_id for m in zone.get("members", []))


async def readable(db: AsyncIOMotorDatabase[Any], zone_id: str, principal: Principal) -> dict[str, Any]:
    """The zone copy, if the caller may read the zone's records (the party office, or a member
    on its roster); else 403 ``not_in_zone`` — or 404 for the party office when there is none
    (anyone else learns nothing about which zones exist)."""
    zone: dict[str, Any] | None = await db[ZONES].find_one({"_id": zone_id})
    if zone is None and principal.has("party_office"):
        raise HTTPException(404, f"no zone {zone_id}")
    if zone is None or not may_act_in(zone, principal.actor()):
        raise refuse(HttpReason.NOT_IN_ZONE, "only the party office and the zone's members read its records")
    return zone
