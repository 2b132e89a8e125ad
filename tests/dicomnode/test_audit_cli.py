"""``dicomnode audit``: filters and the three output formats."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from db.audit import record_event
from db.engine import make_engine, make_sessionmaker
from db.migrate import upgrade
from dicomnode.cli import main


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_sessionmaker(engine).begin() as session:
        at = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
        record_event(session, "security", "rejected", "caller refused", actor_ae="EVIL", actor_host="10.0.0.9", at=at)
        record_event(session, "instances-received", "success", "40 instance(s)", actor_ae="CT01", study_uid="1.2.3",
                     at=at.replace(hour=13))
    engine.dispose()
    path = tmp_path / "node.toml"
    path.write_text(f'[database]\nurl = "{url}"\n')
    return path


def run(*args: str) -> str:
    result = CliRunner().invoke(main, ["audit", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_json_with_filters(config_file: Path) -> None:
    rows = json.loads(run("--config", str(config_file), "--format", "json", "--calling-ae", "CT01"))
    assert [(r["event_type"], r["study_uid"], r["at"]) for r in rows] == [
        ("instances-received", "1.2.3", "2026-03-01T13:00:00Z")
    ]


def test_table_and_time_range(config_file: Path) -> None:
    out = run("--config", str(config_file), "--until", "2026-03-01T12:30:00")
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["id", "at", "event_type", "outcome"]
    assert len(lines) == 2 and "security" in lines[1] and "EVIL" in lines[1]


def test_csv_and_outcome_filter(config_file: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(run("--config", str(config_file), "--format", "csv", "--outcome", "rejected"))))
    assert [(r["actor_ae"], r["actor_host"]) for r in rows] == [("EVIL", "10.0.0.9")]


def test_bad_time_is_a_usage_error(config_file: Path) -> None:
    result = CliRunner().invoke(main, ["audit", "--config", str(config_file), "--since", "yesterday"])
    assert result.exit_code == 2 and "ISO 8601" in result.output
