"""The job queue: one row per analysis of one series version, and the queries over it.

States::

    queued -> running -> succeeded
                      -> failed      (``max_attempts`` reached, ``error`` holds the last error)
                      -> queued      (error below ``max_attempts``, or the worker stopped heart-beating)
    skipped                          (selection refused the series, or a newer version replaced it before
                                      it ran; ``reason`` says why)
    running -> skipped               (the analysis found the series unusable as received: a data problem
                                      that a retry cannot fix; ``reason`` says why)

A series gets a new job *version* when instances arrive after its previous job was created; the older job
points to the newer one through ``superseded_by`` (its result is superseded, not silently kept).

Claiming is atomic: ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the engine opens every
transaction with ``BEGIN IMMEDIATE`` (see :mod:`db.engine`), so the select-and-update runs under the single
writer lock.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import JSON, CursorResult, ForeignKey, Index, Integer, String, Text, UniqueConstraint, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from db.audit import record_event
from db.models import UID_LENGTH, Base, UTCDateTime, utcnow
from db.text import bounded, bounded_detail

QUEUED, RUNNING, SUCCEEDED, FAILED, SKIPPED = "queued", "running", "succeeded", "failed", "skipped"
STATES = (QUEUED, RUNNING, SUCCEEDED, FAILED, SKIPPED)
FINAL_STATES = (SUCCEEDED, FAILED, SKIPPED)
DEFAULT_PIPELINE = "ich_ct"  # the pipeline of jobs made before jobs named theirs (migration 0004)
NO_PIPELINE = "none"  # the skipped job recording a ready series that no enabled pipeline reads


class Job(Base):
    """One analysis of one version of a series (the instances stored when it became ready) by one pipeline."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("pipeline", "series_uid", "version", name="uq_jobs_pipeline_series_version"),
        Index("ix_jobs_state_id", "state", "id"),
        Index("ix_jobs_study", "study_uid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_uid: Mapped[str] = mapped_column(String(UID_LENGTH))
    series_uid: Mapped[str] = mapped_column(String(UID_LENGTH))
    version: Mapped[int] = mapped_column(Integer, default=1)
    pipeline: Mapped[str] = mapped_column(String(32), default=DEFAULT_PIPELINE, server_default=DEFAULT_PIPELINE)
    inputs: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)  # input series UIDs; None: series_uid
    state: Mapped[str] = mapped_column(String(16), default=QUEUED)
    # why the series became ready: "released" (association released + grace), "quiet", or "retry"
    ready_rule: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)  # why it was skipped
    instance_count: Mapped[int] = mapped_column(Integer)
    max_instance_id: Mapped[int] = mapped_column(Integer)  # the snapshot: instances.id <= this of the series
    last_received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    worker_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # selection facts: slices, tilt, gaps
    timings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # milliseconds per step
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # what the analysis step returned


@dataclass(frozen=True)
class NewJob:
    """What the assembler decided about one ready series version."""

    study_uid: str
    series_uid: str
    ready_rule: str
    instance_count: int
    max_instance_id: int
    last_received_at: datetime
    skip_reason: str | None = None  # None: queue it
    detail: dict[str, Any] = field(default_factory=dict)
    max_attempts: int = 3
    pipeline: str = DEFAULT_PIPELINE
    inputs: tuple[str, ...] = ()  # the series the job reads; empty: the ready series alone


@dataclass(frozen=True)
class Ticket:
    """A claimed job as its worker sees it (plain data, no session attached)."""

    id: int
    study_uid: str
    series_uid: str
    version: int
    attempt: int
    max_attempts: int
    instance_count: int
    max_instance_id: int
    worker_id: str
    detail: dict[str, Any]
    created_at: datetime | None = None  # when the job was created: the time its results carry
    pipeline: str = DEFAULT_PIPELINE
    inputs: tuple[str, ...] = ()  # the series the pipeline reads


def superseded_by(session: Session, job_id: int) -> int | None:
    """The id of the job that replaced ``job_id`` (newer instances of its series arrived), or None."""
    return session.scalar(select(Job.superseded_by).where(Job.id == job_id))


