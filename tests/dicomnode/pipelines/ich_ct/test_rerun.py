"""Re-running a job writes byte-identical results (issue 17 item 11): every time comes from the job.

The analysis step runs a job on a stored phantom series, its result files are removed (as if the node had
crashed after writing them but before the commit), a second later the same job runs again: the files it
writes are the same bytes, and their Content Date/Time is the job's creation time, not the time of writing.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from sqlalchemy.orm import Session, sessionmaker

from db.engine import make_sessionmaker
from dicomnode.config import Config
from dicomnode.pipelines.ich_ct.analysis import run_analysis
from dicomnode.pipelines.ich_ct.runtime import ModelRuntime
from dicomnode.workers.step import StepContext
from inference.ich.phantoms import generate_study, write_dicom
from tests.conftest import migrated_engine
from tests.factories import claimed_job


@pytest.fixture
def sessions(sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    with migrated_engine(sqlite_url) as engine:
        yield make_sessionmaker(engine)


@pytest.mark.slow
def test_rerunning_a_job_writes_the_same_bytes(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    files = write_dicom(generate_study(seed=7, subtype="IPH", n_slices=8, size=96), tmp_path / "storage")
    ticket = claimed_job(sessions, files)
    assert ticket is not None and ticket.created_at is not None
    results = tmp_path / "results"
    config = Config(results={"dir": results}, inference={"backend": "torch", "device": "cpu", "threshold": 0.001})
    context, runtime = StepContext(config=config, sessions=sessions, worker_id="w1"), ModelRuntime(config)

    run_analysis(ticket, context, runtime)
    first = {path.relative_to(results): path.read_bytes() for path in results.rglob("*.dcm")}
    for path in results.rglob("*.dcm"):
        path.unlink()
    time.sleep(1.1)  # a result stamped with "now" would differ
    run_analysis(ticket, context, runtime)
    again = {path.relative_to(results): path.read_bytes() for path in results.rglob("*.dcm")}

    assert len(first) >= 3 and first == again  # SR, key slices, summary (and SEG when a region was found)
    moment = ticket.created_at
    for blob in first.values():
        ds = pydicom.dcmread(io.BytesIO(blob))
        assert ds.ContentDate == moment.strftime("%Y%m%d") and ds.ContentTime == moment.strftime("%H%M%S")
