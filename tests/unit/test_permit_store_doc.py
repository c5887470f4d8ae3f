"""The stored permit: the queried fields at the top, the whole aggregate packed beside them,
and the permit read back exactly as it was (no Mongo)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import bson
import pytest

from services.permit_fasttrack import store
from services.permit_fasttrack.domain import Permit

from .permit_fixtures import at, issued, prepared, requested, signed


def _through_the_wire(doc: dict[str, Any]) -> dict[str, Any]:
    """What a tz-aware client reads back of a stored document."""
    return bson.decode(bson.encode(doc), codec_options=store._DECODE)


@pytest.mark.parametrize(
    "permit",
    [requested(), signed(requested()), prepared(signed(requested())), issued(), issued(["confined_space"])],
    ids=["requested", "signed", "prepared", "issued", "issued-confined"],
)
def test_a_stored_permit_reads_back_as_it_was(permit: Permit) -> None:
    stored = _through_the_wire(store.permit_doc(permit))
    assert store.permit_of(stored) == Permit.model_validate(_through_the_wire(permit.store_doc()))
    assert store.permit_of(stored).history == permit.history


def test_the_fields_queries_use_are_at_the_top_and_the_rest_is_packed() -> None:
    permit = issued()
    stored = store.permit_doc(permit)
    assert set(stored) == {"_id", *store.QUERIED, "version", store.STATE}
    assert stored["_id"] == permit.permit_id and stored["status"] == "issued"
    assert stored["requested_at"] == permit.requested_at and stored["version"] == permit.version
    assert "history" not in stored and "signatures" not in stored


def test_the_stored_version_wins_over_the_packed_one() -> None:
    """The pipeline may set an aggregate's version on the document it writes."""
    stored = _through_the_wire(store.permit_doc(issued()))
    assert store.permit_of({**stored, "version": 41}).version == 41


def test_a_permit_stored_before_packing_still_reads() -> None:
    permit = issued()
    assert store.permit_of(_through_the_wire(permit.store_doc())).permit_id == permit.permit_id
    assert store.unpacked({"_id": "x", "status": "issued"}) == {"_id": "x", "status": "issued"}


def test_times_come_back_aware_in_utc() -> None:
    stored = _through_the_wire(store.permit_doc(requested()))
    assert store.permit_of(stored).requested_at == at(7)
    assert store.unpacked(stored)["requested_at"].tzinfo == UTC


class _Collection:
    def __init__(self, docs: dict[str, dict[str, Any]], reads: list[str]) -> None:
        self.docs, self.reads = docs, reads

    async def find_one(self, query: dict[str, Any], projection: Any = None) -> dict[str, Any] | None:
        self.reads.append(query["_id"])
        return self.docs.get(query["_id"])


class _Db:
    """The two collections ``project_of`` reads, counting the reads."""

    def __init__(self, open_entries: dict[str, dict[str, Any]]) -> None:
        self.reads: list[str] = []
        self.open = _Collection(open_entries, self.reads)
        self.permits = _Collection({}, self.reads)

    def __getitem__(self, name: str) -> _Collection:
        return self.open if name == store.OPEN else self.permits


async def test_a_permits_project_is_read_once_and_an_unknown_permit_is_asked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(store, "_PROJECTS", type(store._PROJECTS)())
    db = _Db({"WP-1": {"_id": "WP-1", "project_id": "P-1"}})
    assert await store.project_of(db, "WP-1") == "P-1"  # type: ignore[arg-type]
    assert await store.project_of(db, "WP-1") == "P-1"  # type: ignore[arg-type]
    assert db.reads == ["WP-1"] and store.known_project("WP-1") == "P-1"
    assert await store.project_of(db, "WP-2") is None  # type: ignore[arg-type]
    db.open.docs["WP-2"] = {"_id": "WP-2", "project_id": "P-2"}  # created meanwhile
    assert await store.project_of(db, "WP-2") == "P-2"  # type: ignore[arg-type]


def test_the_projects_remembered_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "_PROJECTS", type(store._PROJECTS)())
    monkeypatch.setattr(store, "PROJECTS_REMEMBERED", 3)
    for i in range(5):
        store._remember_project(f"WP-{i}", f"P-{i}")
    assert list(store._PROJECTS) == ["WP-2", "WP-3", "WP-4"]
