"""The in-memory unit of work of one partition's batch (see ``Pipeline.handle_batch``).

The handlers of a batch's messages run one after another before anything of the batch is
stored. For each message to see exactly what it would see alone, the unit keeps:

- ``staged``: the last document each earlier message of the batch put (None: deleted);
  ``ctx.get`` answers from it first (a copy: a handler may change what it reads);
- ``reads``: the documents read by ``ctx.get`` so far in the batch, read once per batch
  (a document no earlier message of the batch staged is what the store holds: every
  aggregate is written only from this partition, R1);
- ``found``: what the store answered to a query by one field's value, read for the coming
  messages at once when their handlers declare it (``Handlers.on(..., reads=)``);
- ``dirty``: the collections earlier messages staged writes to. A handler that queries
  one of them through ``ctx.db`` (a filter, not ``ctx.get``) would not see those writes:
  the query raises :class:`FlushFirst` before it reaches the store, the pipeline stores
  the batch so far, and runs the message again on an empty unit — as alone. A read by
  ``_id`` alone (``find_one``) needs no flush: the staged document or the store's. A query of
  equalities through ``ctx.find`` needs no flush: the store's answer with the batch's
  staged documents laid over it (``overlay``) is exactly what the store would answer
  after them, since every one of them is known whole.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from motor.motor_asyncio import AsyncIOMotorCollection

if TYPE_CHECKING:
    from aiokafka import ConsumerRecord
    from motor.motor_asyncio import AsyncIOMotorDatabase

    from .events import CloudEvent

DocKey = tuple[str, Any]
QueryKey = tuple[str, str, Any]  # (collection, field, value)


@dataclass(frozen=True)
class Read:
    """What a handler will read, declared so a batch reads it for all its messages at once:
    a document by ``_id`` (``ctx.get``), or with ``field``, the documents whose ``field``
    equals ``value`` (``ctx.find(collection, field=value)``)."""

    collection: str
    value: Any
    field: str = "_id"


class FlushFirst(BaseException):
    """A handler asked the store about a collection the batch has unstored writes to.

    A BaseException so that a handler's own ``except Exception`` cannot swallow it."""

    def __init__(self, collection: str) -> None:
        super().__init__(collection)
        self.collection = collection


_IMMUTABLE = (str, int, float, bool, type(None), datetime, bytes)


def tree_copy(value: Any) -> Any:
    """A copy of a document as the store gives them (dicts, lists, immutable leaves): a handler
    may change what it was given without changing the unit's copy. Two to three times faster
    than ``copy.deepcopy`` on a zone copy with its roster (it keeps no memo); anything else is
    deep-copied."""
    kind = type(value)
    if kind is dict:
        return {k: tree_copy(v) for k, v in value.items()}
    if kind is list:
        return [tree_copy(v) for v in value]
    if kind in _IMMUTABLE:
        return value
    return copy.deepcopy(value)


