"""deploy/compose.yaml, checked statically (no container engine here): services, volumes, ports, env."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from dicomnode.config import Config, load_config
from tests.deploy.conftest import DEPLOY, REPO_ROOT, interpolate

COMPOSE = DEPLOY / "compose.yaml"
NODE_SERVICES = ("migrate", "node", "worker")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _config(service: dict, monkeypatch: pytest.MonkeyPatch) -> Config:
    """The configuration a dicomnode container of ``service`` would run with (image's file + environment)."""
    for key, value in interpolate(service.get("environment", {})).items():
        monkeypatch.setenv(key, str(value))
    return load_config(DEPLOY / "docker" / "dicomnode.toml")


def test_services_and_images(compose):
    services = compose["services"]
    assert {"postgres", "orthanc", *NODE_SERVICES} <= set(services)
    images = {services[name]["image"] for name in NODE_SERVICES}
    assert len(images) == 1, "node, worker and migrate run the one dicomnode image"
    build = services["node"]["build"]
    assert (COMPOSE.parent / build["context"]).resolve() == REPO_ROOT
    assert (REPO_ROOT / build["dockerfile"]).is_file()


def test_volumes_are_declared_and_bind_mounts_exist(compose):
    declared = set(compose["volumes"])
    used = set()
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith((".", "/")):
                assert (COMPOSE.parent / source).exists(), f"{name}: bind mount {source} does not exist"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"
                used.add(source)
    assert used == declared, f"declared but unused volumes: {declared - used}"


def test_networks_are_declared(compose):
    for name, service in compose["services"].items():
        assert set(service.get("networks", [])) <= set(compose["networks"]), name


def test_start_order_postgres_then_migration_then_node(compose):
    services = compose["services"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["migrate"]["command"] == ["dicomnode", "db", "upgrade"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("node", "worker"):
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert services["node"]["command"][:2] == ["dicomnode", "serve"]
    assert services["worker"]["command"][:2] == ["dicomnode", "worker"]


def test_node_configuration_is_valid_and_published(compose, monkeypatch):
    from dicomnode.admin.server import check_binding

    config = _config(compose["services"]["node"], monkeypatch)
    check_binding(config.admin)  # admin on 0.0.0.0 only with a token
    assert config.inference.workers == 0
    published = {int(port.split(":")[-1]) for port in compose["services"]["node"]["ports"]}
    assert published == {config.node.port, config.admin.port} == {11112, 8080}
    subnet = compose["networks"]["dicom"]["ipam"]["config"][0]["subnet"]
    assert subnet in {peer.host for peer in config.security.allowed}, "Orthanc's network must be allowed to send"


def test_database_url_points_at_the_postgres_service(compose, monkeypatch):
    postgres = interpolate(compose["services"]["postgres"]["environment"])
    for name in NODE_SERVICES:
        url = urlsplit(_config(compose["services"][name], monkeypatch).database.url)
        assert (url.hostname, url.port, url.path.lstrip("/")) == ("postgres", 5432, postgres["POSTGRES_DB"])
        assert (url.username, url.password) == (postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"])


def test_node_and_orthanc_know_each_other(compose, monkeypatch):
    config = _config(compose["services"]["node"], monkeypatch)
    orthanc = json.loads((DEPLOY / "orthanc" / "orthanc.json").read_text())
    [destination] = config.destinations
    assert (destination.host, destination.port, destination.ae_title) == ("orthanc", orthanc["DicomPort"], orthanc["DicomAet"])
    modality = orthanc["DicomModalities"]["dicomnode"]
    assert (modality["Host"], modality["Port"], modality["AET"]) == ("node", config.node.port, config.node.ae_title)
    assert {int(p.split(":")[-1]) for p in compose["services"]["orthanc"]["ports"]} == {orthanc["DicomPort"], orthanc["HttpPort"]}
    mount = next(m for m in compose["services"]["orthanc"]["volumes"] if m.endswith(":ro"))
    assert mount.split(":")[1] == "/etc/orthanc/orthanc.json"


def test_triton_profile_serves_what_the_writer_wrote(compose):
    services = compose["services"]
    writer, triton = services["triton-repository"], services["triton"]
    assert writer["profiles"] == triton["profiles"] == ["triton"]
    out = writer["command"][writer["command"].index("--out") + 1]
    writer_mount = next(m.split(":") for m in writer["volumes"])
    triton_mount = next(m.split(":") for m in triton["volumes"])
    assert writer_mount[0] == triton_mount[0]
    served = Path(triton_mount[1]) / Path(out).relative_to(writer_mount[1])
    assert f"--model-repository={served}" in triton["command"]
    assert triton["depends_on"] == {"triton-repository": {"condition": "service_completed_successfully"}}
