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
# Issue 19: organisational life
LEAVES = "leaves"  # one per (activity, member): a leave (请假) recorded before the start
ORG_EVALUATIONS = "org_life_evaluations"  # one per (zone, month / quarter / year), done once
REMINDERS = "reminders"  # one per (zone, period, rule): each reminder is sent once

INDEXES = [
    *zone_copy.INDEXES,
    Index(zone_copy.ZONES, [("members.member_id", 1)]),
    Index(ACTIVITIES, [("zone_id", 1), ("period", 1)]),
    Index(ACTIVITIES, [("zone_id", 1), ("kind", 1), ("started_at", 1)]),
    Index(ACTIVITIES, [("attendee_member_ids", 1)]),
    Index(PROBLEMS, [("zone_id", 1)]),
    Index(EVALUATIONS, [("period", 1)]),
    Index(ACTIVITIES, [("zone_id", 1), ("local_date", 1)]),
    Index(ACTIVITIES, [("expected_member_ids", 1)]),
    Index(LEAVES, [("activity_id", 1)]),
    Index(ORG_EVALUATIONS, [("period", 1)]),
    Index(ORG_EVALUATIONS, [("zone_id", 1)]),
    Index(REMINDERS, [("zone_id", 1), ("period", 1)]),
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
    # Read to the end: a cursor left open holds a FerretDB connection (and its SQLite rows).
    zones = await db[zone_copy.ZONES].find({"members.member_id": member_id}, {"members": 1}).to_list(None)
    for zone in zones:
        if any(m["member_id"] == secretary_id and m["zone_role"] == "secretary" for m in zone["members"]):
            return True
    return False


# --------------------------------------------------------------------------- organisational life


def leave_id(activity_id: str, member_id: str) -> str:
    return f"{activity_id}|{member_id}"


async def activities_between(
    db: AsyncIOMotorDatabase[Any], zone_id: str, first: str, last: str
) -> list[dict[str, Any]]:
    """A zone's activities whose local start date lies in [first, last] (ISO dates): what the
    rules of a month, a quarter or a year count."""
    docs: list[dict[str, Any]] = (
        await db[ACTIVITIES]
        .find(
            {"zone_id": zone_id, "local_date": {"$gte": first, "$lte": last}},
            {"kind": 1, "local_date": 1, "quorum_held": 1},
        )
        .to_list(None)
    )
    return docs


async def org_evaluation(db: AsyncIOMotorDatabase[Any], zone_id: str, period: str) -> dict[str, Any] | None:
    doc: dict[str, Any] | None = await db[ORG_EVALUATIONS].find_one({"_id": evaluation_id(zone_id, period)})
    return doc


async def evaluations_in(db: AsyncIOMotorDatabase[Any], periods: list[str]) -> list[dict[str, Any]]:
    """The six systems' and organisational life's closed evaluations of these periods."""
    six: list[dict[str, Any]] = await db[EVALUATIONS].find({"period": {"$in": periods}}).to_list(None)
    org: list[dict[str, Any]] = await db[ORG_EVALUATIONS].find({"period": {"$in": periods}}).to_list(None)
    return six + org


async def reminders_of(db: AsyncIOMotorDatabase[Any], zone_id: str, period: str) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = (
        await db[REMINDERS].find({"zone_id": zone_id, "period": period}).sort("_id", 1).to_list(None)
    )
    return docs


async def activity(db: AsyncIOMotorDatabase[Any], activity_id: str) -> dict[str, Any] | None:
    doc: dict[str, Any] | None = await db[ACTIVITIES].find_one({"_id": activity_id})
    return doc


async def attendance_of(db: AsyncIOMotorDatabase[Any], member_id: str) -> list[dict[str, Any]]:
    """The activities a member was expected at (or attended), with their attendance rows."""
    docs: list[dict[str, Any]] = (
        await db[ACTIVITIES]
        .find(
            {"$or": [{"expected_member_ids": member_id}, {"attendee_member_ids": member_id}]},
            {"kind": 1, "attendance": 1, "attendee_member_ids": 1},
        )
        .to_list(None)
    )
    return docs
