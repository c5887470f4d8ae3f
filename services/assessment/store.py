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
PROJECTS = "projects"  # one document per project registered (key project or not): coverage
FLOATING = "floating"  # one document per floating member a zone ever had: the year's history

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
    # Two queries, not one $or: the local FerretDB narrows a query in SQL only by top-level
    # equalities and $in (deploy/local/ferretdb-pushdown.patch), never under $or.
    docs: list[dict[str, Any]] = await db[FACTS].find({"zone_id": zone_id, field: period}).to_list(None)
    if project_ids:
        waiting = {"zone_id": None, field: period, "project_id": {"$in": project_ids}}
        docs += await db[FACTS].find(waiting).to_list(None)
    return docs


async def waiting_facts(db: AsyncIOMotorDatabase[Any], project_ids: list[str]) -> list[dict[str, Any]]:
    """Facts of these projects heard of before any zone covered them (their periods)."""
    docs: list[dict[str, Any]] = (
        await db[FACTS]
        .find(
            {"zone_id": None, "project_id": {"$in": project_ids}, "month": {"$ne": None}},
            {"month": 1, "quarter": 1},
        )
        .to_list(None)
    )
    return docs


async def ratings(db: AsyncIOMotorDatabase[Any], zone_id: str, period: str) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = await db[RATINGS].find({"zone_id": zone_id, "period": period}).to_list(None)
    return docs


async def zones(db: AsyncIOMotorDatabase[Any]) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = await db[zone_copy.ZONES].find({}).sort("_id", 1).to_list(None)
    return docs


async def zone_settings(db: AsyncIOMotorDatabase[Any]) -> list[dict[str, Any]]:
    """Every zone copy's id and settings alone: which zones are comparisons (``domain.is_comparison``)."""
    docs: list[dict[str, Any]] = await db[zone_copy.ZONES].find({}, {"settings": 1}).to_list(None)
    return docs


# --------------------------------------------------------------------------- issue 19

CORRECTION_KINDS = ("incident_correction", "inspection_correction")
YEAR_INDEXES = [
    Index(FACTS, [("corrects", 1)]),
    Index(FACTS, [("kind", 1), ("year", 1)]),
    Index(FLOATING, [("zone_id", 1)]),
]
INDEXES += YEAR_INDEXES


async def corrections_of(db: AsyncIOMotorDatabase[Any], fact_ids: list[str]) -> list[dict[str, Any]]:
    """Every correction heard of for these facts (incidents reclassified, inspections corrected)."""
    if not fact_ids:
        return []
    docs: list[dict[str, Any]] = await db[FACTS].find({"corrects": {"$in": fact_ids}}).to_list(None)
    return docs


async def assessments_in(db: AsyncIOMotorDatabase[Any], periods: list[str]) -> list[dict[str, Any]]:
    """The published results of these periods (every zone's latest revision of each)."""
    docs: list[dict[str, Any]] = await db[ASSESSMENTS].find({"period": {"$in": periods}}).to_list(None)
    return docs


async def zone_assessments(db: AsyncIOMotorDatabase[Any], zone_id: str) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = (
        await db[ASSESSMENTS].find({"zone_id": zone_id}).sort("period", 1).to_list(None)
    )
    return docs


async def zone_period(db: AsyncIOMotorDatabase[Any], zone_id: str, period: str) -> dict[str, Any] | None:
    doc: dict[str, Any] | None = await db[ASSESSMENTS].find_one({"_id": key(zone_id, period)})
    return doc


async def projects(db: AsyncIOMotorDatabase[Any]) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = await db[PROJECTS].find({}).to_list(None)
    return docs


async def floating(db: AsyncIOMotorDatabase[Any]) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = await db[FLOATING].find({}).to_list(None)
    return docs


async def ranking(db: AsyncIOMotorDatabase[Any], period: str) -> dict[str, Any] | None:
    doc: dict[str, Any] | None = await db[RANKINGS].find_one({"_id": period})
    return doc


async def facts_of_year(db: AsyncIOMotorDatabase[Any], kinds: list[str], year: str) -> list[dict[str, Any]]:
    """Facts of these kinds in a year (their own time in the site's zone)."""
    docs: list[dict[str, Any]] = await db[FACTS].find({"kind": {"$in": kinds}, "year": year}).to_list(None)
    return docs


async def facts_of_period(db: AsyncIOMotorDatabase[Any], kind: str, period: str) -> list[dict[str, Any]]:
    """Facts of a kind in a month, a quarter or a year."""
    field = "year" if len(period) == 4 else "quarter" if "Q" in period else "month"
    docs: list[dict[str, Any]] = await db[FACTS].find({"kind": kind, field: period}).to_list(None)
    return docs


async def zone(db: AsyncIOMotorDatabase[Any], zone_id: str) -> dict[str, Any] | None:
    doc: dict[str, Any] | None = await db[zone_copy.ZONES].find_one({"_id": zone_id})
    return doc
