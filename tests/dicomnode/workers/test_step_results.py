"""The step writes result files before, not inside, the transaction that queues them (real SQLite, threads)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import dicomnode.delivery.results_dir as results_dir
import dicomnode.workers.step as step
from db.engine import make_sessionmaker
from db.jobs import Ticket
from db.models import Instance
from db.outbox import OutboxEntry
from dicomnode.config import Config
from dicomnode.pipelines.ich_ct.analysis import run_analysis
from dicomnode.pipelines.ich_ct.runtime import ModelRuntime
from dicomnode.workers.step import StepContext
from tests.conftest import migrated_engine
from tests.dicomnode.pipelines.ich_ct.helpers import phantom_series

WAIT = 20.0  # bound of every wait; a pass takes well under a second of it


@dataclass
class Node:
    db_file: Path
    results: Path
    context: StepContext
    ticket: Ticket
    runtime: ModelRuntime


@pytest.fixture(scope="module")
def runtime() -> ModelRuntime:
    return ModelRuntime(Config(inference={"backend": "torch", "device": "cpu"}))


@pytest.fixture
def node(tmp_path: Path, runtime: ModelRuntime) -> Iterator[Node]:
    db_file = tmp_path / "node.db"
    url = f"sqlite:///{db_file}"
    config = Config(database={"url": url}, results={"dir": str(tmp_path / "results")},
                    destinations=[{"name": "pacs", "ae_title": "PACS", "host": "127.0.0.1", "port": 104}])
    series_dir = tmp_path / "series"
    datasets = phantom_series(series_dir, n_slices=6, size=64)
    with migrated_engine(url) as engine:
        sessions: sessionmaker[Session] = make_sessionmaker(engine)
        _register(sessions, datasets, sorted(series_dir.glob("*.dcm")))
        ds = datasets[0]
        ticket = Ticket(1, str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), 1, 1, 3, len(datasets), 1 << 30, "w1", {})
        yield Node(db_file, tmp_path / "results", StepContext(config, sessions, "w1"), ticket, runtime)


def _register(sessions: sessionmaker[Session], datasets: list[Dataset], paths: list[Path]) -> None:
    by_uid = {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID): p for p in paths}
    with sessions.begin() as session:
        for ds in datasets:
            path = by_uid[str(ds.SOPInstanceUID)]
            session.add(Instance(sop_instance_uid=str(ds.SOPInstanceUID), sop_class_uid=str(ds.SOPClassUID),
                                 study_uid=str(ds.StudyInstanceUID), series_uid=str(ds.SeriesInstanceUID),
                                 modality="CT", transfer_syntax=str(ds.file_meta.TransferSyntaxUID), path=str(path),
                                 size=path.stat().st_size))


def _commit_elsewhere(db_file: Path) -> float:
    """Seconds one commit on a separate connection takes (what a C-STORE handler does); busy timeout 2 s."""
    start = time.monotonic()
    connection = sqlite3.connect(db_file, timeout=2.0)
    try:
        connection.execute(
            "INSERT INTO audit_events (at, event_type, outcome, message, detail) "
            "VALUES ('2026-12-01 00:00:00', 'store', 'success', 'concurrent commit', '{}')"
        )
        connection.commit()
    finally:
        connection.close()
    return time.monotonic() - start


def test_a_commit_elsewhere_is_not_blocked_while_results_are_written(node: Node,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    writing, committed = threading.Event(), threading.Event()
    real_write: Callable[[Path, Dataset], Path] = results_dir.write_result

    def write_and_wait(folder: Path, ds: Dataset) -> Path:
        path = real_write(folder, ds)  # durable: written, fsync'd, renamed
        if not writing.is_set():
            writing.set()
            assert committed.wait(WAIT), "the concurrent commit did not finish"
        return path

    monkeypatch.setattr(results_dir, "write_result", write_and_wait)
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(run_analysis(node.ticket, node.context, node.runtime)))
    worker.start()
    try:
        assert writing.wait(WAIT), "the step never started writing results"
        try:
            elapsed = _commit_elsewhere(node.db_file)
        finally:
            committed.set()
    finally:
        worker.join(WAIT)
    assert not worker.is_alive() and outcome, "the step did not finish"
    assert elapsed < 1.0  # the old step held BEGIN IMMEDIATE here: this commit failed after its 2 s timeout
    with node.context.sessions() as session:
        assert len(session.scalars(select(OutboxEntry)).all()) == len(outcome[0].result["objects"])  # type: ignore[attr-defined]


def test_a_crash_between_files_and_rows_is_harmless_on_rerun(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*_args: object, **_kwargs: object) -> None:
        raise SystemExit("killed between the files and the rows")

    with monkeypatch.context() as patch:
        patch.setattr(step, "enqueue", crash)
        with pytest.raises(SystemExit):
            run_analysis(node.ticket, node.context, node.runtime)
    files = sorted(node.results.rglob("*.dcm"))
    assert files and not list(node.results.rglob(".tmp-*"))
    with node.context.sessions() as session:
        assert session.scalars(select(OutboxEntry)).all() == []

    result = run_analysis(node.ticket, node.context, node.runtime).result
    assert sorted(node.results.rglob("*.dcm")) == files  # the same objects (deterministic UIDs) replaced
    run_analysis(node.ticket, node.context, node.runtime)  # and a third run queues nothing new
    with node.context.sessions() as session:
        rows = session.scalars(select(OutboxEntry)).all()
    assert sorted(r.sop_instance_uid for r in rows) == sorted(o["sop_instance_uid"] for o in result["objects"])
    assert {r.path for r in rows} == {str(p) for p in files}
