"""The assembler asks each enabled pipeline about a ready series; the job names its pipeline and inputs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from db.jobs import NO_PIPELINE
from db.models import utcnow
from dicomnode import pipelines
from dicomnode.assembly.assembler import Assembler
from dicomnode.config import Config
from tests.dicomnode.assembly.test_assembler import audit, jobs, store
from tests.factories import ct_series

QUIET = {"quiet_seconds": 5.0, "release_grace_seconds": 1.0}


def test_a_ready_ct_series_becomes_an_ich_ct_job_reading_it(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    datasets = ct_series(12, 32)
    store(sessions, datasets, tmp_path, None)
    [decision] = Assembler(Config(assembly=QUIET), sessions).tick(utcnow() + timedelta(seconds=6))
    [job] = jobs(sessions)
    assert decision.pipeline == job.pipeline == "ich_ct"
    assert job.inputs == [str(datasets[0].SeriesInstanceUID)]


def test_a_series_no_pipeline_takes_is_recorded_once_with_each_pipelines_reason(
    sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(pipelines.PIPELINES, "echo", "tests.dicomnode.workers.fake_pipeline:ECHO")
    store(sessions, ct_series(12, 32), tmp_path, None)
    config = Config(assembly=QUIET, pipelines={"ich_ct": {"enabled": False}, "cmb_swi": {"enabled": False}})
    [decision] = Assembler(config, sessions).tick(utcnow() + timedelta(seconds=6))
    [job] = jobs(sessions)
    assert decision.pipeline == job.pipeline == NO_PIPELINE and job.state == "skipped"
    assert job.reason == "no enabled pipeline reads this series (echo: echo reads no series)"
    assert len(audit(sessions, "series-ready")) == 1
    assert Assembler(config, sessions).tick(utcnow() + timedelta(seconds=7)) == []  # not judged again


def test_no_job_at_all_when_no_pipeline_is_enabled(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    store(sessions, ct_series(12, 32), tmp_path, None)
    config = Config(assembly=QUIET, pipelines={"ich_ct": {"enabled": False}, "cmb_swi": {"enabled": False}})
    assert Assembler(config, sessions).tick(utcnow() + timedelta(seconds=6)) == []
    assert jobs(sessions) == [] and audit(sessions, "series-ready") == []
