"""How long processed records are kept (``processed_events``, see ``shared/pipeline.py``).

A processed record is both the write-ahead of a message's effect (until it is done) and the
memory that the message was handled (R6: a redelivery is a no-op while its record is there).
A finished record is small, but one is kept per message, so without a purge the collection
grows for ever. Every ``processed_purge_every_s`` the service removes the finished records
older than ``processed_retention_hours``:

- a record that is done (a message's own, or a batch's);
- the records that name a batch (``batch``) when that batch is done and removed with them, or
  when the batch they name does not exist (a crash in the middle of its insert left them);
- never an unfinished record, however old: start-up and redeliveries finish it.

A name is removed before its batch: a crash in between leaves a finished batch with no names,
which the next purge removes. The dedupe window is the retention: a message redelivered
after it is handled again, so keep it longer than the input topics' retention (Kafka's
default is 7 days; the default here is 14).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .metrics import PROCESSED_PURGED
from .pipeline import PROCESSED

if TYPE_CHECKING:
    from motor.motor_asyncio import AsyncIOMotorDatabase

log = logging.getLogger("pbz.retention")

CHUNK = 500  # ids per delete: FerretDB narrows an ``_id`` ``$in`` of strings in SQL


async def purge_processed(db: AsyncIOMotorDatabase[Any], before: datetime) -> int:
    """Remove the finished processed records older than ``before``; how many were removed."""
    old = await db[PROCESSED].find({"at": {"$lt": before}}, {"done": 1, "batch": 1, "keys": 1}).to_list(None)
    batches = {d["_id"] for d in old if d.get("done") and "keys" in d}
    singles = [d["_id"] for d in old if d.get("done") and "keys" not in d and "batch" not in d]
    named = {d["_id"]: d["batch"] for d in old if "batch" in d}
    # A name whose batch is newer than ``before`` stays with it; one whose batch is gone goes.
    others = sorted({b for b in named.values() if b not in batches})
    standing: set[Any] = set()
    for chunk in _chunks(others):
        found = await db[PROCESSED].find({"_id": {"$in": chunk}}, {"_id": 1}).to_list(None)
        standing.update(d["_id"] for d in found)
    names = [n for n, b in named.items() if b in batches or b not in standing]
    removed = 0
    for ids in (names, sorted(batches), singles):  # names before their batches
        for chunk in _chunks(ids):
            result = await db[PROCESSED].delete_many({"_id": {"$in": chunk}})
            removed += result.deleted_count
    return removed


def _chunks(ids: list[Any]) -> list[list[Any]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


class Purger:
    """The periodic purge of one service's processed records (a background task)."""

    def __init__(
        self, service: str, db: AsyncIOMotorDatabase[Any], retention_hours: float, every_s: float
    ) -> None:
        self.service = service
        self.db = db
        self.retention = timedelta(hours=retention_hours)
        self.every_s = every_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"{self.service}-purger")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def once(self) -> int:
        before = datetime.now(UTC) - self.retention
        removed = await purge_processed(self.db, before)
        PROCESSED_PURGED.labels(self.service).inc(removed)
        if removed:
            log.info("removed %d processed records finished before %s", removed, before.isoformat())
        return removed

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.once()
            except Exception as e:  # the store away: the next round tries again
                log.warning("processed records not purged this round (%s)", type(e).__name__)
