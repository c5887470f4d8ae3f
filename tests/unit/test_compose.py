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


def test_keycloak_runs_the_demo_realm_and_every_service_checks_its_tokens(compose: dict[str, Any]) -> None:
    svc = compose["services"]
    keycloak = svc["keycloak"]
    assert keycloak["image"] == "quay.io/keycloak/keycloak:26.4.5"  # the provider of the local infra
    assert keycloak["command"][:2] == ["start-dev", "--import-realm"]
    assert "--hostname=http://localhost:8080" in keycloak["command"]
    assert keycloak["healthcheck"]["test"] and keycloak["depends_on"]["realm"]["condition"] == (
        "service_completed_successfully"
    )
    assert svc["realm"]["command"][:4] == ["python", "-m", "services.simulator", "realm"]
    [realm_volume] = svc["realm"]["volumes"]
    assert realm_volume.split(":")[0] in [v.split(":")[0] for v in keycloak["volumes"]]
    for name in SERVICES:
        env = svc[name]["environment"]
        assert env["PBZ_OIDC_ISSUER"] == "http://localhost:8080/realms/pbz"
        assert env["PBZ_OIDC_JWKS_URL"].startswith("http://keycloak:8080/realms/pbz/")
        assert svc[name]["depends_on"]["keycloak"]["condition"] == "service_healthy"


def test_the_web_app_reads_the_services_and_signs_in_at_keycloak(compose: dict[str, Any]) -> None:
    web = compose["services"]["web"]
    assert web["command"] == ["python", "-m", "services.web"]
    assert (ROOT / "services/web/__main__.py").exists()
    assert web["build"]["dockerfile"] == "deploy/Dockerfile" and web["restart"] == "unless-stopped"
    env = web["environment"]
    for name, (_, port) in SERVICES.items():
        assert env[f"PBZ_WEB_{name.replace('-', '_').upper()}_URL"] == f"http://{name}:{port}"
        assert web["depends_on"][name]["condition"] == "service_healthy"
    # The browser signs in at localhost:8080 (the tokens' issuer), the app fetches the provider's
    # configuration over the compose network, and the provider redirects back to port 8000.
    assert env["PBZ_OIDC_ISSUER"] == "http://localhost:8080/realms/pbz"
    assert env["PBZ_WEB_OIDC_METADATA_URL"].startswith("http://keycloak:8080/realms/pbz/")
    assert env["PBZ_WEB_PUBLIC_URL"] == "http://localhost:8000" and env["PBZ_HTTP_PORT"] == "8000"
    assert web["ports"] == ["8000:8000"] and "8000/healthz" in " ".join(web["healthcheck"]["test"])
    assert web["depends_on"]["keycloak"]["condition"] == "service_healthy"
    # Its ECharts is built from the committed npm lock file into the image.
    docker = (ROOT / "deploy/Dockerfile").read_text()
    assert "npm ci" in docker and "COPY services/web/package.json services/web/package-lock.json" in docker
    assert "static/vendor/echarts.min.js" in docker


def test_the_scram_profile_gives_every_service_its_own_principal() -> None:
    from services.kafka_acls import grants

    doc = yaml.safe_load((ROOT / "docker-compose.scram.yml").read_text())
    svc = doc["services"]
    for broker in BROKERS:  # every broker of the cluster runs the profile
        assert svc[broker]["entrypoint"][-1] == "/pbz/compose/kafka-scram.sh"
        assert f"{broker}:9092" in svc[broker]["healthcheck"]["test"][-1]
    assert "kafka" not in svc  # no broker the base file does not define
    assert (ROOT / "deploy/compose/kafka-scram.sh").exists()
    for name in SERVICES:
        env = svc[name]["environment"]
        assert env["PBZ_KAFKA_SECURITY"] == "scram" and env["PBZ_KAFKA_USERNAME"] == name
    assert svc["topics"]["environment"]["PBZ_KAFKA_USERNAME"] == "admin"
    # The grants the compose broker applies are the code's (python -m services.kafka_acls).
    text = (ROOT / "deploy/compose/kafka-acls.txt").read_text()
    assert text == "\n".join(g.line() for g in grants()) + "\n", (
        "run: python -m services.kafka_acls > deploy/compose/kafka-acls.txt"
    )


def test_the_acls_let_each_service_read_and_write_its_own_work_topic_and_the_clock() -> None:
    """A service re-keys commands and emits follow-ups to its own work topic and consumes it
    (issue 12's concurrency contract); with the wall clock each instance publishes the ticks.
    No publisher and no other service may write a service's work topic."""
    from services.kafka_acls import grants
    from shared.events import Topic

    work = {
        "zone-registry": Topic.ZONE_WORK.value,
        "activity-log": Topic.ACTIVITY_WORK.value,
        "permit-fasttrack": Topic.PERMIT_WORK.value,
        "assessment": Topic.ASSESSMENT_WORK.value,
    }
    by = {(g.role, g.principal): set(g.topics) for g in grants()}
    for service, topic in work.items():
        assert topic in by[("consumer", service)] and topic in by[("producer", service)]
        others = [p for (role, p), topics in by.items() if role == "producer" and p != service]
        assert not [p for p in others if topic in by[("producer", p)]], f"only {service} writes {topic}"
    for service in SERVICES:
        assert Topic.CLOCK.value in by[("producer", service)]


