"""Permit-fasttrack collections, indexes and reads: the only door to Mongo (handlers and API).

- ``permits``: one document per permit, the whole aggregate (written only by handlers of
  ``pbz.permit.work``, keyed by project: R1): the fields queries and indexes use at the top,
  the whole permit as one BSON value in ``state`` (see ``permit_doc``).
- ``open_permits``: a slim entry per open permit, written with it and deleted when it finishes —
  what the routers and the clock ask ("which permits wait on this fact?", "what is due?",
  "what waits for this person?") with indexed queries instead of scanning whole permits (R2: no
  document is shared by all partitions).
- ``permit_retention``: when a finished permit may be purged (at least one year, GB 30871-2022
  Appendix B.3).
- Facts, one document per fact, written once by the handler of their own topic: ``gas_tests``,
  ``checkins`` (morning check-ins per zone and local date), ``incidents``, ``isolations``,
  ``authorization_register`` (per member), and the zone copy (``shared.zone_copy``).
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import bson
from bson.codec_options import CodecOptions
from motor.motor_asyncio import AsyncIOMotorDatabase

from shared import zone_copy
from shared.events.catalog import PermitStatus
from shared.mongo import Index
from shared.pipeline import HandlerContext

from .domain import OPEN_UNISSUED, Permit, Placed, Rules

PERMITS = "permits"
OPEN = "open_permits"
RETENTION = "permit_retention"
CHECKINS = "checkins"
GAS_TESTS = "gas_tests"
INCIDENTS = "incidents"
ISOLATIONS = "isolations"
REGISTER = "authorization_register"

INDEXES = [
    *zone_copy.INDEXES,
    Index(PERMITS, [("zone_id", 1), ("status", 1)]),
    Index(PERMITS, [("project_id", 1), ("status", 1)]),
    Index(PERMITS, [("requested_at", 1)]),
    Index(PERMITS, [("kind", 1), ("status", 1)]),
    Index(OPEN, [("project_id", 1), ("status", 1)]),
    Index(OPEN, [("project_id", 1)]),  # open_in_project: FerretDB matches an index to the whole filter
    Index(OPEN, [("due_at", 1)]),
    Index(OPEN, [("waiting_members", 1)]),
    Index(OPEN, [("zone_id", 1), ("waiting_on_roles", 1)]),
    Index(RETENTION, [("purge_at", 1)]),
    Index(GAS_TESTS, [("project_id", 1), ("area", 1), ("tested_at", -1)]),
    Index(REGISTER, [("roles", 1)]),
]

DB = AsyncIOMotorDatabase[Any]

# What the permit routes filter and sort on, and the indexes above: kept beside the packed state.
QUERIED = ("permit_id", "kind", "zone_id", "project_id", "status", "work_class", "requested_at", "signing")
STATE = "state"
_DECODE: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=True, tzinfo=UTC)


def permit_doc(permit: Permit) -> dict[str, Any]:
    """The stored permit: the queried fields and the version at the top, the whole aggregate
    as one BSON value. Why: FerretDB's SQLite backend decodes and re-encodes every nested
    value of a document it replaces or returns, and a permit carries its history, signatures
    and gas tests (~5 KB): replacing one nested took 6.4 ms, packed 2.0 ms; reading it 3.7 ms
    against 1.3 ms (bench/permit_store.py). MongoDB reads and writes it just the same."""
    whole = permit.store_doc()
    top = {k: whole[k] for k in QUERIED}
    return {"_id": whole["_id"], **top, "version": whole["version"], STATE: bson.Binary(bson.encode(whole))}


def unpacked(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored permit as the whole aggregate's fields (a permit stored before packing is
    already whole). The top-level version is the stored one: the pipeline may have set it."""
    if STATE not in doc:
        return doc
    whole: dict[str, Any] = bson.decode(doc[STATE], codec_options=_DECODE)
    return {**whole, "version": doc.get("version", whole.get("version"))}


def permit_of(doc: dict[str, Any]) -> Permit:
    return Permit.model_validate(unpacked(doc))


def checkin_id(zone_id: str, local_date: str) -> str:
    return f"{zone_id}|{local_date}"


# --------------------------------------------------------------------------- the open-permit index


def waits(p: Permit, holders_of_host_rep: list[str]) -> list[dict[str, Any]]:
    """What waits for whom: unsigned roles of a permit collecting signatures, and the completion
    acceptance of a permit whose work is declared complete."""
    out: list[dict[str, Any]] = []
    if p.status in OPEN_UNISSUED and p.signatures_requested:
        todo = set(p.waiting_on())
        out += [
            {
                "role": r.role,
                "member_ids": r.member_ids,
                "since": r.since,
                "deadline": r.deadline,
                "what": "signature",
            }
            for r in p.requests
            if r.role in todo
        ]
    if p.status == PermitStatus.COMPLETING and p.completion is not None:
        out.append(
            {
                "role": "host_rep",
                "member_ids": holders_of_host_rep,
                "since": p.completion.declared_at,
                "deadline": None,
                "what": "completion_acceptance",
            }
        )
    return out


