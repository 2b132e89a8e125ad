"""Series readiness, selection and workers end to end in ``dicomnode serve``, fed by dcmtk ``storescu``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.jobs import RUNNING, SKIPPED, SUCCEEDED, Job
from db.models import Association, AuditEvent, Instance
from tests.conftest import SHARED_DATA
from tests.factories import ct_series, write_series
from tests.integration.dcmtk import storescu
from tests.integration.scu import associate, store_status
from tests.node_process import NodeProcess
from tests.polling import wait_for as poll

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
QUIET, GRACE, TICK = 1.0, 0.2, 0.1
FAST = {
    "assembly": {"quiet_seconds": QUIET, "release_grace_seconds": GRACE, "tick_seconds": TICK},
    "inference": {"workers": 1, "poll_seconds": 0.1, "heartbeat_seconds": 0.2, "stale_seconds": 1.5},
}
PROCESSING_SLACK = 0.5  # header reading and commits on a busy CI machine


def start_node(root: Path, url: str, **overrides: dict[str, Any]) -> NodeProcess:
    sections = {name: {**values, **overrides.get(name, {})} for name, values in FAST.items()}
    node = NodeProcess(root, url, **sections)
    node.start()
    return node


@pytest.fixture
def fast_node(tmp_path: Path, sqlite_url: str) -> Iterator[NodeProcess]:
    node = start_node(tmp_path / "node", sqlite_url)
    try:
        yield node
    finally:
        node.stop()


def wait_for(node: NodeProcess, condition: Callable[[Session], Any], what: str, timeout: float = 90.0) -> Any:
    """Poll ``condition`` in a fresh session of the node's database; fail with the node's log."""

    def check() -> Any:
        with Session(node.engine) as session:
            return condition(session)

    return poll(check, what, timeout, interval=0.05, context=node.log)


def job_of(series_uid: str, state: str | None = None) -> Callable[[Session], Job | None]:
    def find(session: Session) -> Job | None:
        query = select(Job).where(Job.series_uid == series_uid).order_by(Job.version.desc()).limit(1)
        job = session.scalars(query).first()
        return job if job is not None and (state is None or job.state == state) else None

    return find


def test_released_push_is_ready_within_grace_and_a_tick(fast_node: NodeProcess, tmp_path: Path) -> None:
    datasets = ct_series(12, 32)
    assert storescu(fast_node.port, write_series(datasets, tmp_path / "s")).returncode == 0
    series = datasets[0].SeriesInstanceUID
    job = wait_for(fast_node, job_of(series), "the job")
    with Session(fast_node.engine) as session:
        assoc = session.scalars(select(Association).where(Association.calling_ae == "STORESCU")).one()
    assert assoc.ended_at is not None and job.ready_rule == "released"
    latency = (job.created_at - assoc.ended_at).total_seconds()
    assert GRACE <= latency <= GRACE + TICK + PROCESSING_SLACK, latency
    done = wait_for(fast_node, job_of(series, SUCCEEDED), "the worker to finish the job")
    assert done.result["slices"] == 12 and done.timings["total_ms"] > 0


def test_open_association_is_ready_after_the_quiet_period(fast_node: NodeProcess) -> None:
    datasets = ct_series(12, 32)
    assoc = associate(fast_node.port)
    try:
        assert all(store_status(assoc, ds) == 0 for ds in datasets)
        job = wait_for(fast_node, job_of(datasets[0].SeriesInstanceUID), "the job while the association is open")
        with Session(fast_node.engine) as session:
            row = session.scalars(select(Association).where(Association.calling_ae == "TESTSCU")).one()
            last = max(session.scalars(select(Instance.received_at)))
        assert row.outcome == "open" and job.ready_rule == "quiet"
        assert QUIET <= (job.created_at - last).total_seconds() <= QUIET + TICK + PROCESSING_SLACK
    finally:
        assoc.release()


def test_skipped_series_explains_itself_in_dicomnode_audit(fast_node: NodeProcess, tmp_path: Path) -> None:
    datasets = ct_series(3, 32)
    assert storescu(fast_node.port, write_series(datasets, tmp_path / "s")).returncode == 0
    wait_for(fast_node, job_of(datasets[0].SeriesInstanceUID, SKIPPED), "the skipped job")
    out = subprocess.run(
        [sys.executable, "-m", "dicomnode", "audit", "--config", str(fast_node.config_path), "--event", "job",
         "--outcome", "skipped", "--format", "json"],
        capture_output=True, text=True, timeout=60, check=True,
    )
    [event] = json.loads(out.stdout)
    assert "3 slice(s); at least 10 needed (selection.min_slices)" in event["message"]
    assert event["detail"]["reason"].startswith("3 slice(s)")
    listing = subprocess.run(
        [sys.executable, "-m", "dicomnode", "jobs", "list", "--config", str(fast_node.config_path), "--format", "json"],
        capture_output=True, text=True, timeout=60, check=True,
    )
    assert [job["state"] for job in json.loads(listing.stdout)] == ["skipped"]


def test_kill_9_of_a_serve_worker_requeues_its_job(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("DICOMNODE_TEST_STEP_SECONDS", "2")
    node = start_node(tmp_path / "node", sqlite_url, inference={"analysis_step": "tests.dicomnode.workers.steps:slow"})
    try:
        datasets = ct_series(12, 32)
        assert storescu(node.port, write_series(datasets, tmp_path / "s")).returncode == 0
        series = datasets[0].SeriesInstanceUID
        running = wait_for(node, job_of(series, RUNNING), "the job to start")
        os.kill(int(running.worker_id.split(":")[1].split("/")[0]), signal.SIGKILL)
        done = wait_for(node, job_of(series, SUCCEEDED), "a new worker to finish the job")
        assert done.worker_id != running.worker_id and done.attempts == 2
    finally:
        node.stop()
    assert node.process is not None and node.process.returncode == 0


@pytest.mark.realdata
@pytest.mark.slow
def test_cq500_series_and_its_stray_slice(tmp_path: Path, sqlite_url: str) -> None:
    folder = SHARED_DATA / "cq500-ct0"
    if not folder.is_dir():
        pytest.skip(f"no real data at {folder}")
    node = start_node(tmp_path / "node", sqlite_url)
    try:
        files = sorted((folder / "series").glob("*.dcm")) + sorted((folder / "stray").glob("*.dcm"))
        result = storescu(node.port, files, extra=["--propose-lossless"])  # the series is JPEG lossless
        assert result.returncode == 0, result.stderr
        with Session(node.engine) as session:
            series_uids = set(session.scalars(select(Instance.series_uid)))
        assert len(series_uids) == 2  # the stray slice is its own series
        jobs = wait_for(node, lambda s: (rows := list(s.scalars(select(Job)))) and len(rows) == 2 and rows,
                        "both series to be judged")
        main = next(j for j in jobs if j.instance_count == 238)
        stray = next(j for j in jobs if j.instance_count == 1)
        assert main.detail["tilt_degrees"] == pytest.approx(8.5, abs=0.1)
        assert stray.state == SKIPPED and "1 slice(s); at least 10 needed" in (stray.reason or "")
        done = wait_for(node, job_of(main.series_uid, SUCCEEDED), "the worker to load the real series", 180)
        assert done.result["slices"] == 238 and done.result["tilt_degrees"] == pytest.approx(8.5, abs=0.1)
        with Session(node.engine) as session:
            skipped = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "skipped")).one()
        assert skipped.series_uid == stray.series_uid and "min_slices" in skipped.message
    finally:
        node.stop()
