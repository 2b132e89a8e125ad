"""deploy/k8s, checked statically (no cluster here): every manifest parses, and names, ports, volumes,
secrets, selectors and commands agree with each other and with the node's configuration."""

from __future__ import annotations

import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from dicomnode.config import Config, load_config
from tests.deploy.conftest import DEPLOY, REPO_ROOT

K8S = DEPLOY / "k8s"
WORKLOADS = ("Deployment", "StatefulSet", "Job")


def _load() -> list[tuple[Path, dict]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [(path, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


DOCS = _load()
OBJECTS = {(doc["kind"], doc["metadata"]["name"]): doc for _, doc in DOCS if doc["kind"] != "Kustomization"}


def obj(kind: str, name: str) -> dict:
    return OBJECTS[(kind, name)]


def pod_spec(doc: dict) -> dict:
    return doc["spec"]["template"]["spec"]


def containers(doc: dict) -> list[dict]:
    spec = pod_spec(doc)
    return spec.get("initContainers", []) + spec["containers"]


def env_of(container: dict) -> dict[str, str]:
    env = {}
    for source in container.get("envFrom", []):
        if "secretRef" in source:
            env.update(obj("Secret", source["secretRef"]["name"])["stringData"])
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
    return env


def node_config(container: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Config:
    """The configuration a dicomnode container would load: the ConfigMap's file plus its environment."""
    config_file = tmp_path / "dicomnode.toml"
    config_file.write_text(obj("ConfigMap", "dicomnode-config")["data"]["dicomnode.toml"])
    for key, value in env_of(container).items():
        if key.startswith("DICOMNODE_"):
            monkeypatch.setenv(key, value.replace("$(POD_NAME)", "pod-0"))
    return load_config(config_file)


def test_every_manifest_is_listed_and_namespaced():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    for path, doc in DOCS:
        assert {"apiVersion", "kind"} <= set(doc), path
        if doc["kind"] not in ("Namespace", "Kustomization"):
            assert doc["metadata"]["namespace"] == "dicomnode", (path, doc["metadata"]["name"])


@pytest.mark.parametrize("key", [k for k in OBJECTS if k[0] in WORKLOADS], ids=lambda k: k[1])
def test_workload_references_exist(key):
    doc = OBJECTS[key]
    spec = pod_spec(doc)
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    volumes.update({t["metadata"]["name"]: t for t in doc["spec"].get("volumeClaimTemplates", [])})
    for volume in spec.get("volumes", []):
        if "persistentVolumeClaim" in volume:
            assert ("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]) in OBJECTS
        if "configMap" in volume:
            assert ("ConfigMap", volume["configMap"]["name"]) in OBJECTS
    for container in containers(doc):
        for mount in container.get("volumeMounts", []):
            assert mount["name"] in volumes, f"{key}: mount {mount['name']} has no volume"
        for item in container.get("env", []):
            ref = item.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["key"] in obj("Secret", ref["name"])["stringData"]
        for source in container.get("envFrom", []):
            assert ("Secret", source["secretRef"]["name"]) in OBJECTS
    if doc["kind"] != "Job":
        labels = doc["spec"]["template"]["metadata"]["labels"]
        assert doc["spec"]["selector"]["matchLabels"].items() <= labels.items()


@pytest.mark.parametrize("key", [k for k in OBJECTS if k[0] in WORKLOADS], ids=lambda k: k[1])
def test_pods_run_unprivileged(key):
    doc = OBJECTS[key]
    assert pod_spec(doc)["securityContext"]["runAsNonRoot"] is True
    for container in containers(doc):
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("key", [k for k in OBJECTS if k[0] == "Service"], ids=lambda k: k[1])
def test_services_select_pods_and_named_ports(key):
    service = OBJECTS[key]
    selector = service["spec"]["selector"].items()
    pods = [doc for doc in OBJECTS.values() if doc["kind"] in WORKLOADS and selector <= doc["spec"]["template"]["metadata"]["labels"].items()]
    assert len(pods) == 1, f"{key} selects {len(pods)} workloads"
    ports = {p["name"]: p["containerPort"] for c in pod_spec(pods[0])["containers"] for p in c.get("ports", [])}
    for port in service["spec"]["ports"]:
        assert port["targetPort"] in ports
        assert port["port"] == ports[port["targetPort"]]


def test_dicomnode_images_match_the_package_and_dockerfiles():
    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    for doc in OBJECTS.values():
        if doc["kind"] in WORKLOADS:
            for container in containers(doc):
                image = container["image"]
                if "/dicomnode:" in image:
                    tag = image.split(":")[-1]
                    assert tag in (f"{version}-cpu", f"{version}-cuda"), image
                    assert (DEPLOY / "docker" / ("Dockerfile" if tag.endswith("cpu") else "Dockerfile.cuda")).is_file()


def test_receiver_serves_on_the_configured_ports(monkeypatch, tmp_path):
    from dicomnode.admin.server import check_binding

    receiver = obj("Deployment", "dicomnode-receiver")
    [container] = pod_spec(receiver)["containers"]
    config = node_config(container, monkeypatch, tmp_path)
    check_binding(config.admin)
    assert container["command"][:2] == ["dicomnode", "serve"]
    assert container["command"][container["command"].index("--config") + 1] == "/etc/dicomnode/dicomnode.toml"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"dicom": config.node.port, "admin": config.admin.port} == {"dicom": 11112, "admin": 8080}
    assert config.inference.workers == 0
    assert config.node.storage_dir.is_relative_to("/var/lib/dicomnode/shared")
    assert obj("Service", "dicomnode-dicom")["spec"]["externalTrafficPolicy"] == "Local"
    assert obj("Service", "dicomnode-admin")["spec"]["type"] == "ClusterIP"
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts["/etc/dicomnode"] == "config" and mounts["/var/lib/dicomnode/shared"] == "shared"


@pytest.mark.parametrize("name", ["dicomnode-worker", "dicomnode-gpu-worker", "dicomnode-triton-worker"])
def test_workers_share_the_database_and_storage(name, monkeypatch, tmp_path):
    [container] = pod_spec(obj("Deployment", name))["containers"]
    assert container["command"][:2] == ["dicomnode", "worker"]
    config = node_config(container, monkeypatch, tmp_path)
    assert urlsplit(config.database.url).hostname == "postgres.dicomnode.svc"
    receiver = pod_spec(obj("Deployment", "dicomnode-receiver"))
    claims = lambda spec: {v["persistentVolumeClaim"]["claimName"] for v in spec["volumes"] if "persistentVolumeClaim" in v}  # noqa: E731
    assert claims(pod_spec(obj("Deployment", name))) == claims(receiver) == {"dicomnode-storage"}
    assert obj("PersistentVolumeClaim", "dicomnode-storage")["spec"]["accessModes"] == ["ReadWriteMany"]


def test_gpu_workers_and_triton_request_a_gpu(monkeypatch, tmp_path):
    [gpu] = pod_spec(obj("Deployment", "dicomnode-gpu-worker"))["containers"]
    assert gpu["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert gpu["image"].endswith("-cuda")
    assert node_config(gpu, monkeypatch, tmp_path).inference.backend == "tensorrt"
    [triton] = pod_spec(obj("Deployment", "triton"))["containers"]
    assert triton["resources"]["limits"]["nvidia.com/gpu"] == 1
    [cpu] = pod_spec(obj("Deployment", "dicomnode-worker"))["containers"]
    assert "nvidia.com/gpu" not in cpu["resources"].get("limits", {})


def test_triton_workers_reach_the_triton_service(monkeypatch, tmp_path):
    [container] = pod_spec(obj("Deployment", "dicomnode-triton-worker"))["containers"]
    section = node_config(container, monkeypatch, tmp_path).inference
    assert section.backend == "triton" and section.triton_model == "ich"
    url = urlsplit(section.triton_url)
    service = obj("Service", "triton")
    assert url.hostname.split(".")[:2] == [service["metadata"]["name"], service["metadata"]["namespace"]]
    assert url.port == next(p["port"] for p in service["spec"]["ports"] if p["name"] == "http")


def test_triton_serves_the_repository_its_init_container_writes():
    spec = pod_spec(obj("Deployment", "triton"))
    [init] = spec["initContainers"]
    [server] = spec["containers"]
    out = init["command"][init["command"].index("--out") + 1]
    assert init["command"][:3] == ["python", "-m", "inference.ich.triton_repository"]
    init_mounts = {m["mountPath"]: m["name"] for m in init["volumeMounts"]}
    server_mounts = {m["name"]: m["mountPath"] for m in server["volumeMounts"]}
    repository = next(a.split("=", 1)[1] for a in server["command"] if a.startswith("--model-repository="))
    assert server_mounts[init_mounts[out]] == repository
    assert server["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"


def test_migration_job_and_postgres():
    [migrate] = pod_spec(obj("Job", "dicomnode-migrate"))["containers"]
    assert migrate["command"][:3] == ["dicomnode", "db", "upgrade"]
    postgres = obj("StatefulSet", "postgres")
    [container] = pod_spec(postgres)["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    url = urlsplit(obj("Secret", "dicomnode-secrets")["stringData"]["DICOMNODE_DATABASE__URL"])
    assert (url.username, url.path.lstrip("/")) == (env["POSTGRES_USER"], env["POSTGRES_DB"])
    assert url.password == obj("Secret", "dicomnode-secrets")["stringData"]["POSTGRES_PASSWORD"]
    assert url.hostname.split(".")[0] == obj("Service", "postgres")["metadata"]["name"]
