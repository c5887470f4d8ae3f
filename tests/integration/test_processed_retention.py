"""Processed records are kept for the retention, then purged (shared/retention.py), on the real
store: finished records older than the retention go, with the names of a finished batch and
names whose batch is gone; unfinished records stay however old, and so do the names of a
batch still within the retention. The service's own purge task does it while it runs, and a
message redelivered within the retention is still a no-op."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events import Topic
from shared.pipeline import PROCESSED
from shared.retention import purge_processed
from tests.integration import probe_service
from tests.integration.test_pipeline import answers, counter, inspection
from tests.support import Bus, eventually, running

NOW = datetime.now(UTC)
OLD, RECENT = NOW - timedelta(days=30), NOW - timedelta(days=1)


def records() -> list[dict[str, Any]]:
    """Every kind of processed record, old and recent; ``keep`` says what must stay."""
    return [
        {"_id": "one-old-done", "at": OLD, "done": True, "keep": False},
        {"_id": "one-recent-done", "at": RECENT, "done": True, "keep": True},
        {"_id": "one-old-unfinished", "at": OLD, "done": False, "body": b"", "keep": True},
        {"_id": "one-old-dead", "at": OLD, "done": True, "dead": "handler_error: x", "keep": False},
        {"_id": "batch/old", "at": OLD, "done": True, "keys": ["n1", "n2"], "keep": False},
        {"_id": "n1", "at": OLD, "batch": "batch/old", "keep": False},
        {"_id": "n2", "at": OLD, "batch": "batch/old", "keep": False},
        {"_id": "batch/old-unfinished", "at": OLD, "done": False, "keys": ["n3"], "keep": True},
        {"_id": "n3", "at": OLD, "batch": "batch/old-unfinished", "keep": True},
        {"_id": "batch/recent", "at": RECENT, "done": True, "keys": ["n4"], "keep": True},
        {"_id": "n4", "at": OLD, "batch": "batch/recent", "keep": True},  # its batch is newer
        {"_id": "n5", "at": OLD, "batch": "batch/never-stored", "keep": False},
    ]


async def test_finished_records_older_than_the_retention_are_purged_and_nothing_else() -> None:
    async with running(probe_service.definition) as rt:
        docs = records()
        await rt.db[PROCESSED].insert_many([{k: v for k, v in d.items() if k != "keep"} for d in docs])
        removed = await purge_processed(rt.db, NOW - timedelta(days=14))
        left = {
            d["_id"]
            for d in await rt.db[PROCESSED].find({"_id": {"$in": [d["_id"] for d in docs]}}).to_list(None)
        }
        assert left == {d["_id"] for d in docs if d["keep"]}
        assert removed == sum(1 for d in docs if not d["keep"])
        assert await purge_processed(rt.db, NOW - timedelta(days=14)) == 0  # nothing more to do


async def test_the_service_purges_while_it_runs_and_a_recent_redelivery_is_still_a_no_op() -> None:
    project = f"P-{uuid.uuid4().hex[:6]}"
    async with Bus() as bus, running(probe_service.definition, processed_purge_every_s=0.2) as rt:
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
        stale = [{"_id": f"stale-done-{project}", "at": OLD, "done": True}]
        stale.append({"_id": f"stale-unfinished-{project}", "at": OLD, "done": False, "body": b""})
        await rt.db[PROCESSED].insert_many(stale)
        cause = await bus.publish("quality.procedure-inspected", inspection(project), key=project)
        await out.wait_for(lambda es: bool(answers(es, cause)), what="the probe's answer")

        async def purged() -> bool:
            return await rt.db[PROCESSED].find_one({"_id": stale[0]["_id"]}) is None

        await eventually(purged, timeout=30, what="the purge task removed the stale record")
        assert await rt.db[PROCESSED].find_one({"_id": stale[1]["_id"]}) is not None  # unfinished
        await bus.resend(cause, key=project)  # within the retention: seen, no second effect
        cause2 = await bus.publish("quality.procedure-inspected", inspection(project), key=project)
        events = await out.wait_for(lambda es: bool(answers(es, cause2)), what="the next answer")
        assert len(answers(events, cause)) == 1
        assert answers(events, cause2)[0].data["reasons"] == ["probe_seen_2"]
        assert await counter(rt, project) == 2
