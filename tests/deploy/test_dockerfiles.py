"""deploy/docker: Dockerfiles checked statically (non-root user, ports, health check, sources), and the
health-check script run against a small HTTP server."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from dicomnode.config import load_config
from tests.deploy.conftest import DEPLOY, REPO_ROOT

DOCKER = DEPLOY / "docker"
DOCKERFILES = ["Dockerfile", "Dockerfile.cuda"]


def instructions(name: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n(\s*#.*\n)*", " ", (DOCKER / name).read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def final_stage(name: str) -> list[tuple[str, str]]:
    steps = instructions(name)
    start = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[start:]


@pytest.mark.parametrize("name", DOCKERFILES)
def test_runs_as_a_non_root_user(name):
    users = [args for word, args in final_stage(name) if word == "USER"]
    assert users, f"{name}: no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    run = " ".join(args for word, args in final_stage(name) if word == "RUN")
    assert f"--uid {user}" in run, f"{name}: USER {user} is not created"


@pytest.mark.parametrize("name", DOCKERFILES)
def test_exposes_the_configured_ports_and_has_a_healthcheck(name):
    config = load_config(DOCKER / "dicomnode.toml")
    exposed = {int(p) for word, args in final_stage(name) if word == "EXPOSE" for p in args.split()}
    assert exposed == {config.node.port, config.admin.port} == {11112, 8080}
    [check] = [args for word, args in final_stage(name) if word == "HEALTHCHECK"]
    assert "dicomnode-healthcheck" in check
    env = " ".join(args for word, args in final_stage(name) if word == "ENV")
    assert "DICOMNODE_CONFIG=/etc/dicomnode/dicomnode.toml" in env


@pytest.mark.parametrize("name", DOCKERFILES)
def test_copied_sources_exist_and_are_not_ignored(name):
    ignore = (DOCKER / f"{name}.dockerignore").read_text().split()
    for word, args in instructions(name):
        if word == "COPY" and "--from" not in args:
            *sources, _ = shlex.split(args)
            for source in sources:
                assert (REPO_ROOT / source).exists(), f"{name}: COPY {source} does not exist"
                top = source.rstrip("/").split("/")[0]
                assert any(rule.lstrip("!").rstrip("/").startswith(top) for rule in ignore if rule.startswith("!")), source


@pytest.mark.parametrize("name", DOCKERFILES)
def test_torch_is_the_pinned_version(name):
    pins = [d for d in tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"] if d.startswith("torch")]
    version = pins[0].split("==")[1]
    args = dict(a.split("=", 1) for w, a in instructions(name) if w == "ARG" and "=" in a)
    assert args["TORCH_VERSION"] == version
    assert "whl/cpu" in args["TORCH_INDEX_URL"] if name == "Dockerfile" else "whl/cu" in args["TORCH_INDEX_URL"]


def test_cuda_image_is_built_on_tensorrt_and_asks_for_the_gpu():
    steps = instructions("Dockerfile.cuda")
    args = dict(a.split("=", 1) for w, a in steps if w == "ARG" and "=" in a)
    assert args["TENSORRT_IMAGE"].startswith("nvcr.io/nvidia/tensorrt:")
    env = " ".join(a for w, a in final_stage("Dockerfile.cuda") if w == "ENV")
    assert "NVIDIA_VISIBLE_DEVICES=all" in env and "DICOMNODE_INFERENCE__BACKEND=tensorrt" in env
    assert any("--system-site-packages" in a for w, a in steps if w == "RUN")


def _serve(status: int) -> HTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(status if self.path == "/health" else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("status, code", [(200, 0), (503, 1)])
def test_healthcheck_script(status, code):
    server = _serve(status)
    try:
        env = {"DICOMNODE_ADMIN__PORT": str(server.server_address[1]), "PATH": "/usr/bin:/bin"}
        result = subprocess.run([sys.executable, str(DOCKER / "healthcheck.py")], env=env, capture_output=True, timeout=30)
        assert result.returncode == code, result.stderr
    finally:
        server.shutdown()
        server.server_close()
