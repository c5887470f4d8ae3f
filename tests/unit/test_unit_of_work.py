"""The unit of work's answers to a query of equalities (``ctx.find`` in a batch): the store's
answer with what earlier messages staged laid over it, as the store would answer after them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import ConsumerRecord

from shared.events import make_event
from shared.unit_of_work import (
    DirtyCollection,
    FlushFirst,
    GuardedDb,
    KnownCollection,
    Read,
    Unit,
    matches,
    tree_copy,
)


def _unit(staged: dict[tuple[str, Any], dict[str, Any] | None]) -> Unit:
    unit = Unit()
    event = make_event(
        id="e1", type="quality.procedure-inspected", source="t", time=datetime.now(UTC), data={}
    )
    cause: ConsumerRecord[Any, Any] = ConsumerRecord("t", 0, 0, 0, 0, None, b"", None, 0, 0, [])
    unit.add({"_id": "t/e1", "writes": [], "events": []}, cause, event, staged)
    return unit


STORED = [
    {"_id": "a", "project": "P1", "status": "issued"},
    {"_id": "b", "project": "P1", "status": "approved"},
    {"_id": "c", "project": "P1", "status": "issued"},
]


def test_a_collection_nobody_staged_to_is_the_store_s_answer() -> None:
    unit = _unit({("other", "x"): {"_id": "x"}})
    answer = unit.overlay("open", {"project": "P1"}, STORED)
    assert answer == STORED and answer[0] is not STORED[0]  # a copy: a handler may change it


def test_a_staged_document_replaces_its_stored_copy_in_place() -> None:
    unit = _unit({("open", "b"): {"_id": "b", "project": "P1", "status": "issued"}})
    answer = unit.overlay("open", {"project": "P1", "status": "issued"}, [STORED[0], STORED[2]])
    assert [d["_id"] for d in answer] == ["a", "c", "b"]
    answer = unit.overlay("open", {"project": "P1"}, STORED)
    assert [d["_id"] for d in answer] == ["a", "b", "c"] and answer[1]["status"] == "issued"


def test_a_staged_delete_or_a_change_out_of_the_filter_leaves_the_answer() -> None:
    unit = _unit({("open", "a"): None, ("open", "c"): {"_id": "c", "project": "P1", "status": "closed"}})
    answer = unit.overlay("open", {"project": "P1", "status": "issued"}, [STORED[0], STORED[2]])
    assert answer == []


def test_a_new_staged_document_that_matches_comes_after_the_stored_ones() -> None:
    unit = _unit(
        {
            ("open", "d"): {"_id": "d", "project": "P1", "status": "issued"},
            ("open", "e"): {"_id": "e", "project": "P2", "status": "issued"},
        }
    )
    answer = unit.overlay("open", {"project": "P1"}, STORED)
    assert [d["_id"] for d in answer] == ["a", "b", "c", "d"]


def test_an_array_field_matches_a_member_as_the_store_does() -> None:
    assert matches({"roles": ["hse", "host_rep"]}, {"roles": "hse"})
    assert not matches({"roles": ["host_rep"]}, {"roles": "hse"})
    assert not matches({}, {"roles": "hse"})


def test_what_the_unit_knows_of_a_declared_read() -> None:
    unit = _unit({("permits", "p1"): {"_id": "p1"}})
    assert unit.knows(Read("permits", "p1"))
    assert not unit.knows(Read("permits", "p2"))
    unit.remember(("permits", "p2"), None)  # read: not there
    assert unit.knows(Read("permits", "p2")) and unit.known(("permits", "p2")) == (True, None)
    assert not unit.knows(Read("open", "P1", field="project"))
    unit.found[("open", "project", "P1")] = []
    assert unit.knows(Read("open", "P1", field="project"))
    unit.clear()
    assert not unit.knows(Read("permits", "p1")) and not unit.knows(Read("open", "P1", field="project"))


class _Store:
    """A collection's stand-in: what the store holds, and what it was asked."""

    def __init__(self, docs: dict[Any, dict[str, Any]]) -> None:
        self.docs = docs
        self.asked: list[Any] = []

    def find(self, filter: Any = None) -> str:
        self.asked.append(filter)
        return "a cursor"

    async def find_one(self, filter: Any = None, projection: Any = None) -> dict[str, Any] | None:
        self.asked.append(filter)
        doc = self.docs.get(filter.get("_id"))
        if doc is None or projection is None:
            return doc
        return {f: v for f, v in doc.items() if f == "_id" or f in projection}