def index_entry(p: Permit, rules: Rules, holders_of_host_rep: list[str]) -> dict[str, Any]:
    w = waits(p, holders_of_host_rep)
    placed = p.placed(p.valid_from or p.requested_at, rules) if p.status == PermitStatus.ISSUED else None
    return {
        "_id": p.permit_id,
        "project_id": p.project_id,
        "zone_id": p.zone_id,
        "kind": str(p.kind),
        "work_class": p.work_class,
        "grade": p.grade,
        "source_id": p.source_id,
        "title": p.title,
        "area": p.area,
        "status": str(p.status),
        "blocked_reasons": list(p.blocked_reasons),
        "needs_gas": p.needs_gas(),
        "needs_zone": p.needs_zone(),
        "isolation_ids": [i.isolation_id for i in p.isolations],
        "due_at": p.next_due(rules),
        "sla_deadline": p.sla_deadline,
        "waiting": w,
        "waiting_members": sorted({m for x in w for m in x["member_ids"]}),
        "waiting_on_roles": sorted({x["role"] for x in w}),
        "placed": None
        if placed is None
        else {**placed.__dict__, "side_activities": list(placed.side_activities)},
    }


# A permit's project never changes (set when it is created; a re-plan keeps it), so once read
# it is remembered: each command to forward, and again on the work topic, asked the store.
_PROJECTS: OrderedDict[str, str] = OrderedDict()
PROJECTS_REMEMBERED = 50_000  # about 5 MB at most


def known_project(permit_id: str) -> str | None:
    """The project of a permit this process has read before (no store round trip)."""
    return _PROJECTS.get(permit_id)


def _remember_project(permit_id: str, project_id: str) -> None:
    _PROJECTS[permit_id] = project_id
    _PROJECTS.move_to_end(permit_id)
    while len(_PROJECTS) > PROJECTS_REMEMBERED:
        _PROJECTS.popitem(last=False)


async def project_of(db: DB, permit_id: str) -> str | None:
    """The project a permit belongs to (its partition key on ``pbz.permit.work``), or None for a
    permit this service does not know (not remembered: it may be created next). Read by ``_id``
    only: the open entry first (slim), then the permit (a finished one)."""
    if (known := known_project(permit_id)) is not None:
        return known
    for collection in (OPEN, PERMITS):
        doc = await db[collection].find_one({"_id": permit_id}, {"project_id": 1})
        if doc is not None:
            _remember_project(permit_id, str(doc["project_id"]))
            return str(doc["project_id"])
    return None


async def open_in_project(ctx: HandlerContext, project_id: str) -> list[dict[str, Any]]:
    """Through the handler's context: in a batch, what earlier messages staged is included."""
    return await ctx.find(OPEN, project_id=project_id)


async def due(db: DB, now: datetime, limit: int = 10_000) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = (
        await db[OPEN].find({"due_at": {"$lte": now}}, {"project_id": 1}).sort("due_at", 1).to_list(limit)
    )
    return docs


async def live_placed(ctx: HandlerContext, project_id: str) -> list[Placed]:
    docs = await ctx.find(OPEN, project_id=project_id, status=PermitStatus.ISSUED.value)
    out = []
    for d in docs:
        pl = d.get("placed")
        if pl:
            out.append(Placed(**{**pl, "side_activities": tuple(pl.get("side_activities", []))}))
    return out


async def purge_due(db: DB, now: datetime, limit: int = 10_000) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = await db[RETENTION].find({"purge_at": {"$lte": now}}).to_list(limit)
    return docs


# --------------------------------------------------------------------------- facts


async def latest_gas_test(db: DB, project_id: str, area: str) -> dict[str, Any] | None:
    """The newest test of an area, whenever it was taken (a check judges its time)."""
    docs: list[dict[str, Any]] = (
        await db[GAS_TESTS]
        .find({"project_id": project_id, "area": area})
        .sort("tested_at", -1)
        .limit(1)
        .to_list(1)
    )
    return docs[0] if docs else None


async def register(db: DB, roles: list[str]) -> dict[str, dict[str, Any]]:
    """The authorization register's entries holding any of ``roles``."""
    docs = await db[REGISTER].find({"roles": {"$in": roles}}).to_list(None)
    return {d["_id"]: d for d in docs}


# --------------------------------------------------------------------------- HTTP reads


async def get_permit(db: DB, permit_id: str) -> Permit | None:
    doc = await db[PERMITS].find_one({"_id": permit_id})
    return None if doc is None else permit_of(doc)


async def page_of_permits(
    db: DB, query: dict[str, Any], page: int, page_size: int
) -> tuple[int, list[Permit]]:
    total = await db[PERMITS].count_documents(query)
    docs = (
        await db[PERMITS]
        .find(query)
        .sort("requested_at", 1)
        .skip((page - 1) * page_size)
        .limit(page_size)
        .to_list(None)
    )
    return total, [permit_of(d) for d in docs]


async def all_permits(db: DB) -> list[dict[str, Any]]:
    """Every permit for the figures, without the bulky parts they do not need."""
    docs = await db[PERMITS].find({}).to_list(None)
    return [{k: v for k, v in unpacked(d).items() if k not in ("gas_readings", "plan")} for d in docs]


async def inbox_of_member(db: DB, member_id: str) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = await db[OPEN].find({"waiting_members": member_id}).to_list(None)
    return docs


async def inbox_of_role(db: DB, zone_id: str, role: str) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = (
        await db[OPEN].find({"zone_id": zone_id, "waiting_on_roles": role}).to_list(None)
    )
    return docs
