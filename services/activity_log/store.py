"""Activity-log collections, indexes and reads."""

from __future__ import annotations

from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase

from shared import zone_copy
from shared.mongo import Index

ACTIVITIES = "activities"
REJECTIONS = "rejections"
PROBLEMS = "problems"
EVALUATIONS = "evaluations"  # one per (zone, period): the cadence check is done once

INDEXES = [
    *zone_copy.INDEXES,
    Index(zone_copy.ZONES, [("members.member_id", 1)]),
    Index(ACTIVITIES, [("zone_id", 1), ("period", 1)]),
    Index(ACTIVITIES, [("zone_id", 1), ("kind", 1), ("started_at", 1)]),
    Index(ACTIVITIES, [("attendee_member_ids", 1)]),
    Index(PROBLEMS, [("zone_id", 1)]),
    Index(EVALUATIONS, [("period", 1)]),
]


def evaluation_id(zone_id: str, period: str) -> str:
    return f"{zone_id}|{period}"


async def problems(db: AsyncIOMotorDatabase[Any], ids: list[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    return {p["_id"]: p for p in await db[PROBLEMS].find({"_id": {"$in": ids}}).to_list(None)}


async def activities_of(db: AsyncIOMotorDatabase[Any], zone_id: str, period: str) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = (
        await db[ACTIVITIES]
        .find({"zone_id": zone_id, "period": period}, {"kind": 1, "slot": 1, "local_date": 1})
        .to_list(None)
    )
    return docs


async def zones(db: AsyncIOMotorDatabase[Any]) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = await db[zone_copy.ZONES].find({}).sort("_id", 1).to_list(None)
    return docs


async def secretary_of_member(db: AsyncIOMotorDatabase[Any], secretary_id: str, member_id: str) -> bool:
    """Whether ``secretary_id`` is the secretary of a zone whose roster holds ``member_id``.

    (The roster is checked here: FerretDB has neither ``$elemMatch`` on fields nor ``$all``
    through an array of documents; the zones holding the member are few.)"""
    async for zone in db[zone_copy.ZONES].find({"members.member_id": member_id}, {"members": 1}):
        if any(m["member_id"] == secretary_id and m["zone_role"] == "secretary" for m in zone["members"]):
            return True
    return False
