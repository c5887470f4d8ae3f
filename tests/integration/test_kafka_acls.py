"""Kafka's own authentication and authorization: the SASL/SCRAM profile of the local infra
(``deploy/local/infra.sh scram-up``: a second broker with the StandardAuthorizer, one
principal per service and per enterprise publisher, the ACLs of ``services.kafka_acls``).
A publisher writes its own ``ent.*`` topic and nothing else; only services write
``pbz.*.events``; a service runs on it as its own principal."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError

from services.kafka_acls import demo_password
from services.zone_registry.app import definition as zone_registry
from shared.events import CONTENT_TYPE, CloudEvent, Topic, make_event
from shared.settings import ServiceSettings
from tests.support import eventually, running

ROOT = Path(__file__).resolve().parents[2]
OFFSET = ServiceSettings().port_offset
SCRAM = f"127.0.0.1:{9094 + OFFSET}"
ADMIN_PASSWORD = "admin-kafka-demo"


def sasl(principal: str, password: str | None = None) -> dict[str, Any]:
    return {
        "bootstrap_servers": SCRAM,
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": principal,
        "sasl_plain_password": password if password is not None else demo_password(principal),
    }


@pytest.fixture(scope="module")
def scram_broker() -> Iterator[str]:
    """The SASL/SCRAM broker, started (and stopped) by the local infra script."""
    done = subprocess.run([str(ROOT / "deploy/local/infra.sh"), "scram-up"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    try:
        yield SCRAM
    finally:
        subprocess.run([str(ROOT / "deploy/local/infra.sh"), "scram-down"], capture_output=True)


async def producer(principal: str, password: str | None = None) -> AIOKafkaProducer:
    p = AIOKafkaProducer(**sasl(principal, password), request_timeout_ms=10000)
    await p.start()
    return p


def fact(event_type: str, data: dict[str, Any], source: str) -> bytes:
    from datetime import UTC, datetime

    return make_event(type=event_type, source=source, time=datetime.now(UTC), data=data).to_json()


async def written(p: AIOKafkaProducer, topic: str) -> bool:
    """True when the broker took the record; False when it refused the principal."""
    try:
        # Keyed: pbz.zone.events is compacted, and a compacted topic refuses records without a key.
        await p.send_and_wait(
            topic, b'{"probe": true}', key=b"probe", headers=[("content-type", CONTENT_TYPE.encode())]
        )
    except TopicAuthorizationFailedError:
        return False
    return True


async def test_a_publisher_writes_its_own_topic_and_is_refused_on_any_other(scram_broker: str) -> None:
    pm = await producer("pm-system")
    zr = await producer("zone-registry")
    try:
        assert await written(pm, Topic.PROJECTS.value)
        assert not await written(pm, Topic.SAFETY.value)  # another publisher's topic
        assert not await written(pm, Topic.ZONE_EVENTS.value)  # only services write pbz.*.events
        assert not await written(pm, Topic.ZONE_COMMANDS.value)
        assert await written(zr, Topic.ZONE_EVENTS.value)
        assert not await written(zr, Topic.PERMIT_EVENTS.value)  # a service writes its own events
    finally:
        await pm.stop()
        await zr.stop()
    with pytest.raises(KafkaError):
        await producer("pm-system", "not-its-password")


@pytest.fixture
async def admin_reader(scram_broker: str) -> AsyncIterator[AIOKafkaConsumer]:
    consumer = AIOKafkaConsumer(**sasl("admin", ADMIN_PASSWORD), enable_auto_commit=False)
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()


async def test_a_service_runs_on_it_as_its_own_principal(
    scram_broker: str, admin_reader: AIOKafkaConsumer
) -> None:
    project = f"P-acl-{uuid.uuid4().hex[:6]}"
    tps = [TopicPartition(Topic.ZONE_EVENTS.value, p) for p in range(6)]
    admin_reader.assign(tps)
    for tp, end in (await admin_reader.end_offsets(tps)).items():
        admin_reader.seek(tp, end)
    credentials = {
        "kafka_bootstrap": scram_broker,
        "kafka_security": "scram",
        "kafka_username": "zone-registry",
        "kafka_password": demo_password("zone-registry"),
    }
    async with running(zone_registry, **credentials):
        pm = await producer("pm-system")
        try:
            registered = {
                "project_id": project,
                "name": "权限测试工程",
                "category": "new_build",
                "scale": "large",
                "key_project": True,
                "region": "北区",
                "planned_start": "2026-04-01",
                "planned_end": "2026-12-31",
                "units": [{"unit_id": "H1", "name": "采油一厂", "role": "host"}],
            }
            await pm.send_and_wait(
                Topic.PROJECTS.value,
                fact("project.registered", registered, "pm-system"),
                key=project.encode(),
                headers=[("content-type", CONTENT_TYPE.encode())],
            )
        finally:
            await pm.stop()
        seen: list[CloudEvent] = []

        async def established() -> bool:
            batch = await admin_reader.getmany(timeout_ms=200)
            seen.extend(CloudEvent.model_validate_json(r.value) for rs in batch.values() for r in rs)
            return any(
                e.type == "zone.established" and project in e.data["zone"]["project_ids"] for e in seen
            )

        await eventually(established, timeout=60, what="the zone established through the SCRAM broker")
