"""A permit's store round trips, as permit-fasttrack makes them, in the two shapes a permit can
be stored in: nested (every field a BSON value of its own, as before) and packed (the queried
fields at the top, the whole aggregate as one BSON value: ``store.permit_doc``).

    PBZ_PORT_OFFSET=... .venv/bin/python -m bench.permit_store [--permits 60] [--rounds 3]

Each shape is stored once, then for each round: ``permits`` versioned replaces (the pipeline's guard: only over an
older version) of an issued permit with its history (~5 KB), then as many reads by ``_id``
turned back into the domain's ``Permit``. Prints milliseconds per operation, the shapes
alternating so that the shared machine's noise falls on both. Needs the local infrastructure
(``make infra-up``); uses a fresh database and drops it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import bson
import typer

from services.permit_fasttrack import store
from services.permit_fasttrack.domain import Permit
from shared.mongo import make_client
from shared.pipeline import _newer_than_stored
from shared.settings import ServiceSettings
from tests.unit.permit_fixtures import issued

Shape = Callable[[Permit], dict[str, Any]]
SHAPES: dict[str, tuple[Shape, Callable[[dict[str, Any]], Permit]]] = {
    "nested": (lambda p: p.store_doc(), Permit.model_validate),
    "packed": (store.permit_doc, store.permit_of),
}


async def _round(coll: Any, shape: str, permits: list[Permit], version: int) -> tuple[float, float]:
    write, read = SHAPES[shape]
    t = time.perf_counter()
    for p in permits:
        doc = write(p.model_copy(update={"version": version}))
        await coll.replace_one(_newer_than_stored(doc), doc, upsert=True)
    replaced = (time.perf_counter() - t) * 1000 / len(permits)
    t = time.perf_counter()
    for p in permits:
        read(await coll.find_one({"_id": p.permit_id}))
    return replaced, (time.perf_counter() - t) * 1000 / len(permits)


async def run(permits: int, rounds: int) -> None:
    one = issued()
    print(f"a permit: {len(bson.encode(one.store_doc()))} bytes of BSON, {len(one.history)} history entries")
    batch = [one.model_copy(update={"permit_id": f"WP-bench-{i}"}) for i in range(permits)]
    client = make_client(ServiceSettings().mongo_url)
    db = client[f"bench_permits_{uuid.uuid4().hex[:6]}"]
    try:
        for shape in SHAPES:  # stored once first: what is timed replaces an older version
            await _round(db[shape], shape, batch, version=1)
        for r in range(rounds):
            for shape in SHAPES:
                replaced, read = await _round(db[shape], shape, batch, version=2 + r)
                print(f"round {r + 1} {shape:>6}: replace {replaced:5.2f} ms, read {read:5.2f} ms")
    finally:
        await client.drop_database(db.name)
        client.close()


def main(permits: int = 60, rounds: int = 3) -> None:
    asyncio.run(run(permits, rounds))


if __name__ == "__main__":
    typer.run(main)