def _ids(job: Job) -> dict[str, Any]:
    return {"study_uid": job.study_uid, "series_uid": job.series_uid}


def create_job(session: Session, new: NewJob, previous: Job | None) -> Job:
    """Insert the next version of a series' job (``queued`` or ``skipped``) and supersede ``previous``.

    ``previous`` is the latest job of the same series and pipeline. The caller's transaction commits it; a
    concurrent creator of the same version fails the unique constraint (``uq_jobs_pipeline_series_version``)
    instead of making a duplicate.
    """
    now = utcnow()
    job = Job(
        study_uid=new.study_uid,
        series_uid=new.series_uid,
        version=(previous.version + 1) if previous else 1,
        pipeline=new.pipeline,
        inputs=list(new.inputs or (new.series_uid,)),
        state=SKIPPED if new.skip_reason else QUEUED,
        ready_rule=new.ready_rule,
        reason=bounded(new.skip_reason) if new.skip_reason else None,
        instance_count=new.instance_count,
        max_instance_id=new.max_instance_id,
        last_received_at=new.last_received_at,
        attempts=0,
        max_attempts=new.max_attempts,
        created_at=now,
        finished_at=now if new.skip_reason else None,
        detail=bounded_detail(new.detail),
        timings={},
    )
    session.add(job)
    session.flush()
    version = f"job {job.id} (series version {job.version}, {job.instance_count} instances)"
    if new.skip_reason:
        record_event(session, "job", "skipped", f"{version} skipped: {new.skip_reason}",
                     detail={"job_id": job.id, "reason": new.skip_reason, **new.detail}, **_ids(job))
    else:
        record_event(session, "job", "queued", f"{version} queued", detail={"job_id": job.id, **new.detail},
                     **_ids(job))
    if previous is not None:
        _supersede(session, previous, job, now)
    return job


def _supersede(session: Session, old: Job, new: Job, now: datetime) -> None:
    old.superseded_by, previous_state = new.id, old.state
    added = new.instance_count - old.instance_count
    if added or list(old.inputs or ()) == list(new.inputs or ()):
        cause = f"{added} instance(s) arrived after job {old.id} was created"
    else:
        cause = f"its input series changed from {', '.join(old.inputs or ())} to {', '.join(new.inputs or ())}"
    message = f"job {old.id} (version {old.version}, {old.state}) superseded by job {new.id} (version {new.version}): {cause}"
    if old.state == QUEUED:
        old.state, old.reason, old.finished_at = SKIPPED, f"superseded by job {new.id} before it ran", now
    record_event(session, "job", "superseded", message,
                 detail={"job_id": old.id, "superseded_by": new.id, "previous_state": previous_state}, **_ids(old))


def latest_job(session: Session, series_uid: str, pipeline: str | None = None) -> Job | None:
    """The newest job of a series, of one ``pipeline`` or of any."""
    query = select(Job).where(Job.series_uid == series_uid)
    if pipeline is not None:
        query = query.where(Job.pipeline == pipeline)
    query = query.order_by(Job.version.desc(), Job.id.desc()).limit(1)
    return session.scalars(query).first()


def judged_inputs(session: Session, series_uids: Collection[str]) -> dict[str, dict[str, tuple[str, ...]]]:
    """Per series, per pipeline: the input series of its latest job (series never judged are absent)."""
    latest: dict[str, dict[str, tuple[str, ...]]] = {}
    if not series_uids:
        return latest
    rows = session.execute(
        select(Job.series_uid, Job.pipeline, Job.inputs)
        .where(Job.series_uid.in_(list(series_uids)))
        .order_by(Job.version, Job.id)
    )
    for series_uid, pipeline, inputs in rows:
        latest.setdefault(series_uid, {})[pipeline] = tuple(inputs or (series_uid,))
    return latest


