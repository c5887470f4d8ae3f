"""Assessment collections, indexes and reads."""

from __future__ import annotations

from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase

from shared import zone_copy
from shared.mongo import Index

FACTS = "facts"  # one document per fact heard of
RATINGS = "ratings"  # "2+1" evaluations, one per (zone, period, evaluator role)
ASSESSMENTS = "assessments"  # published results per (zone, period), with every revision
RANKINGS = "rankings"  # published rankings per period

INDEXES = [
    *zone_copy.INDEXES,
    Index(FACTS, [("zone_id", 1), ("month", 1)]),
    Index(FACTS, [("zone_id", 1), ("quarter", 1)]),
    Index(FACTS, [("zone_id", 1), ("project_id", 1)]),
    Index(RATINGS, [("zone_id", 1), ("period", 1)]),
    Index(ASSESSMENTS, [("period", 1)]),
    Index(ASSESSMENTS, [("zone_id", 1)]),
]


def key(zone_id: str, period: str) -> str:
    return f"{zone_id}|{period}"


async def facts(
    db: AsyncIOMotorDatabase[Any], zone_id: str, period: str, project_ids: list[str]
) -> list[dict[str, Any]]:
    """A zone's facts of a period: those mapped to it, and those of its projects that were
    heard of before any zone covered them."""
    field = "quarter" if "Q" in period else "month"
    mine: dict[str, Any] = {"zone_id": zone_id}
    waiting: dict[str, Any] = {"zone_id": None, "project_id": {"$in": project_ids}}
    query = {"$or": [mine, waiting], field: period} if project_ids else {**mine, field: period}
    docs: list[dict[str, Any]] = await db[FACTS].find(query).to_list(None)
    return docs


async def waiting_facts(db: AsyncIOMotorDatabase[Any], project_ids: list[str]) -> list[dict[str, Any]]:
    """Facts of these projects heard of before any zone covered them (their periods)."""
    docs: list[dict[str, Any]] = (
        await db[FACTS]
        .find({"zone_id": None, "project_id": {"$in": project_ids}}, {"month": 1, "quarter": 1})
        .to_list(None)
    )
    return docs


async def ratings(db: AsyncIOMotorDatabase[Any], zone_id: str, period: str) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = await db[RATINGS].find({"zone_id": zone_id, "period": period}).to_list(None)
    return docs


async def zones(db: AsyncIOMotorDatabase[Any]) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = await db[zone_copy.ZONES].find({}).sort("_id", 1).to_list(None)
    return docs
