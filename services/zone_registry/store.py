"""The zone-registry's own collections, their indexes, and the reads its handlers and API need."""

from __future__ import annotations

from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase

from shared.events.catalog import ZoneMode, ZoneStatus
from shared.mongo import Index

ZONES = "zones"
PROJECTS = "projects"
HISTORY = "zone_history"  # one document per command: who, what, when, accepted or why not

INDEXES = [
    Index(ZONES, [("status", 1), ("mode", 1)]),
    Index(ZONES, [("host_unit_id", 1), ("region", 1)]),
    Index(ZONES, [("project_ids", 1)]),
    Index(ZONES, [("name", 1)]),
    Index(PROJECTS, [("key_project", 1)]),
    Index(PROJECTS, [("region", 1)]),
    Index(HISTORY, [("zone_id", 1), ("at", 1)]),
]


async def zone(db: AsyncIOMotorDatabase[Any], zone_id: str) -> dict[str, Any] | None:
    doc: dict[str, Any] | None = await db[ZONES].find_one({"_id": zone_id})
    return doc


async def name_taken(db: AsyncIOMotorDatabase[Any], name: str) -> bool:
    return await db[ZONES].count_documents({"name": name, "status": {"$ne": ZoneStatus.CLOSED}}, limit=1) > 0


async def zones_covering(db: AsyncIOMotorDatabase[Any], project_id: str) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = (
        await db[ZONES]
        .find({"project_ids": project_id, "status": {"$ne": ZoneStatus.CLOSED}})
        .sort("_id", 1)
        .to_list(None)
    )
    return docs


async def open_alliances(
    db: AsyncIOMotorDatabase[Any], host_unit_id: str | None, region: str
) -> list[dict[str, Any]]:
    """Regional alliances of a host unit and region that are not closed."""
    docs: list[dict[str, Any]] = (
        await db[ZONES]
        .find(
            {
                "mode": ZoneMode.REGIONAL_ALLIANCE,
                "host_unit_id": host_unit_id,
                "region": region,
                "status": {"$ne": ZoneStatus.CLOSED},
            }
        )
        .sort("_id", 1)
        .to_list(None)
    )
    return docs


async def all_zones(db: AsyncIOMotorDatabase[Any], query: dict[str, Any]) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = await db[ZONES].find(query).sort("_id", 1).to_list(None)
    return docs


async def all_projects(
    db: AsyncIOMotorDatabase[Any], query: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = await db[PROJECTS].find(query or {}).sort("_id", 1).to_list(None)
    return docs


async def history(
    db: AsyncIOMotorDatabase[Any], zone_id: str, limit: int, skip: int = 0
) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = (
        await db[HISTORY].find({"zone_id": zone_id}).sort("at", 1).skip(skip).limit(limit).to_list(None)
    )
    return docs


async def history_count(db: AsyncIOMotorDatabase[Any], zone_id: str) -> int:
    return int(await db[HISTORY].count_documents({"zone_id": zone_id}))


# --------------------------------------------------------------------------- floating members (issue 19)

BROUGHT_BACK = "brought_back"  # one per floating member's stay in a zone: the history kept
ATTENDANCE = "attendance"  # one per activity (activity.attendance-recorded): who was present

FLOATING_INDEXES = [
    Index(ZONES, [("transfer_due_next", 1)]),
    Index(BROUGHT_BACK, [("zone_id", 1), ("member_id", 1)]),
    Index(BROUGHT_BACK, [("brought_back_on", 1)]),
    Index(ATTENDANCE, [("zone_id", 1), ("present", 1)]),
]
INDEXES += FLOATING_INDEXES


async def zones_with_transfers_due(db: AsyncIOMotorDatabase[Any], on: str) -> list[str]:
    """Zones not closed with a floating member's transfer falling due on or before ``on``."""
    docs = (
        await db[ZONES]
        .find({"transfer_due_next": {"$lte": on}, "status": {"$ne": ZoneStatus.CLOSED}}, {"_id": 1})
        .sort("_id", 1)
        .to_list(None)
    )
    return [str(d["_id"]) for d in docs]


async def stays(
    db: AsyncIOMotorDatabase[Any], zone_id: str | None = None, member_id: str | None = None
) -> list[dict[str, Any]]:
    """Records of floating members brought back (of a zone, of a member, or all)."""
    query: dict[str, Any] = {}
    if zone_id is not None:
        query["zone_id"] = zone_id
    if member_id is not None:
        query["member_id"] = member_id
    docs: list[dict[str, Any]] = await db[BROUGHT_BACK].find(query).sort("_id", 1).to_list(None)
    return docs


async def open_stay(db: AsyncIOMotorDatabase[Any], zone_id: str, member_id: str) -> dict[str, Any] | None:
    docs = [d for d in await stays(db, zone_id, member_id) if d.get("left_on") is None]
    return docs[-1] if docs else None


async def attended_days(
    db: AsyncIOMotorDatabase[Any], zone_id: str | None = None
) -> dict[tuple[str, str], list[str]]:
    """(zone, member) -> the local days of the activities the member attended there."""
    query: dict[str, Any] = {} if zone_id is None else {"zone_id": zone_id}
    out: dict[tuple[str, str], list[str]] = {}
    async for doc in db[ATTENDANCE].find(query, {"zone_id": 1, "local_date": 1, "present": 1}):
        for member_id in doc.get("present", []):
            out.setdefault((doc["zone_id"], member_id), []).append(doc["local_date"])
    return out