def claim_next(sessions: sessionmaker[Session], worker_id: str, pipelines: Collection[str] = ()) -> Ticket | None:
    """Atomically take the oldest queued job for ``worker_id``; None when the queue is empty.

    ``pipelines`` limits the claim to jobs of those pipelines (a GPU worker that runs only some); empty:
    any pipeline.

    PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` lets concurrent workers pass each other's row.
    SQLite: ``with_for_update`` renders nothing; the transaction started with ``BEGIN IMMEDIATE`` holds the
    only write lock from the SELECT to the COMMIT, so no second worker can read the row as still queued.
    """
    with sessions.begin() as session:
        query = select(Job).where(Job.state == QUEUED)
        if pipelines:
            query = query.where(Job.pipeline.in_(list(pipelines)))
        job = session.scalars(query.order_by(Job.id).limit(1).with_for_update(skip_locked=True)).first()
        if job is None:
            return None
        now = utcnow()
        job.state, job.worker_id, job.attempts = RUNNING, worker_id, job.attempts + 1
        job.started_at, job.heartbeat_at, job.finished_at = now, now, None
        record_event(session, "job", "started",
                     f"job {job.id} started on worker {worker_id} (attempt {job.attempts} of {job.max_attempts})",
                     detail={"job_id": job.id, "worker_id": worker_id, "attempt": job.attempts}, **_ids(job))
        return Ticket(job.id, job.study_uid, job.series_uid, job.version, job.attempts, job.max_attempts,
                      job.instance_count, job.max_instance_id, worker_id, dict(job.detail or {}), job.created_at,
                      job.pipeline, tuple(job.inputs or (job.series_uid,)))


def heartbeat(sessions: sessionmaker[Session], job_id: int, worker_id: str) -> bool:
    """Record that ``worker_id`` still runs ``job_id``; False if the job is no longer its own."""
    with sessions.begin() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.worker_id == worker_id, Job.state == RUNNING)
            .values(heartbeat_at=utcnow())
        )
        return bool(cast(CursorResult[Any], result).rowcount)  # an UPDATE's result is a CursorResult


def _owned(session: Session, job_id: int, worker_id: str) -> Job | None:
    query = select(Job).where(Job.id == job_id, Job.worker_id == worker_id, Job.state == RUNNING).with_for_update()
    return session.scalars(query).first()


def finish(
    sessions: sessionmaker[Session], job_id: int, worker_id: str, result: dict[str, Any], timings: dict[str, Any]
) -> bool:
    """Mark a job ``succeeded``; False (nothing changed) if the worker no longer owns it."""
    with sessions.begin() as session:
        job = _owned(session, job_id, worker_id)
        if job is None:
            return False
        job.state, job.finished_at, job.result, job.timings, job.error = SUCCEEDED, utcnow(), result, timings, None
        note = f" (superseded by job {job.superseded_by})" if job.superseded_by else ""
        record_event(session, "job", "success", f"job {job.id} succeeded on worker {worker_id}{note}",
                     detail={"job_id": job.id, "worker_id": worker_id, "timings_ms": timings}, **_ids(job))
        return True


def fail(
    sessions: sessionmaker[Session], job_id: int, worker_id: str, error: str, timings: dict[str, Any] | None = None
) -> str | None:
    """Record a failed attempt: re-queue below ``max_attempts``, else ``failed``; the new state or None."""
    with sessions.begin() as session:
        job = _owned(session, job_id, worker_id)
        if job is None:
            return None
        _failed_attempt(session, job, error, timings or {})
        return job.state


def _failed_attempt(session: Session, job: Job, error: str, timings: dict[str, Any]) -> None:
    error = bounded(error)
    job.error, job.timings, job.worker_id, job.heartbeat_at = error, timings, None, None
    attempt = f"attempt {job.attempts} of {job.max_attempts}"
    detail = {"job_id": job.id, "attempt": job.attempts, "error": error}
    if job.attempts >= job.max_attempts:
        job.state, job.finished_at = FAILED, utcnow()
        record_event(session, "job", "failure", f"job {job.id} failed ({attempt}): {error}", detail=detail, **_ids(job))
    else:
        job.state = QUEUED
        record_event(session, "job", "requeued", f"job {job.id} re-queued after {attempt}: {error}",
                     detail=detail, **_ids(job))


