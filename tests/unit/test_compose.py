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


def test_infrastructure_is_kafka_kraft_and_mongo_with_health_checks(compose: dict[str, Any]) -> None:
    svc = compose["services"]
    kafka = svc["kafka"]
    assert kafka["image"].startswith("apache/kafka:4")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert str(kafka["environment"]["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"]) == "0"
    assert svc["mongo"]["image"].startswith("mongo:")
    for name in ("kafka", "mongo"):
        assert svc[name]["healthcheck"]["test"]
        assert svc[name]["restart"] == "unless-stopped"
        [volume] = svc[name]["volumes"]
        assert volume.split(":")[0] in compose["volumes"]  # named volumes


def test_topic_init_job_creates_the_catalogue_topics(compose: dict[str, Any]) -> None:
    topics = compose["services"]["topics"]
    assert topics["command"][:3] == ["python", "-m", "shared.admin"]
    assert "create-topics" in topics["command"]
    assert topics["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert topics["restart"] == "no"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_is_built_configured_checked_and_ordered(compose: dict[str, Any], name: str) -> None:
    module, port = SERVICES[name]
    svc = compose["services"][name]
    assert svc["build"]["dockerfile"] == "deploy/Dockerfile"
    assert "image" in svc
    assert svc["command"] == ["python", "-m", module]
    assert (ROOT / module.replace(".", "/") / "__main__.py").exists(), f"{module} has no __main__"
    env = svc["environment"]
    assert env["PBZ_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert env["PBZ_MONGO_URL"].startswith("mongodb://mongo:27017")
    assert f"{port}/readyz" in " ".join(svc["healthcheck"]["test"])
    deps = svc["depends_on"]
    assert deps["kafka"]["condition"] == "service_healthy"
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


def test_dockerfile_installs_the_project() -> None:
    text = (ROOT / "deploy/Dockerfile").read_text()
    assert text.startswith("# ") and "FROM python:3.11" in text
    for line in ("COPY shared ./shared", "COPY services ./services", "RUN pip install ."):
        assert line in text
    assert "USER pbz" in text


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
