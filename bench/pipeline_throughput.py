"""How fast one service instance moves events through the shared pipeline, on the real
local broker and Mongo-protocol server (make infra-up first).

    .venv/bin/python bench/pipeline_throughput.py [--events 1000]

(``python -m bench.pipeline_throughput`` works too.) Publishes ``events`` inspections over 60
projects (the probe keeps one small counter document per project) and prints events/s for
fresh events (read, decide, store the processed record, apply the write, publish the answer,
commit) and for redelivered ones (found done, dropped), and the mean pipeline time per
handled message. Figures, not assertions: this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

# Run as a script, the repository root is not on the path (the tests' helpers live there).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shared.events import Topic
from shared.metrics import HANDLER_SECONDS
from tests.integration import probe_service
from tests.support import Bus, running

PROJECTS = 60


async def main(n: int) -> None:
    project = f"BENCH-{uuid.uuid4().hex[:6]}"
    async with Bus() as bus, running(probe_service.definition) as rt:
        out = await bus.watch(Topic.ASSESSMENT_EVENTS.value)
        events = []
        t0 = time.perf_counter()
        for i in range(n):
            events.append(
                await bus.publish(
                    "quality.procedure-inspected",
                    {
                        "inspection_id": f"Q{i}",
                        "project_id": f"{project}-{i % PROJECTS}",
                        "procedure_code": f"C{i % 10}",
                        "result": "excellent",
                        "inspected_at": datetime.now(UTC).isoformat(),
                    },
                    key=f"{project}-{i % PROJECTS}",
                )
            )
        published = time.perf_counter() - t0
        await out.wait_for(lambda es: len([e for e in es if e.data.get("command_type")]) >= n, timeout=600)
        fresh = time.perf_counter() - t0
        t1 = time.perf_counter()
        for e in events:
            await bus.resend(e, key=f"{project}-dup")
        marker = await bus.publish(
            "quality.procedure-inspected",
            {
                "inspection_id": "end",
                "project_id": project,
                "procedure_code": "end",
                "result": "pass",
                "inspected_at": datetime.now(UTC).isoformat(),
            },
            key=f"{project}-dup",
        )
        await out.wait_for(lambda es: any(e.causationid == marker.id for e in es), timeout=600)
        dup = time.perf_counter() - t1
        samples = [
            s
            for m in HANDLER_SECONDS.collect()
            for s in m.samples
            if s.name.endswith("_sum") or s.name.endswith("_count")
        ]
        total = {s.name: s.value for s in samples if s.labels.get("type") == "quality.procedure-inspected"}
        mean_ms = 1000 * total["pbz_handler_seconds_sum"] / total["pbz_handler_seconds_count"]
        print(f"events: {n}")
        print(f"published in {published:.2f} s ({n / published:.0f}/s from one producer, one at a time)")
        print(f"fresh events end to end: {fresh:.2f} s -> {n / fresh:.0f} events/s")
        print(
            f"redelivered duplicates: {dup:.2f} s -> {n / dup:.0f} events/s (dropped by the processed record)"
        )
        print(f"mean pipeline time per handled message: {mean_ms:.2f} ms")
        counted = sum([doc["n"] async for doc in rt.db["counters"].find({"_id": {"$regex": f"^{project}"}})])
        print(f"effect check: counters sum to {counted} (expected {n + 1})")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--events", type=int, default=1000)
    asyncio.run(main(p.parse_args().events))