def skip(
    sessions: sessionmaker[Session], job_id: int, worker_id: str, reason: str, timings: dict[str, Any] | None = None
) -> bool:
    """A running job ends ``skipped`` with ``reason`` (no retry); False if the worker no longer owns it."""
    with sessions.begin() as session:
        job = _owned(session, job_id, worker_id)
        if job is None:
            return False
        job.state, job.reason, job.finished_at = SKIPPED, bounded(reason), utcnow()
        job.timings, job.worker_id, job.heartbeat_at = timings or {}, None, None
        record_event(session, "job", "skipped", f"job {job.id} skipped by worker {worker_id}: {reason}",
                     detail={"job_id": job.id, "worker_id": worker_id, "attempt": job.attempts}, **_ids(job))
        return True


def release(sessions: sessionmaker[Session], job_id: int, worker_id: str, why: str) -> bool:
    """Give a running job back to the queue without counting the attempt (the worker is stopping)."""
    with sessions.begin() as session:
        job = _owned(session, job_id, worker_id)
        if job is None:
            return False
        job.state, job.worker_id, job.heartbeat_at, job.attempts = QUEUED, None, None, max(0, job.attempts - 1)
        record_event(session, "job", "requeued", f"job {job.id} given back by worker {worker_id}: {why}",
                     detail={"job_id": job.id, "worker_id": worker_id}, **_ids(job))
        return True


def requeue_stale(sessions: sessionmaker[Session], stale_after: timedelta) -> list[int]:
    """Jobs whose worker stopped heart-beating for ``stale_after``: re-queued, or ``failed`` at max_attempts."""
    with sessions.begin() as session:
        limit = utcnow() - stale_after
        query = (
            select(Job)
            .where(Job.state == RUNNING, Job.heartbeat_at < limit)
            .order_by(Job.id)
            .with_for_update(skip_locked=True)
        )
        jobs = list(session.scalars(query))
        for job in jobs:
            seconds = (utcnow() - job.heartbeat_at).total_seconds() if job.heartbeat_at else float("nan")
            error = f"worker {job.worker_id} stopped heart-beating ({seconds:.1f} s without a heartbeat)"
            _failed_attempt(session, job, error, dict(job.timings or {}))
        return [job.id for job in jobs]


def retry(session: Session, job_id: int, *, force: bool = False) -> Job:
    """Put a finished job back in the queue with fresh attempts (``force`` for one selection skipped).

    Raises
    ------
    LookupError
        No such job.
    ValueError
        The job is queued or running, was superseded, was skipped by selection without ``force``, or
        records a series no pipeline reads (nothing could run it).
    """
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise LookupError(f"no job {job_id}")
    if job.state not in FINAL_STATES:
        raise ValueError(f"job {job_id} is {job.state}; only succeeded, failed or skipped jobs can be retried")
    if job.superseded_by is not None:
        raise ValueError(f"job {job_id} was superseded by job {job.superseded_by}; retry that one")
    if job.pipeline == NO_PIPELINE:
        raise ValueError(f"job {job_id} records a series no pipeline reads ({job.reason}); nothing can run it")
    if job.state == SKIPPED and not force:
        raise ValueError(f"job {job_id} was skipped ({job.reason}); use --force to run it anyway")
    previous = job.state
    job.state, job.attempts, job.worker_id, job.heartbeat_at = QUEUED, 0, None, None
    job.started_at = job.finished_at = None
    record_event(session, "job", "retried", f"job {job_id} ({previous}) queued again by an operator",
                 detail={"job_id": job_id, "previous_state": previous, "forced": force}, **_ids(job))
    return job


def list_jobs(
    session: Session, *, state: str | None = None, study_uid: str | None = None, limit: int = 50
) -> Sequence[Job]:
    """Jobs newest first, optionally of one state or study."""
    query = select(Job)
    if state is not None:
        query = query.where(Job.state == state)
    if study_uid is not None:
        query = query.where(Job.study_uid == study_uid)
    return session.scalars(query.order_by(Job.id.desc()).limit(limit)).all()
