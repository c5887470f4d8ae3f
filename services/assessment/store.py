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
CLOSED = "closed_periods"

INDEXES = [
    *zone_copy.INDEXES,
    Index(FACTS, [("zone_id", 1), ("month", 1)]),
    Index(FACTS, [("zone_id", 1), ("quarter", 1)]),
    Index(FACTS, [("project_id", 1), ("zone_id", 1)]),
    Index(RATINGS, [("zone_id", 1), ("period", 1)]),
    Index(ASSESSMENTS, [("period", 1)]),
    Index(ASSESSMENTS, [("zone_id", 1)]),
]


def key(zone_id: str, period: str) -> str:
    return f"{zone_id}|{period}"


async def facts(db: AsyncIOMotorDatabase[Any], zone_id: str, period: str) -> list[dict[str, Any]]:
    field = "quarter" if "Q" in period else "month"
    docs: list[dict[str, Any]] = await db[FACTS].find({"zone_id": zone_id, field: period}).to_list(None)
    return docs


async def ratings(db: AsyncIOMotorDatabase[Any], zone_id: str, period: str) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = await db[RATINGS].find({"zone_id": zone_id, "period": period}).to_list(None)
    return docs


async def zones(db: AsyncIOMotorDatabase[Any]) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = await db[zone_copy.ZONES].find({}).sort("_id", 1).to_list(None)
    return docs
