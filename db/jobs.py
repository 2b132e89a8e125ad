"""The job queue: one row per analysis of one series version, and the queries over it.

States::

    queued -> running -> succeeded
                      -> failed      (``max_attempts`` reached, ``error`` holds the last error)
                      -> queued      (error below ``max_attempts``, or the worker stopped heart-beating)
    skipped                          (selection refused the series, or a newer version replaced it before
                                      it ran; ``reason`` says why)

A series gets a new job *version* when instances arrive after its previous job was created; the older job
points to the newer one through ``superseded_by`` (its result is superseded, not silently kept).

Claiming is atomic: ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the engine opens every
transaction with ``BEGIN IMMEDIATE`` (see :mod:`db.engine`), so the select-and-update runs under the single
writer lock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models import UID_LENGTH, Base, UTCDateTime, utcnow

QUEUED, RUNNING, SUCCEEDED, FAILED, SKIPPED = "queued", "running", "succeeded", "failed", "skipped"
STATES = (QUEUED, RUNNING, SUCCEEDED, FAILED, SKIPPED)
FINAL_STATES = (SUCCEEDED, FAILED, SKIPPED)


class Job(Base):
    """One analysis of one version of a series (the instances stored when it became ready)."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("series_uid", "version", name="uq_jobs_series_version"),
        Index("ix_jobs_state_id", "state", "id"),
        Index("ix_jobs_study", "study_uid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_uid: Mapped[str] = mapped_column(String(UID_LENGTH))
    series_uid: Mapped[str] = mapped_column(String(UID_LENGTH))
    version: Mapped[int] = mapped_column(Integer, default=1)
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
