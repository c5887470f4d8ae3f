"""Permit-fasttrack collections, indexes and reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase

from shared import zone_copy
from shared.mongo import Index

PERMITS = "permits"
CHECKINS = "checkins"  # morning check-ins: one per (zone, local date)
GAS_TESTS = "gas_tests"
INCIDENTS = "incidents"
AGENDA = "agenda"
AGENDA_ID = "open-permits"
AGENDA_FIELDS = (
    "project_id",
    "area",
    "zone_id",
    "status",
    "blocked_reasons",
    "valid_until",
    "sla_deadline",
    "sla_breached",
    "issued_at",
)

INDEXES = [
    *zone_copy.INDEXES,
    Index(PERMITS, [("project_id", 1), ("area", 1), ("status", 1)]),
    Index(PERMITS, [("zone_id", 1), ("status", 1)]),
    Index(PERMITS, [("status", 1), ("valid_until", 1)]),
    Index(PERMITS, [("status", 1), ("sla_deadline", 1)]),
    Index(GAS_TESTS, [("project_id", 1), ("area", 1), ("tested_at", -1)]),
]


def checkin_id(zone_id: str, local_date: str) -> str:
    return f"{zone_id}|{local_date}"


async def latest_gas_test(
    db: AsyncIOMotorDatabase[Any], project_id: str, area: str, at: datetime
) -> dict[str, Any] | None:
    docs: list[dict[str, Any]] = (
        await db[GAS_TESTS]
        .find({"project_id": project_id, "area": area, "tested_at": {"$lte": at}})
        .sort("tested_at", -1)
        .limit(1)
        .to_list(1)
    )
    return docs[0] if docs else None


def agenda_entry(permit: dict[str, Any]) -> dict[str, Any]:
    return {"permit_id": permit["_id"], **{f: permit.get(f) for f in AGENDA_FIELDS}}


def matches(entry: dict[str, Any], query: dict[str, Any]) -> bool:
    """Evaluate the small query language the handlers use against an agenda entry."""
    for field, want in query.items():
        value = entry.get(field)
        if isinstance(want, dict):
            if "$in" in want and value not in want["$in"]:
                return False
            if "$lte" in want and (value is None or value > want["$lte"]):
                return False
        elif value != want:
            return False
    return True
