"""Stand-alone ``dicomnode worker`` processes on one PostgreSQL database (the scale-out path)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from db.jobs import FAILED, QUEUED, RUNNING, SUCCEEDED, Job, NewJob, create_job
from db.models import AuditEvent, utcnow
from tests.conftest import migrated_engine
from tests.node_process import toml_value
from tests.polling import wait_for as poll

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
DEADLINE = 90.0


class Workers:
    """Start ``dicomnode worker`` subprocesses sharing one configuration."""

    def __init__(self, root: Path, database_url: str, **inference: Any) -> None:
        self.root = root
        self.config = root / "worker.toml"
        settings = {"poll_seconds": 0.1, "heartbeat_seconds": 0.2, "stale_seconds": 1.5, "max_attempts": 3, **inference}
        lines = ["[database]", f"url = {toml_value(database_url)}", "[inference]"]
        lines += [f"{key} = {toml_value(value)}" for key, value in settings.items()]
        self.config.write_text("\n".join(lines) + "\n")
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, **env: str) -> subprocess.Popen[bytes]:
        log = open(self.root / f"{name}.log", "ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "dicomnode", "worker", "--config", str(self.config), "--worker-id", name],
            cwd=self.root, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", **env},
        )
        log.close()
        self.processes[name] = process
        return process

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')}" for p in sorted(self.root.glob("*.log")))

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    """The workers share one PostgreSQL database (the scale-out case)."""
    with migrated_engine(postgres_url) as engine:
        yield engine


def add_jobs(engine: Engine, count: int, max_attempts: int = 3, **detail: Any) -> list[int]:
    with Session(engine) as session, session.begin():
        ids = [
            create_job(session, NewJob("1.2.3", f"1.2.3.{n}.{time.time_ns()}", "released", 10, 10, utcnow(),
                                       detail=dict(detail), max_attempts=max_attempts), None).id
            for n in range(count)
        ]
    return ids


def wait_for(condition: Callable[[], Any], what: str, workers: Workers, timeout: float = DEADLINE) -> Any:
    return poll(condition, what, timeout, context=workers.logs)


def states(engine: Engine) -> dict[int, Job]:
    with Session(engine) as session:
        return {job.id: job for job in session.scalars(select(Job))}


def started_events(engine: Engine) -> list[tuple[int, str]]:
    with Session(engine) as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "job", AuditEvent.outcome == "started"))
        return [(e.detail["job_id"], e.detail["worker_id"]) for e in rows]


def test_kill_9_mid_job_is_requeued_and_finished_by_another_worker(engine: Engine, postgres_url: str,
                                                                    tmp_path: Path) -> None:
    workers = Workers(tmp_path, postgres_url, analysis_step="tests.dicomnode.workers.steps:slow")
    [job_id] = add_jobs(engine, 1)
    try:
        doomed = workers.start("doomed", DICOMNODE_TEST_STEP_SECONDS="600")
        wait_for(lambda: states(engine)[job_id].state == RUNNING, "the first worker to claim the job", workers)
        assert states(engine)[job_id].worker_id == "doomed"
        workers.start("survivor", DICOMNODE_TEST_STEP_SECONDS="1")
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(10)
        done = wait_for(lambda: (j := states(engine)[job_id]).state == SUCCEEDED and j, "the job to finish", workers)
        assert (done.worker_id, done.attempts, done.result) == ("survivor", 2, {"worker_id": "survivor"})
        with Session(engine) as session:
            requeued = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "requeued")).one()
        assert "worker doomed stopped heart-beating" in requeued.message
    finally:
        workers.stop_all()


def test_two_workers_never_run_the_same_job(engine: Engine, postgres_url: str, tmp_path: Path) -> None:
    workers = Workers(tmp_path, postgres_url, analysis_step="tests.dicomnode.workers.steps:flaky")
    ids = add_jobs(engine, 40)
    try:
        workers.start("a")
        workers.start("b")
        wait_for(lambda: all(j.state == SUCCEEDED for j in states(engine).values()), "every job to succeed", workers)
    finally:
        workers.stop_all()
    started = started_events(engine)
    assert sorted(job_id for job_id, _ in started) == sorted(ids)  # each job started exactly once
    assert {j.attempts for j in states(engine).values()} == {1}
    assert {j.worker_id for j in states(engine).values()} <= {"a", "b"}


def test_worker_survives_failing_jobs(engine: Engine, postgres_url: str, tmp_path: Path) -> None:
    workers = Workers(tmp_path, postgres_url, analysis_step="tests.dicomnode.workers.steps:flaky")
    [bad] = add_jobs(engine, 1, max_attempts=2, fail=True)
    try:
        process = workers.start("w")
        wait_for(lambda: states(engine)[bad].state == FAILED, "the failing job to end failed", workers)
        [good] = add_jobs(engine, 1)
        wait_for(lambda: states(engine)[good].state == SUCCEEDED, "a later job to succeed", workers)
        assert process.poll() is None
    finally:
        workers.stop_all()
    failed = states(engine)[bad]
    assert failed.attempts == 2
    assert failed.error == f"series {failed.series_uid}: made to fail (attempt 2)"


def test_sigterm_gives_the_running_job_back(engine: Engine, postgres_url: str, tmp_path: Path) -> None:
    workers = Workers(tmp_path, postgres_url, analysis_step="tests.dicomnode.workers.steps:slow")
    [job_id] = add_jobs(engine, 1)
    process = workers.start("w", DICOMNODE_TEST_STEP_SECONDS="600")
    try:
        wait_for(lambda: states(engine)[job_id].state == RUNNING, "the job to start", workers)
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        workers.stop_all()
    job = states(engine)[job_id]
    assert (job.state, job.attempts, job.worker_id) == (QUEUED, 0, None)
