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
    assert svc["kafka"]["entrypoint"][-1] == "/pbz/compose/kafka-scram.sh"
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