async def test_a_read_by_id_on_a_dirty_collection_is_the_staged_document_or_the_store_s() -> None:
    unit = _unit(
        {("open", "p1"): {"_id": "p1", "project_id": "P9", "status": "issued"}, ("open", "p2"): None}
    )
    store = _Store({"p1": {"_id": "p1", "project_id": "P1"}, "p3": {"_id": "p3", "project_id": "P3"}})
    col = DirtyCollection(store, unit, "open")  # type: ignore[arg-type]
    assert await col.find_one({"_id": "p1"}, {"project_id": 1}) == {"_id": "p1", "project_id": "P9"}
    assert await col.find_one({"_id": "p2"}) is None  # staged as deleted
    assert await col.find_one({"_id": "p3"}, projection={"project_id": 1}) == {
        "_id": "p3",
        "project_id": "P3",
    }
    assert await col.find_one({"_id": "p3"}) == {"_id": "p3", "project_id": "P3"}
    assert store.asked == [{"_id": "p3"}]  # only what the unit did not know, and once


async def test_any_other_query_on_a_dirty_collection_stores_the_unit_first() -> None:
    unit = _unit({("open", "p1"): {"_id": "p1", "project_id": "P9"}})
    col = DirtyCollection(_Store({}), unit, "open")  # type: ignore[arg-type]
    for filter_, projection in (
        ({"project_id": "P9"}, None),
        ({"_id": {"$in": ["p1"]}}, None),
        ({"_id": "p1"}, {"project_id": 0}),
        ({"_id": "p1"}, {"a.b": 1}),
    ):
        with pytest.raises(FlushFirst):
            await col.find_one(filter_, projection)
    with pytest.raises(FlushFirst):
        col.find({"project_id": "P9"})


async def test_a_read_by_id_on_a_clean_collection_is_read_once_a_batch() -> None:
    """A command's key (its permit's project), looked up message after message: the unit
    answers what it read or prefetched; other queries go to the store as they are."""
    unit = Unit()
    unit.remember(("open", "p1"), {"_id": "p1", "project_id": "P1", "status": "issued"})
    unit.remember(("open", "p2"), None)  # prefetched: not there
    store = _Store({"p3": {"_id": "p3", "project_id": "P3"}})
    col = KnownCollection(store, unit, "open")  # type: ignore[arg-type]
    assert await col.find_one({"_id": "p1"}, {"project_id": 1}) == {"_id": "p1", "project_id": "P1"}
    assert await col.find_one({"_id": "p2"}, {"project_id": 1}) is None
    for _ in range(2):
        assert await col.find_one({"_id": "p3"}, {"project_id": 1}) == {"_id": "p3", "project_id": "P3"}
    assert store.asked == [{"_id": "p3"}]
    assert await col.find_one({"project_id": "P3"}) is None  # not by _id alone: the store's answer
    assert col.find({"project_id": "P1"}) == "a cursor"
    assert store.asked == [{"_id": "p3"}, {"project_id": "P3"}, {"project_id": "P1"}]


def test_ctx_db_in_a_batch_is_known_or_dirty_by_what_the_unit_staged() -> None:
    unit = _unit({("open", "p1"): {"_id": "p1"}})
    db = GuardedDb({"open": _Store({}), "zones": _Store({})}, unit)  # type: ignore[arg-type]
    assert isinstance(db["open"], DirtyCollection)
    assert isinstance(db["zones"], KnownCollection) and not isinstance(db["zones"], DirtyCollection)


def test_a_document_the_unit_hands_out_is_a_copy_down_to_its_leaves() -> None:
    """What a handler changes in what ``ctx.get`` gave it never changes the unit's copy (the
    next message of the batch must see what was staged, as it would alone)."""
    when = datetime(2026, 5, 1, 8, tzinfo=UTC)
    doc = {"_id": "Z-1", "members": [{"member_id": "M1", "joined_at": when, "tags": ("a",)}], "n": 1}
    unit = Unit()
    unit.remember(("zones", "Z-1"), doc)
    doc["members"][0]["member_id"] = "changed after it was read"
    _, given = unit.known(("zones", "Z-1"))
    assert given == {
        "_id": "Z-1",
        "members": [{"member_id": "M1", "joined_at": when, "tags": ("a",)}],
        "n": 1,
    }
    assert given is not None
    given["members"].append({"member_id": "M2"})
    given["members"][0]["tags"] = ("b",)
    _, again = unit.known(("zones", "Z-1"))
    assert again == {
        "_id": "Z-1",
        "members": [{"member_id": "M1", "joined_at": when, "tags": ("a",)}],
        "n": 1,
    }
    assert tree_copy(given) == given and tree_copy(given) is not given
