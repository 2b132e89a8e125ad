"""Configuration: defaults, TOML file, environment overrides, validation naming the key, masking."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dicomnode.cli import main
from dicomnode.config import load_config
from dicomnode.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no ./dicomnode.toml
    monkeypatch.delenv("DICOMNODE_CONFIG", raising=False)


def test_embedded_defaults_serve_on_their_own() -> None:
    config = load_config()
    assert (config.node.ae_title, config.node.port) == ("DICOMNODE", 11112)
    assert config.database.url == "sqlite:///var/dicomnode.db"
    assert config.node.storage_dir == Path("var/storage")
    assert {(p.ae_title, p.host) for p in config.security.allowed} == {("*", "127.0.0.1"), ("*", "::1")}
    assert config.admin.host == "127.0.0.1" and not config.security.tls_enabled
    assert config.destinations == []


def test_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "node.toml"
    path.write_text('[node]\nae_title = "RADNODE"\nport = 104\n[[destinations]]\nname="pacs"\nae_title="PACS"\nhost="10.0.0.5"\nport=4242\n')
    monkeypatch.setenv("DICOMNODE_NODE__PORT", "11113")
    config = load_config(path)
    assert config.node.ae_title == "RADNODE"
    assert config.node.port == 11113  # the environment wins over the file
    assert config.destinations[0].host == "10.0.0.5"


def test_config_file_from_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text('[node]\nae_title = "FROMENV"\n')
    monkeypatch.setenv("DICOMNODE_CONFIG", str(path))
    assert load_config().node.ae_title == "FROMENV"


def test_local_dicomnode_toml_is_used(tmp_path: Path) -> None:
    (tmp_path / "dicomnode.toml").write_text('[node]\nae_title = "LOCAL"\n')
    assert load_config().node.ae_title == "LOCAL"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[node]\nport = 70000\n", "node.port"),
        ('[node]\nae_title = "A_TITLE_LONGER_THAN_16"\n', "node.ae_title"),
        ('[security]\nallowed = [{ ae_title = "*", host = "not-an-ip" }]\n', "security.allowed.0.host"),
        ('[security]\ntls_cert = "server.pem"\n', "security"),
        ('[database]\nurl = "mysql://x"\n', "database.url"),
        ("[node]\nprot = 1\n", "node.prot"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=rf"\n  {key}: "):
        load_config(path)


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[node\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.toml")


def test_config_show_masks_secrets(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_text('[admin]\ntoken = "s3cret"\n[database]\nurl = "postgresql+psycopg://node:pa55@db/node"\n')
    result = CliRunner().invoke(main, ["config", "show", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output and "pa55" not in result.output
    assert '"token": "***"' in result.output and "node:***@db/node" in result.output


def test_cli_reports_bad_key_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[assembly]\nquiet_seconds = -1\n")
    result = CliRunner().invoke(main, ["config", "show", "--config", str(path)])
    assert result.exit_code == 2
    assert "assembly.quiet_seconds" in result.output
