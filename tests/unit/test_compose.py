"""docker-compose.yml validated statically (no Docker engine on these machines)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {
    "zone-registry": ("services.zone_registry", 8001),
    "activity-log": ("services.activity_log", 8002),
    "permit-fasttrack": ("services.permit_fasttrack", 8003),
    "assessment": ("services.assessment", 8004),
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(doc, dict)
    return doc


BROKERS = ("kafka-1", "kafka-2", "kafka-3")


def test_infrastructure_is_three_kraft_brokers_and_a_mongo_replica_set_with_health_checks(
    compose: dict[str, Any],
) -> None:
    svc = compose["services"]
    voters = set()
    for n, name in enumerate(BROKERS, start=1):
        kafka = svc[name]
        env = kafka["environment"]
        assert kafka["image"].startswith("apache/kafka:4")
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert int(env["KAFKA_NODE_ID"]) == n
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        voters.add(env["KAFKA_CONTROLLER_QUORUM_VOTERS"])
        assert env["CLUSTER_ID"]
        assert str(env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"]) == "0"
        # Three replicas, two in sync for every acknowledged write, internal topics too.
        assert int(env["KAFKA_DEFAULT_REPLICATION_FACTOR"]) == 3
        assert int(env["KAFKA_MIN_INSYNC_REPLICAS"]) == 2
        assert int(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"]) == 3
        assert int(env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"]) == 3
        assert int(env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"]) == 2
        assert str(env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"]) == "false"
    assert voters == {"1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"}  # one quorum of three
    assert len({svc[b]["environment"]["CLUSTER_ID"] for b in BROKERS}) == 1
    mongo = svc["mongo"]
    assert mongo["image"].startswith("mongo:")
    assert mongo["command"][:2] == ["--replSet", "rs0"]
    check = " ".join(mongo["healthcheck"]["test"])
    assert "rs.initiate" in check and "isWritablePrimary" in check  # healthy = a primary
    for name in (*BROKERS, "mongo"):
        assert svc[name]["healthcheck"]["test"]
        assert svc[name]["restart"] == "unless-stopped"
        [volume] = svc[name]["volumes"]
        assert volume.split(":")[0] in compose["volumes"]  # named volumes
    assert len({svc[b]["volumes"][0] for b in BROKERS}) == 3  # one volume each


def test_topic_init_job_creates_the_catalogue_topics(compose: dict[str, Any]) -> None:
    topics = compose["services"]["topics"]
    assert topics["command"][:3] == ["python", "-m", "shared.admin"]
    assert "create-topics" in topics["command"]
    for broker in BROKERS:
        assert topics["depends_on"][broker]["condition"] == "service_healthy"
    assert topics["restart"] == "no"
    # Replication is a setting: the job creates three replicas, two in sync.
    assert int(topics["environment"]["PBZ_TOPIC_REPLICATION"]) == 3
    assert int(topics["environment"]["PBZ_TOPIC_MIN_INSYNC_REPLICAS"]) == 2


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_is_built_configured_checked_and_ordered(compose: dict[str, Any], name: str) -> None:
    module, port = SERVICES[name]
    svc = compose["services"][name]
    assert svc["build"]["dockerfile"] == "deploy/Dockerfile"
    assert "image" in svc
    assert svc["command"] == ["python", "-m", module]
    assert (ROOT / module.replace(".", "/") / "__main__.py").exists(), f"{module} has no __main__"
    env = svc["environment"]
    assert env["PBZ_KAFKA_BOOTSTRAP"].split(",") == [f"{b}:9092" for b in BROKERS]
    assert env["PBZ_MONGO_URL"].startswith("mongodb://mongo:27017")
    assert "replicaSet=rs0" in env["PBZ_MONGO_URL"]
    assert env["PBZ_GROUP_INSTANCE_ID"] == "hostname"  # static membership per container
    assert f"{port}/readyz" in " ".join(svc["healthcheck"]["test"])
    deps = svc["depends_on"]
    for broker in BROKERS:
        assert deps[broker]["condition"] == "service_healthy"
    assert deps["mongo"]["condition"] == "service_healthy"
    assert deps["topics"]["condition"] == "service_completed_successfully"
    assert svc["restart"] == "unless-stopped"
    assert any(str(p).endswith(f":{port}") for p in svc["ports"])


def test_permit_fasttrack_can_scale_out(compose: dict[str, Any]) -> None:
    # A host port range leaves room for `--scale permit-fasttrack=3`.
    [ports] = compose["services"]["permit-fasttrack"]["ports"]
    host, container = ports.split(":")
    lo, hi = (int(p) for p in host.split("-"))
    assert hi - lo + 1 >= 3 and container == "8003"


def test_services_write_to_mongo_with_majority_journaled_writes() -> None:
    from shared.mongo import make_client

    client = make_client("mongodb://mongo:27017/?replicaSet=rs0")
    concern = client.write_concern.document
    assert concern["w"] == "majority" and concern["j"] is True


def test_dockerfile_installs_the_project() -> None:
    text = (ROOT / "deploy/Dockerfile").read_text()
    assert text.startswith("# ") and "FROM python:3.11" in text
    for line in ("COPY shared ./shared", "COPY services ./services", "RUN pip install ."):
        assert line in text
    assert "USER pbz" in text
