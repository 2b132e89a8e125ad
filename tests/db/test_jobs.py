"""The job queue on SQLite and PostgreSQL: versions, claiming, heartbeat, failures, stale re-queue, retry."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from db.jobs import (
    FAILED,
    QUEUED,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    Job,
    NewJob,
    claim_next,
    create_job,
    fail,
    finish,
    heartbeat,
    latest_job,
    release,
    requeue_stale,
    retry,
    skip,
)
from db.models import AuditEvent, utcnow


def new_job(series: str = "1.2.3.1", count: int = 10, skip: str | None = None, attempts: int = 2) -> NewJob:
    return NewJob("1.2.3", series, "released", count, count, utcnow(), skip, {"slices": count}, attempts)


def add(sessions: sessionmaker[Session], new: NewJob) -> int:
    with sessions.begin() as session:
        return create_job(session, new, latest_job(session, new.series_uid)).id


def job(sessions: sessionmaker[Session], job_id: int) -> Job:
    with sessions() as session:
        found = session.get(Job, job_id)
        assert found is not None
        return found


def events(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    with sessions() as session:
        return [(e.outcome, e.message) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_claim_run_finish(sessions: sessionmaker[Session]) -> None:
    job_id = add(sessions, new_job())
    ticket = claim_next(sessions, "w1")
    assert ticket is not None and (ticket.id, ticket.attempt, ticket.worker_id) == (job_id, 1, "w1")
    assert claim_next(sessions, "w2") is None
    assert heartbeat(sessions, job_id, "w1") and not heartbeat(sessions, job_id, "w2")
    assert not finish(sessions, job_id, "w2", {}, {})  # not its job
    assert finish(sessions, job_id, "w1", {"slices": 10}, {"total_ms": 5.0})
    done = job(sessions, job_id)
    assert (done.state, done.result, done.timings) == (SUCCEEDED, {"slices": 10}, {"total_ms": 5.0})
    assert done.started_at is not None and done.finished_at is not None and done.finished_at >= done.started_at
    assert [o for o, _ in events(sessions)] == ["queued", "started", "success"]


def test_failure_requeues_until_max_attempts(sessions: sessionmaker[Session]) -> None:
    job_id = add(sessions, new_job(attempts=2))
    ticket = claim_next(sessions, "w1")
    assert ticket is not None
    assert fail(sessions, job_id, "w1", "AnalysisError: boom 1") == QUEUED
    ticket = claim_next(sessions, "w1")
    assert ticket is not None and ticket.attempt == 2
    assert fail(sessions, job_id, "w1", "AnalysisError: boom 2") == FAILED
    failed = job(sessions, job_id)
    assert (failed.state, failed.attempts, failed.error) == (FAILED, 2, "AnalysisError: boom 2")
    assert claim_next(sessions, "w1") is None
    outcomes = [o for o, _ in events(sessions)]
    assert outcomes == ["queued", "started", "requeued", "started", "failure"]


def test_stale_running_job_is_requeued_then_failed(sessions: sessionmaker[Session]) -> None:
    job_id = add(sessions, new_job(attempts=2))
    for attempt, expected in ((1, QUEUED), (2, FAILED)):
        assert claim_next(sessions, f"dead{attempt}") is not None
        assert requeue_stale(sessions, timedelta(seconds=60)) == []  # fresh heartbeat
        with sessions.begin() as session:
            session.execute(update(Job).values(heartbeat_at=utcnow() - timedelta(seconds=120)))
        assert requeue_stale(sessions, timedelta(seconds=60)) == [job_id]
        assert job(sessions, job_id).state == expected
    assert "stopped heart-beating" in (job(sessions, job_id).error or "")
    assert not finish(sessions, job_id, "dead2", {}, {})  # a late finish of the dead worker changes nothing


def test_release_gives_the_attempt_back(sessions: sessionmaker[Session]) -> None:
    job_id = add(sessions, new_job())
    assert claim_next(sessions, "w1") is not None
    assert release(sessions, job_id, "w1", "worker stopping")
    released = job(sessions, job_id)
    assert (released.state, released.attempts, released.worker_id) == (QUEUED, 0, None)


def test_new_version_supersedes(sessions: sessionmaker[Session]) -> None:
    first = add(sessions, new_job(count=10))
    second = add(sessions, new_job(count=12))
    old, new = job(sessions, first), job(sessions, second)
    assert (new.version, new.state) == (2, QUEUED)
    assert (old.state, old.superseded_by) == (SKIPPED, second) and "superseded" in (old.reason or "")
    assert any(o == "superseded" and "2 instance(s) arrived after" in m for o, m in events(sessions))
    # a finished job keeps its state but points to the newer version
    assert claim_next(sessions, "w1") is not None
    assert finish(sessions, second, "w1", {}, {})
    third = add(sessions, new_job(count=13))
    assert (job(sessions, second).state, job(sessions, second).superseded_by) == (SUCCEEDED, third)


def test_skipped_job_keeps_reason(sessions: sessionmaker[Session]) -> None:
    job_id = add(sessions, new_job(skip="3 slice(s); at least 10 needed"))
    assert claim_next(sessions, "w1") is None
    assert job(sessions, job_id).state == SKIPPED
    assert events(sessions) == [("skipped", f"job {job_id} (series version 1, 10 instances) skipped: "
                                             "3 slice(s); at least 10 needed")]


def test_retry(sessions: sessionmaker[Session]) -> None:
    skipped = add(sessions, new_job("1.2.3.9", skip="localizer"))
    done = add(sessions, new_job("1.2.3.8"))
    with sessions.begin() as session, pytest.raises(ValueError, match="is queued"):
        retry(session, done)
    assert claim_next(sessions, "w1") is not None and finish(sessions, done, "w1", {}, {})
    with sessions.begin() as session:
        with pytest.raises(ValueError, match="--force"):
            retry(session, skipped)
        with pytest.raises(LookupError):
            retry(session, 999)
        retry(session, done)
    assert job(sessions, done).state == QUEUED and job(sessions, done).attempts == 0
    with sessions.begin() as session:
        retry(session, skipped, force=True)
    assert job(sessions, skipped).state == QUEUED


def test_concurrent_claims_never_share_a_job(sessions: sessionmaker[Session]) -> None:
    ids = {add(sessions, new_job(f"1.2.3.{n}")) for n in range(30)}
    claimed: dict[str, list[int]] = {}

    def work(name: str) -> None:
        mine = claimed.setdefault(name, [])
        while (ticket := claim_next(sessions, name)) is not None:
            mine.append(ticket.id)
            time.sleep(0.001)
            assert finish(sessions, ticket.id, name, {}, {})

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    everything = [job_id for mine in claimed.values() for job_id in mine]
    assert sorted(everything) == sorted(ids)  # each exactly once
    with sessions() as session:
        assert set(session.scalars(select(Job.state))) == {SUCCEEDED}
        assert set(session.scalars(select(Job.attempts))) == {1}
    assert RUNNING not in {job(sessions, i).state for i in ids}


def test_an_unusable_series_ends_skipped_without_retries(sessions: sessionmaker[Session]) -> None:
    job_id = add(sessions, new_job(attempts=3))
    assert claim_next(sessions, "w1") is not None
    assert not skip(sessions, job_id, "w2", "not its job")
    assert skip(sessions, job_id, "w1", "series 1.2.3.1: PixelSpacing (0028,0030) missing", {"total_ms": 3.0})
    skipped = job(sessions, job_id)
    assert (skipped.state, skipped.reason, skipped.attempts, skipped.worker_id) == (
        SKIPPED, "series 1.2.3.1: PixelSpacing (0028,0030) missing", 1, None)
    assert skipped.finished_at is not None and skipped.timings == {"total_ms": 3.0}
    assert events(sessions)[-1] == ("skipped", f"job {job_id} skipped by worker w1: series 1.2.3.1: PixelSpacing (0028,0030) missing")
    assert claim_next(sessions, "w1") is None
    with sessions.begin() as session, pytest.raises(ValueError, match="--force"):
        retry(session, job_id)
