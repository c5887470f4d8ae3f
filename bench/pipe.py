"""The physical ceiling beside the services: what one Python consumer moves through the same
local broker and Mongo-protocol server when it does (almost) nothing.

    PBZ_PORT_OFFSET=... .venv/bin/python -m bench.pipe [--events 20000] [--size 1024]

Publishes ``events`` CloudEvents of about ``size`` bytes to a fresh 6-partition topic, then
reads them three times, each with a fresh consumer group, the way the services' pipeline
does — fetch what the broker has (at most ``PBZ_BATCH_MAX_RECORDS`` per partition), publish
one event per record to an output topic with the sends pipelined (the services' producer
settings: linger, compression, acks=all, idempotence), commit the fetched offsets once:

- ``raw``: nothing else;
- ``insert each``: one awaited ``insert_one`` per record before its event is sent;
- ``batched``: one ``insert_many`` per partition's batch.

Prints events/s with the load average beside each figure (the machine is shared: figures,
never assertions). Needs the local infrastructure (``make infra-up``).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from motor.motor_asyncio import AsyncIOMotorClient

from shared.mongo import make_client
from shared.settings import ServiceSettings

PARTITIONS = 6
Step = Callable[[TopicPartition, list[ConsumerRecord[bytes, bytes]]], Awaitable[None]]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


def envelope(i: int, size: int) -> bytes:
    body = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "type": "bench.pipe",
        "source": "bench",
        "time": datetime.now(UTC).isoformat(),
        "data": {"n": i, "pad": ""},
    }
    pad = max(0, size - len(orjson.dumps(body)))
    body["data"] = {"n": i, "pad": uuid.uuid4().hex * (pad // 32 + 1)}
    body["data"]["pad"] = body["data"]["pad"][:pad]
    return orjson.dumps(body)


class Pipe:
    def __init__(self, settings: ServiceSettings, events: int, size: int, batch: int = 100) -> None:
        self.settings = settings
        self.events = events
        self.size = size
        self.batch = batch  # records per fetch and partition (the ceiling: one fetch, one batch)
        run = uuid.uuid4().hex[:8]
        self.topic_in = f"bench.pipe.{run}.in"
        self.topic_out = f"bench.pipe.{run}.out"
        self.mongo: AsyncIOMotorClient[Any] = make_client(settings.mongo_url)
        self.db = self.mongo[f"bench_pipe_{run}"]

    async def setup(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in (self.topic_in, self.topic_out)])
        finally:
            await admin.close()
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap, **self.settings.kafka_producer_options()
        )
        await producer.start()
        try:
            for i in range(self.events):
                await producer.send(self.topic_in, envelope(i, self.size), key=f"k{i % 60}".encode())
            await producer.flush()
        finally:
            await producer.stop()

    async def teardown(self) -> None:
        await self.mongo.drop_database(self.db.name)
        self.mongo.close()
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap)
        await admin.start()
        try:
            await admin.delete_topics([self.topic_in, self.topic_out])
        finally:
            await admin.close()

    async def run(self, name: str, make_step: Callable[[AIOKafkaProducer], Step]) -> float:
        """Events per second through one consumer doing ``step`` per partition batch."""
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap, **self.settings.kafka_producer_options()
        )
        consumer = AIOKafkaConsumer(
            self.topic_in,
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=f"bench-pipe-{name.replace(' ', '-')}-{uuid.uuid4().hex[:6]}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.batch * PARTITIONS,
        )
        await producer.start()
        await consumer.start()
        step = make_step(producer)
        seen = 0
        started: float | None = None
        try:
            while seen < self.events:
                fetched = await consumer.getmany(timeout_ms=1000, max_records=self.batch)
                if started is None and fetched:
                    started = time.perf_counter()
                await asyncio.gather(*(step(tp, records) for tp, records in fetched.items()))
                if fetched:
                    await consumer.commit({tp: rs[-1].offset + 1 for tp, rs in fetched.items()})
                seen += sum(len(rs) for rs in fetched.values())
            elapsed = time.perf_counter() - (started or time.perf_counter())
        finally:
            await consumer.stop()
            await producer.stop()
        return self.events / elapsed

    def send_all(self, producer: AIOKafkaProducer) -> Callable[[list[ConsumerRecord[bytes, bytes]]], Any]:
        async def send(records: list[ConsumerRecord[bytes, bytes]]) -> None:
            futures = [
                await producer.send(self.topic_out, r.value, key=r.key, headers=r.headers) for r in records
            ]
            await asyncio.gather(*futures)

        return send

    def raw(self, producer: AIOKafkaProducer) -> Step:
        send = self.send_all(producer)

        async def step(tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]]) -> None:
            await send(records)

        return step

    def insert_each(self, producer: AIOKafkaProducer) -> Step:
        send = self.send_all(producer)
        coll = self.db["each"]

        async def step(tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]]) -> None:
            for r in records:
                await coll.insert_one(_doc(r))
            await send(records)

        return step

    def batched(self, producer: AIOKafkaProducer) -> Step:
        send = self.send_all(producer)
        coll = self.db["batched"]

        async def step(tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]]) -> None:
            await coll.insert_many([_doc(r) for r in records], ordered=True)
            await send(records)

        return step


def _doc(r: ConsumerRecord[bytes, bytes]) -> dict[str, Any]:
    event = orjson.loads(r.value)
    return {"_id": f"{r.topic}/{r.partition}/{r.offset}", "id": event["id"], "data": event["data"]}


async def measure(events: int = 20_000, size: int = 1024, batch: int = 100) -> dict[str, float]:
    settings = ServiceSettings()
    pipe = Pipe(settings, events, size, batch)
    print(
        f"pipe: {events} events of {size} bytes, {PARTITIONS} partitions, one consumer; producer "
        f"linger {settings.kafka_linger_ms} ms, {settings.kafka_compression}, acks=all, idempotent"
    )
    await pipe.setup()
    figures: dict[str, float] = {}
    try:
        for name, make in (("raw", pipe.raw), ("insert each", pipe.insert_each), ("batched", pipe.batched)):
            rate = await pipe.run(name, make)
            figures[name] = rate
            print(f"  {name:12} {rate:8.0f} events/s   ({load()})", flush=True)
    finally:
        await pipe.teardown()
    return figures


def main(events: int = 20_000, size: int = 1024, batch: int = 100) -> None:
    asyncio.run(measure(events, size, batch))


if __name__ == "__main__":
    typer.run(main)
