"""Motor client factory and index creation. Each service owns one database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from bson.codec_options import CodecOptions
from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase


@dataclass(frozen=True)
class Index:
    """An index a service's queries need; created at start-up (idempotent)."""

    collection: str
    keys: list[tuple[str, int]]
    unique: bool = False
    name: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


def make_client(url: str, timeout_ms: int = 5000) -> AsyncIOMotorClient[Any]:
    """A client whose writes are durable when acknowledged: a majority of the replica set
    (one node, or a real set) has them, journaled. The pipeline commits a Kafka offset
    only after the message's writes are acknowledged, so an acknowledged write must not be
    lost by a crash. (FerretDB accepts the write concern; its SQLite runs with
    ``synchronous=FULL``, see deploy/local/infra.sh.)"""
    return AsyncIOMotorClient(
        url,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=max(timeout_ms * 4, 20000),
        w="majority",
        journal=True,
        tz_aware=True,
        tzinfo=UTC,
    )


def database(client: AsyncIOMotorClient[Any], name: str) -> AsyncIOMotorDatabase[Any]:
    return client.get_database(name, codec_options=CodecOptions(tz_aware=True, tzinfo=UTC))


async def ensure_indexes(db: AsyncIOMotorDatabase[Any], indexes: list[Index]) -> None:
    for ix in indexes:
        kwargs: dict[str, Any] = dict(ix.options)
        if ix.unique:
            kwargs["unique"] = True
        if ix.name:
            kwargs["name"] = ix.name
        await db[ix.collection].create_index(ix.keys, **kwargs)
