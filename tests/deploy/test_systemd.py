"""deploy/systemd, checked statically (no systemd here): restart policy, hardening, user, commands,
directories, and the shipped configuration and env file load as the node would load them."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from dicomnode.config import load_config
from tests.deploy.conftest import DEPLOY

SYSTEMD = DEPLOY / "systemd"
UNITS = {"dicomnode.service": "serve", "dicomnode-worker@.service": "worker"}
HARDENING = {
    "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
    "PrivateDevices": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes", "RestrictSUIDSGID": "yes", "LockPersonality": "yes",
    "SystemCallArchitectures": "native", "CapabilityBoundingSet": "",
}


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file as {section: {key: [values in order]}} (keys may repeat in systemd units)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        assert current is not None, f"{path}: {line!r} before any section"
        key, sep, value = line.partition("=")
        assert sep, f"{path}: not KEY=VALUE: {line!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


@pytest.mark.parametrize("name", sorted(UNITS))
def test_restart_hardening_and_user(name):
    unit = parse_unit(SYSTEMD / name)
    assert set(unit) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    assert service["Restart"] == ["on-failure"]
    for key, value in HARDENING.items():
        assert service.get(key) == [value], f"{name}: {key} should be {value!r}"
    assert service["User"][0] not in ("root", "0") and service["Group"] == ["dicomnode"]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    assert "network-online.target" in unit["Unit"]["After"][0] and "postgresql.service" in unit["Unit"]["After"][0]


@pytest.mark.parametrize("name, command", sorted(UNITS.items()))
def test_exec_start_runs_the_right_command_with_the_config(name, command):
    service = parse_unit(SYSTEMD / name)["Service"]
    [exec_start] = service["ExecStart"]
    argv = shlex.split(exec_start)
    assert argv[0] == "/opt/dicomnode/venv/bin/dicomnode" and argv[1] == command
    assert argv[argv.index("--config") + 1] == "/etc/dicomnode/dicomnode.toml"
    assert Path(service["EnvironmentFile"][0]).name == "dicomnode.env"
    assert service["StateDirectory"] == ["dicomnode"] and service["LogsDirectory"] == ["dicomnode"]
    config = load_config(SYSTEMD / "dicomnode.toml")
    assert int(service["TimeoutStopSec"][0]) > config.node.shutdown_timeout


def test_serve_unit_migrates_before_start():
    [pre] = parse_unit(SYSTEMD / "dicomnode.service")["Service"]["ExecStartPre"]
    assert shlex.split(pre)[1:3] == ["db", "upgrade"]


def test_configuration_uses_the_unit_directories(monkeypatch):
    for key, value in env_file(SYSTEMD / "dicomnode.env").items():
        assert key.startswith("DICOMNODE_"), key
        monkeypatch.setenv(key, value)
    config = load_config(SYSTEMD / "dicomnode.toml")
    state = Path("/var/lib") / parse_unit(SYSTEMD / "dicomnode.service")["Service"]["StateDirectory"][0]
    assert config.node.storage_dir.is_relative_to(state) and config.results.dir.is_relative_to(state)
    assert config.audit_export.spool_dir.is_relative_to("/var/log/dicomnode")
    assert config.database.url.startswith("postgresql+psycopg://dicomnode@/dicomnode")
    assert config.admin.host == "127.0.0.1"


def test_sysusers_creates_the_unit_user():
    fields = shlex.split((SYSTEMD / "dicomnode.sysusers.conf").read_text().splitlines()[-1])
    assert fields[:2] == ["u", parse_unit(SYSTEMD / "dicomnode.service")["Service"]["User"][0]]
