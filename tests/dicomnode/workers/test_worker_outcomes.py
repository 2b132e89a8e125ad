"""How the worker records a step's failure: unusable series skipped once, other errors as admin messages."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from db.engine import make_sessionmaker
from db.jobs import QUEUED, SKIPPED, Job, NewJob, claim_next, create_job
from db.models import utcnow
from dicomnode.config import Config
from dicomnode.workers.worker import Worker
from tests.conftest import migrated_engine


def run_one(tmp_path: Path, step: str) -> Job:
    url = f"sqlite:///{tmp_path / 'node.db'}"
    config = Config(database={"url": url}, inference={"analysis_step": f"tests.dicomnode.workers.steps:{step}",
                                                       "max_attempts": 2})
    with migrated_engine(url) as engine:
        sessions: sessionmaker[Session] = make_sessionmaker(engine)
        with sessions.begin() as session:
            job_id = create_job(session, NewJob("1.2.3", "1.2.3.4", "released", 12, 12, utcnow(), max_attempts=2),
                                None).id
        worker = Worker(config, worker_id="w1")
        try:
            ticket = claim_next(worker.sessions, "w1")
            assert ticket is not None and ticket.id == job_id
            worker.run_job(ticket)
        finally:
            worker.engine.dispose()
        with sessions() as session:
            job = session.get(Job, job_id)
            assert job is not None
            return job


def test_unusable_series_is_skipped_at_once_with_its_reason(tmp_path: Path) -> None:
    job = run_one(tmp_path, "unusable")
    assert (job.state, job.attempts, job.error) == (SKIPPED, 1, None)
    assert job.reason == "series 1.2.3.4: PixelSpacing (0028,0030) missing"


def test_a_missing_attribute_is_recorded_as_a_message_naming_it(tmp_path: Path) -> None:
    job = run_one(tmp_path, "stripped_header")
    assert job.state == QUEUED  # retried: a gap in the node, not a property of the data
    assert job.error is not None and job.error.startswith("the source images lack SliceThickness (0018,0050)")
    assert "AttributeError" not in job.error
