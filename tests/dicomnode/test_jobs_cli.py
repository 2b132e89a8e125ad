"""``dicomnode jobs list|show ID|retry ID``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from db.engine import make_engine, make_sessionmaker
from db.jobs import NewJob, claim_next, create_job, fail
from db.migrate import upgrade
from db.models import utcnow
from dicomnode.cli import main


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        create_job(session, NewJob("1.2", "1.2.1", "quiet", 3, 3, utcnow(), "3 slice(s); at least 10 needed"), None)
        create_job(session, NewJob("1.2", "1.2.2", "released", 20, 23, utcnow(), max_attempts=1), None)
    claim_next(sessions, "w1")  # takes job 2 (job 1 is skipped)
    fail(sessions, 2, "w1", "AnalysisError: series 1.2.2: broken")
    engine.dispose()
    path = tmp_path / "node.toml"
    path.write_text(f'[database]\nurl = "{url}"\n')
    return path


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, ["jobs", *args])
    assert result.exit_code == code, result.output
    return result.output


def test_list_and_show(config_file: Path) -> None:
    table = run("list", "--config", str(config_file))
    assert table.splitlines()[0].split()[:4] == ["id", "pipeline", "state", "version"]
    assert [line.split()[1:3] for line in table.splitlines()[1:]] == [["ich_ct", "failed"], ["ich_ct", "skipped"]]
    rows = json.loads(run("list", "--config", str(config_file), "--state", "skipped", "--format", "json"))
    assert [(r["id"], r["reason"]) for r in rows] == [(1, "3 slice(s); at least 10 needed")]
    shown = json.loads(run("show", "2", "--config", str(config_file)))
    assert (shown["state"], shown["attempts"], shown["error"]) == ("failed", 1, "AnalysisError: series 1.2.2: broken")
    assert [e["outcome"] for e in shown["events"]] == ["queued", "started", "failure"]
    assert "no job 9" in run("show", "9", "--config", str(config_file), code=1)


def test_retry(config_file: Path) -> None:
    assert "job 2 queued again" in run("retry", "2", "--config", str(config_file))
    assert json.loads(run("show", "2", "--config", str(config_file)))["state"] == "queued"
    assert "--force" in run("retry", "1", "--config", str(config_file), code=1)
    assert "job 1 queued again" in run("retry", "1", "--force", "--config", str(config_file))
