"""The local store narrows queries in SQL (deploy/local/ferretdb-pushdown.patch) and must still
answer exactly what MongoDB answers: arrays holding the value, strings that JSON escapes, other
types under the same name, missing fields, $in, _id beside a version guard, updates and deletes.

Each answer is checked against the matching rule written out here in Python, so the test holds
on a real MongoDB too."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorCollection

from tests.support import MONGO

TRICKY = ["Z1", "<&>", 'quote " and \\ slash', "中文区", "[looks like an array]", "", "z1", "Z1 "]

DOCS: list[dict[str, Any]] = [
    {"_id": "a", "zone": "Z1", "status": "issued", "done": False, "version": 1},
    {"_id": "b", "zone": ["Z2", "Z1"], "status": "closed", "done": True, "version": 2},
    {"_id": "c", "zone": "<&>", "status": "issued", "done": [False, True], "version": 3},
    {"_id": "d", "zone": 'quote " and \\ slash', "status": ["issued"], "version": 1},
    {"_id": "e", "zone": "中文区", "status": {"nested": "issued"}, "done": "false", "version": 5},
    {"_id": "f", "zone": "[looks like an array]", "status": 7, "done": 0},
    {"_id": "g", "status": "issued"},
    {"_id": "h", "zone": "", "status": None, "done": None},
    {"_id": "i", "zone": "z1", "status": "ISSUED"},
    {"_id": "j", "zone": "Z1 ", "status": "issued ", "done": False},
    {"_id": "k", "zone": ["Z1 ", "z1"], "status": [], "done": [0, "False"]},
]


def matches_value(field: Any, wanted: Any) -> bool:
    """MongoDB's equality on a top-level field: equal, or an array holding an equal element."""
    if isinstance(field, list):
        return any(_same(x, wanted) for x in field) or _same(field, wanted)
    return _same(field, wanted)


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b  # no bool/int or str/number crossing


def expected(flt: dict[str, Any]) -> set[str]:
    found = set()
    for d in DOCS:
        ok = True
        for k, v in flt.items():
            if k == "$or":
                ok = ok and any(expected_one(d, alt) for alt in v)
            elif isinstance(v, dict) and "$in" in v:
                ok = ok and k in d and any(matches_value(d[k], w) for w in v["$in"])
            else:
                ok = ok and k in d and matches_value(d[k], v)
        if ok:
            found.add(d["_id"])
    return found


def expected_one(d: dict[str, Any], alt: dict[str, Any]) -> bool:
    ((k, cond),) = alt.items()
    if "$lt" in cond:
        return k in d and isinstance(d[k], int) and d[k] < cond["$lt"]
    return (k in d) == cond["$exists"]


@pytest.fixture
async def docs() -> AsyncIterator[AsyncIOMotorCollection[Any]]:
    client: AsyncIOMotorClient[Any] = AsyncIOMotorClient(MONGO)
    name = f"pushdown_{uuid.uuid4().hex[:8]}"
    collection = client[name]["docs"]
    await collection.create_index("zone")
    await collection.create_index("status")
    await collection.create_index([("done", 1), ("version", 1)])
    await collection.insert_many([dict(d) for d in DOCS])
    try:
        yield collection
    finally:
        await client.drop_database(name)
        client.close()


FILTERS: list[dict[str, Any]] = [{"zone": z} for z in TRICKY] + [
    {"status": "issued"},
    {"done": False},
    {"done": True},
    {"zone": "Z1", "status": "issued"},
    {"zone": "Z1", "done": False},
    {"zone": {"$in": ["Z1", "<&>", "nowhere"]}},
    {"status": {"$in": ["issued", "closed"]}, "done": False},
    {"_id": "b", "zone": "Z1"},
    {"_id": "b", "zone": "Z3"},
    {"_id": {"$in": ["a", "c", "zz"]}, "status": "issued"},
    {"_id": "c", "$or": [{"version": {"$lt": 4}}, {"version": {"$exists": False}}]},
    {"_id": "e", "$or": [{"version": {"$lt": 4}}, {"version": {"$exists": False}}]},
    {"_id": "g", "$or": [{"version": {"$lt": 4}}, {"version": {"$exists": False}}]},
]


@pytest.mark.parametrize("flt", FILTERS, ids=[repr(f) for f in FILTERS])
async def test_find_and_count_answer_as_mongodb_does(
    docs: AsyncIOMotorCollection[Any], flt: dict[str, Any]
) -> None:
    found = {d["_id"] async for d in docs.find(flt)}
    assert found == expected(flt)
    assert await docs.count_documents(flt) == len(found)


async def test_updates_and_deletes_touch_exactly_the_matches(docs: AsyncIOMotorCollection[Any]) -> None:
    flt = {"zone": "Z1", "done": False}
    result = await docs.update_many(flt, {"$set": {"touched": True}})
    assert result.matched_count == len(expected(flt))
    assert {d["_id"] async for d in docs.find({"touched": True})} == expected(flt)
    deleted = await docs.delete_many({"zone": {"$in": ["<&>", "中文区"]}})
    assert deleted.deleted_count == 2
    assert await docs.count_documents({}) == len(DOCS) - 2


async def test_a_versioned_replace_skips_a_newer_copy_and_replaces_an_older_one(
    docs: AsyncIOMotorCollection[Any],
) -> None:
    guard = {"$or": [{"version": {"$lt": 2}}, {"version": {"$exists": False}}]}
    older = await docs.replace_one({"_id": "a", **guard}, {"zone": "Z9", "version": 2})
    assert older.modified_count == 1
    newer = await docs.replace_one({"_id": "b", **guard}, {"zone": "Z9", "version": 2})
    assert newer.matched_count == 0
    assert (await docs.find_one({"_id": "b"}) or {})["zone"] == ["Z2", "Z1"]
    assert {d["_id"] async for d in docs.find({"zone": "Z9"})} == {"a"}


async def test_the_local_store_narrows_equalities_in_sql_and_leaves_the_rest_to_its_filter(
    docs: AsyncIOMotorCollection[Any],
) -> None:
    """Without the patch every filter but a lone _id read the whole collection: the answers above
    would still be right, so the narrowing itself is checked where the server reports it
    (FerretDB's explain says filterPushdown; MongoDB plans with its own indexes and has no such field)."""
    db = docs.database

    async def narrowed(flt: dict[str, Any]) -> bool | None:
        plan = await db.command("explain", {"find": docs.name, "filter": flt})
        return plan.get("filterPushdown")

    if await narrowed({"_id": "a"}) is None:
        pytest.skip("this server does not report filter pushdown (not FerretDB)")
    assert await narrowed({"zone": "Z1"}) is True
    assert await narrowed({"zone": {"$in": ["Z1", "<&>"]}, "done": False}) is True
    assert (
        await narrowed({"_id": "c", "$or": [{"version": {"$lt": 4}}, {"version": {"$exists": False}}]})
        is True
    )
    assert await narrowed({"$or": [{"zone": "Z1"}, {"status": "issued"}]}) is False
    assert await narrowed({"version": 1}) is False  # numbers are left to FerretDB's own filter
