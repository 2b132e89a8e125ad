"""The worker runs each job by its pipeline, with one model per pipeline loaded on first use."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from db.engine import make_sessionmaker
from db.jobs import SUCCEEDED, Job, NewJob, claim_next, create_job
from db.models import utcnow
from dicomnode import pipelines
from dicomnode.config import Config
from dicomnode.errors import ConfigError
from dicomnode.workers.dispatch import run_pipeline
from dicomnode.workers.worker import Worker
from tests.conftest import migrated_engine
from tests.dicomnode.workers.fake_pipeline import ECHO


@pytest.fixture(autouse=True)
def echo_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(pipelines.PIPELINES, "echo", "tests.dicomnode.workers.fake_pipeline:ECHO")
    monkeypatch.setattr(ECHO, "loads", 0)


def test_jobs_run_by_their_pipeline_with_one_model_loaded_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'node.db'}"
    with migrated_engine(url) as engine:
        sessions: sessionmaker[Session] = make_sessionmaker(engine)
        with sessions.begin() as session:
            ids = [
                create_job(session, NewJob("1.2", series, "released", 3, 3, utcnow(), pipeline="echo",
                                           inputs=(series, "1.2.9")), None).id
                for series in ("1.2.1", "1.2.2")
            ]
        worker = Worker(Config(database={"url": url}), worker_id="w1")
        assert worker.step is run_pipeline
        try:
            for _ in ids:
                ticket = claim_next(worker.sessions, "w1")
                assert ticket is not None and ticket.pipeline == "echo"
                worker.run_job(ticket)
        finally:
            worker.engine.dispose()
        with sessions() as session:
            jobs = [session.get(Job, job_id) for job_id in ids]
    assert [(job.state, job.result) for job in jobs if job is not None] == [
        (SUCCEEDED, {"inputs": ["1.2.1", "1.2.9"], "model": "echo", "load": 1}),
        (SUCCEEDED, {"inputs": ["1.2.2", "1.2.9"], "model": "echo", "load": 1}),
    ]
    assert ECHO.loads == 1


def test_a_job_without_inputs_reads_its_own_series(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'node.db'}"
    with migrated_engine(url) as engine:
        sessions: sessionmaker[Session] = make_sessionmaker(engine)
        with sessions.begin() as session:
            create_job(session, NewJob("1.2", "1.2.1", "released", 3, 3, utcnow(), pipeline="echo"), None)
        ticket = claim_next(sessions, "w1")
        assert ticket is not None and (ticket.pipeline, ticket.inputs) == ("echo", ("1.2.1",))


def test_a_worker_limited_to_some_pipelines_claims_only_their_jobs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'node.db'}"
    with migrated_engine(url) as engine:
        sessions: sessionmaker[Session] = make_sessionmaker(engine)
        with sessions.begin() as session:
            ich = create_job(session, NewJob("1.2", "1.2.1", "released", 3, 3, utcnow()), None).id
            echo = create_job(session, NewJob("1.2", "1.2.2", "released", 3, 3, utcnow(), pipeline="echo"), None).id
        limited = Worker(Config(database={"url": url}, inference={"worker_pipelines": ["echo"]}), worker_id="gpu")
        try:
            assert limited.pipelines == ("echo",)
            ticket = claim_next(limited.sessions, "gpu", limited.pipelines)
            assert ticket is not None and ticket.id == echo
            assert claim_next(limited.sessions, "gpu", limited.pipelines) is None  # the ich_ct job is left
        finally:
            limited.engine.dispose()
        ticket = claim_next(sessions, "any")
        assert ticket is not None and ticket.id == ich


def test_a_worker_cannot_be_limited_to_a_pipeline_that_is_not_enabled(tmp_path: Path) -> None:
    config = Config(database={"url": f"sqlite:///{tmp_path / 'n.db'}"}, inference={"worker_pipelines": ["ich_mr"]},
                    pipelines={"cmb_swi": {"enabled": False}})
    with pytest.raises(ConfigError, match="inference.worker_pipelines: ich_mr is not an enabled pipeline"):
        Worker(config)