# --------------------------------------------------------------------------- operating it

OBS = ROOT / "deploy" / "observability"


def _mounts(svc: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host path of the files and folders a service mounts from the repo."""
    out = {}
    for volume in svc.get("volumes", []):
        host, container = volume.split(":")[:2]
        if host.startswith("./"):
            out[container] = ROOT / host[2:]
    return out


def _metric_names() -> set[str]:
    from prometheus_client import REGISTRY

    import shared.metrics  # noqa: F401  (registers the project's metrics)

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    names = set()
    for family in REGISTRY.collect():
        names.update(family.name + end for end in suffixes.get(family.type, ("",)))
    return names


def test_prometheus_scrapes_every_service_and_every_replica(compose: dict[str, Any]) -> None:
    prom = compose["services"]["prometheus"]
    assert prom["image"].startswith("prom/prometheus:")
    [config] = [h for c, h in _mounts(prom).items() if c == "/etc/prometheus/prometheus.yml"]
    assert f"--config.file={'/etc/prometheus/prometheus.yml'}" in prom["command"]
    jobs = {job["job_name"]: job for job in yaml.safe_load(config.read_text())["scrape_configs"]}
    for name, (_, port) in SERVICES.items():
        job = jobs[name]
        assert job["metrics_path"] == "/metrics"
        [sd] = job["dns_sd_configs"]
        assert sd["names"] == [name] and sd["port"] == port and sd["type"] == "A"  # every replica
        assert name in compose["services"]


def test_grafana_is_provisioned_with_its_data_sources_and_the_dashboard(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    assert grafana["image"].startswith("grafana/grafana:")
    mounts = _mounts(grafana)
    for host in mounts.values():
        assert host.exists(), host
    sources = yaml.safe_load(
        mounts["/etc/grafana/provisioning/datasources"].joinpath("datasources.yml").read_text()
    )
    by_uid = {d["uid"]: d for d in sources["datasources"]}
    assert (
        by_uid["prometheus"]["type"] == "prometheus"
        and by_uid["prometheus"]["url"] == "http://prometheus:9090"
    )
    assert by_uid["jaeger"]["type"] == "jaeger" and by_uid["jaeger"]["url"] == "http://jaeger:16686"
    providers = yaml.safe_load(
        mounts["/etc/grafana/provisioning/dashboards"].joinpath("dashboards.yml").read_text()
    )
    [provider] = providers["providers"]
    assert provider["type"] == "file" and provider["options"]["path"] in mounts
    dashboards = list(mounts[provider["options"]["path"]].glob("*.json"))
    assert dashboards and grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"].endswith(
        "pbz.json"
    )


def test_the_dashboard_shows_what_an_operator_needs_from_metrics_that_exist() -> None:
    import json
    import re

    dash = json.loads((OBS / "grafana" / "dashboards" / "pbz.json").read_text())
    titles = " | ".join(p["title"].lower() for p in dash["panels"])
    for wanted in ("throughput", "lag", "dead letters", "handler latency", "permits waiting"):
        assert wanted in titles, wanted
    known = _metric_names()
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)) and dash["uid"]
    for panel in dash["panels"]:
        assert panel["datasource"]["uid"] == "prometheus"
        for target in panel["targets"]:
            used = set(re.findall(r"\bpbz_[a-z_]+", target["expr"]))
            assert used and used <= known, (panel["title"], used - known)
            assert target["expr"].count("(") == target["expr"].count(")")


def test_jaeger_receives_the_services_traces_over_otlp(compose: dict[str, Any]) -> None:
    jaeger = compose["services"]["jaeger"]
    assert jaeger["image"].startswith("jaegertracing/all-in-one:")
    assert str(jaeger["environment"]["COLLECTOR_OTLP_ENABLED"]) == "true"
    assert any(str(p).endswith(":16686") for p in jaeger["ports"])
    for name in SERVICES:
        endpoint = compose["services"][name]["environment"]["PBZ_OTLP_ENDPOINT"]
        assert "http://jaeger:4318" in endpoint  # OTLP/HTTP, the exporter shared/tracing uses


def test_the_command_line_in_the_image_finds_the_services(compose: dict[str, Any]) -> None:
    import json

    for name in SERVICES:
        urls = json.loads(compose["services"][name]["environment"]["PBZ_SERVICE_URLS"])
        assert urls == {s: f"http://{s}:{port}" for s, (_, port) in SERVICES.items()}
    for volume in ("prometheus-data", "grafana-data"):
        assert volume in compose["volumes"]