@dataclass
class Unit:
    """The messages of a batch handled but not yet stored, and what they staged."""

    records: list[dict[str, Any]] = field(default_factory=list)  # processed records, in order
    causes: list[ConsumerRecord[Any, Any]] = field(default_factory=list)
    events: list[CloudEvent] = field(default_factory=list)
    staged: dict[DocKey, dict[str, Any] | None] = field(default_factory=dict)
    reads: dict[DocKey, dict[str, Any] | None] = field(default_factory=dict)
    found: dict[QueryKey, list[dict[str, Any]]] = field(default_factory=dict)
    dirty: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)  # the idempotency keys of ``records``
    started: float = field(default_factory=time.monotonic)  # when its first message came

    def __len__(self) -> int:
        return len(self.records)

    def known(self, key: DocKey) -> tuple[bool, dict[str, Any] | None]:
        """(True, doc) when the unit knows the document (staged or read before)."""
        if key in self.staged:
            return True, tree_copy(self.staged[key])
        if key in self.reads:
            return True, tree_copy(self.reads[key])
        return False, None

    def remember(self, key: DocKey, doc: dict[str, Any] | None) -> None:
        self.reads[key] = tree_copy(doc)

    def knows(self, read: Read) -> bool:
        if read.field == "_id":
            key = (read.collection, read.value)
            return key in self.staged or key in self.reads
        return (read.collection, read.field, read.value) in self.found

    def overlay(
        self, collection: str, equal: dict[str, Any], stored: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The store's answer to ``equal`` as it will be once the unit is stored: a staged
        document replaces (or removes) its stored copy in place, new ones that match come
        after (as the store lists a new document after the ones it holds)."""
        if collection not in self.dirty:
            return tree_copy(stored)
        out: list[dict[str, Any]] = []
        seen: set[Any] = set()
        for doc in stored:
            seen.add(doc["_id"])
            key = (collection, doc["_id"])
            if key in self.staged:
                staged = self.staged[key]
                if staged is None or not matches(staged, equal):
                    continue
                doc = staged
            out.append(doc)
        for (c, _id), staged in self.staged.items():
            if c == collection and _id not in seen and staged is not None and matches(staged, equal):
                out.append(staged)
        return tree_copy(out)

    def add(
        self,
        record_doc: dict[str, Any],
        cause: ConsumerRecord[Any, Any],
        event: CloudEvent,
        staged: dict[DocKey, dict[str, Any] | None],
    ) -> None:
        if not self.records:
            self.started = time.monotonic()
        self.records.append(record_doc)
        self.keys.add(record_doc["_id"])
        self.causes.append(cause)
        self.events.append(event)
        for key, doc in staged.items():
            self.staged[key] = tree_copy(doc)
            self.dirty.add(key[0])

    def clear(self) -> None:
        self.started = time.monotonic()
        self.records.clear()
        self.keys.clear()
        self.causes.clear()
        self.events.clear()
        self.staged.clear()
        self.reads.clear()
        self.found.clear()
        self.dirty.clear()


def matches(doc: dict[str, Any], equal: dict[str, Any]) -> bool:
    """Equalities on top-level fields as the store answers them (an array matches a member)."""
    return all(equals(doc.get(field), value) for field, value in equal.items())


def equals(stored: Any, value: Any) -> bool:
    return bool(stored == value or (isinstance(stored, list) and value in stored))


class KnownCollection:
    """A collection as ``ctx.db`` shows it in a batch: a read by ``_id`` alone is answered
    from what the unit knows (staged, or read before in this batch) or read once and
    remembered, like ``ctx.get``'s (a command's key, a project looked up message after
    message); anything else goes to the store."""

    def __init__(self, collection: AsyncIOMotorCollection[Any], unit: Unit, name: str) -> None:
        self._collection = collection
        self._unit = unit
        self._name = name

    async def find_one(self, filter: Any = None, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        projection = args[0] if args else kwargs.get("projection")
        by_id = len(args) <= 1 and set(kwargs) <= {"projection"} and isinstance(filter, dict)
        by_id = by_id and set(filter) == {"_id"} and not isinstance(filter["_id"], dict)
        if not by_id or (projection is not None and not _inclusion(projection)):
            return await self._elsewhere("find_one")(filter, *args, **kwargs)
        key = (self._name, filter["_id"])
        known, doc = self._unit.known(key)
        if not known:
            doc = await self._collection.find_one({"_id": filter["_id"]})
            self._unit.remember(key, doc)
        if doc is None or projection is None:
            return doc
        wanted = {"_id", *(f for f, on in projection.items() if on)}
        return {f: v for f, v in doc.items() if f in wanted}

    def _elsewhere(self, name: str) -> Any:
        return getattr(self._collection, name)

    def __getattr__(self, name: str) -> Any:
        return self._elsewhere(name)


class DirtyCollection(KnownCollection):
    """A collection the unit has unstored writes to: a read by ``_id`` alone is answered
    exactly (the only documents that differ from the store's are the staged ones); anything
    else first stores the unit."""

    def _elsewhere(self, name: str) -> Any:
        raise FlushFirst(self._name)


def _inclusion(projection: Any) -> bool:
    """A projection naming top-level fields to keep (``{"f": 1}``), the only kind answered here."""
    return isinstance(projection, dict) and all(
        isinstance(f, str) and "." not in f and on in (1, True) for f, on in projection.items()
    )


class GuardedDb:
    """``ctx.db`` inside a batch: the store, except for a query on a dirty collection."""

    def __init__(self, db: AsyncIOMotorDatabase[Any], unit: Unit) -> None:
        self._db = db
        self._unit = unit

    def _collection(self, name: str) -> AsyncIOMotorCollection[Any]:
        kind = DirtyCollection if name in self._unit.dirty else KnownCollection
        return kind(self._db[name], self._unit, name)  # type: ignore[return-value]

    def __getitem__(self, name: str) -> AsyncIOMotorCollection[Any]:
        return self._collection(name)

    def get_collection(self, name: str, *args: Any, **kwargs: Any) -> AsyncIOMotorCollection[Any]:
        kind = DirtyCollection if name in self._unit.dirty else KnownCollection
        return kind(self._db.get_collection(name, *args, **kwargs), self._unit, name)  # type: ignore[return-value]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in {"client", "name", "codec_options", "read_preference"}:
            return getattr(self._db, name)
        attr = getattr(self._db, name)
        if isinstance(attr, AsyncIOMotorCollection):
            return self._collection(name)
        return attr  # a database method (command, list_collection_names...)


__all__ = [
    "DirtyCollection",
    "FlushFirst",
    "GuardedDb",
    "KnownCollection",
    "Read",
    "Unit",
    "equals",
    "matches",
]
