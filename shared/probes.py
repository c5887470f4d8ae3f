"""Gauges read from a service's own store, sampled with the consumer lag (``LagMonitor``).

A service lists the probes it wants in its definition (``ServiceDefinition.probes``); each is
called with the service's name and database and sets its gauges.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase

from .events.catalog import PermitStatus
from .metrics import PERMITS_WAITING

Probe = Callable[[str, AsyncIOMotorDatabase[Any]], Awaitable[None]]

WAITING = (
    PermitStatus.PENDING_SIGNATURES,
    PermitStatus.APPROVED,
    PermitStatus.BLOCKED,
    PermitStatus.SUSPENDED,
    PermitStatus.INTERRUPTED,
    PermitStatus.COMPLETING,
)


async def permits_waiting(service: str, db: AsyncIOMotorDatabase[Any], collection: str = "permits") -> None:
    """How many permits wait, per status: for permit-fasttrack (its ``permits`` collection),
    counted in one grouped query per sample (a status with none is set to 0)."""
    waiting = [status.value for status in WAITING]
    pipeline: list[dict[str, Any]] = [
        {"$match": {"status": {"$in": waiting}}},
        {"$group": {"_id": "$status", "n": {"$sum": 1}}},
    ]
    counts = {row["_id"]: row["n"] async for row in db[collection].aggregate(pipeline)}
    for status in waiting:
        PERMITS_WAITING.labels(service, status).set(counts.get(status, 0))
