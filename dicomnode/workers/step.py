"""The analysis step: the one function a worker runs for a claimed job, and what every step may use.

The default step, :func:`dicomnode.workers.dispatch.run_pipeline`, runs each job by its pipeline
(:mod:`dicomnode.pipelines`): the hemorrhage pipeline's analysis is :mod:`dicomnode.pipelines.ich_ct.analysis`,
the microbleed pipeline's :mod:`dicomnode.pipelines.cmb_swi.pipeline`. Both read their series with
:func:`load_series` and hand their result datasets to :func:`store_results`, and each stage's time goes to
``jobs.timings``.

Contract:

- The step may take as long as it needs; the worker heart-beats meanwhile.
- Raising :class:`dicomnode.errors.UnusableSeries` (a data problem: missing attribute, bad geometry,
  undecodable pixels) ends the job ``skipped`` with its message as the reason, without retries.
- Raising any other ``Exception`` fails the attempt: the worker records an administrator's message
  (:func:`dicomnode.workers.failures.describe_failure`) as the job's error and re-queues it until
  ``inference.max_attempts``. Raise :class:`dicomnode.errors.AnalysisError` with a message naming the
  series and the cause.
- A job can run more than once (a crash after the work but before the commit, a retry): results must be
  idempotent (derive result UIDs from the job id and version so a re-run re-sends the same objects).
- ``result`` is JSON-serialisable; it is stored in ``jobs.result``. ``timings_ms`` in ``jobs.timings``.
- Check ``context.stopping`` between long phases if you can stop early; the worker also interrupts the
  step on SIGTERM and gives the job back to the queue.

``inference.analysis_step = "module:function"`` names another step with the same signature for every job
(tests use it for a slow step; a deployment could use it for a site-specific one).
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pydicom
from pydicom.errors import InvalidDicomError
from sqlalchemy.orm import Session, sessionmaker

from db.jobs import Ticket, superseded_by
from db.series import series_instances
from dicomnode.config import Config
from dicomnode.delivery import enqueue, write_results
from dicomnode.errors import AnalysisError, ConfigError
from dicomnode.workers.dispatch import PipelineModels, run_pipeline


@dataclass(frozen=True)
class StepContext:
    """What a step may use: configuration, database sessions, who runs it, a stop request, the models.

    ``models`` holds the model of each pipeline the worker has run (loaded on first use).
    """

    config: Config
    sessions: sessionmaker[Session]
    worker_id: str
    stopping: threading.Event = field(default_factory=threading.Event)
    models: PipelineModels = field(default_factory=PipelineModels)


@dataclass(frozen=True)
class AnalysisOutcome:
    """What a step returns: a JSON-serialisable ``result`` and timings in milliseconds."""

    result: dict[str, Any]
    timings_ms: dict[str, float]


Step = Callable[[Ticket, StepContext], AnalysisOutcome]


def elapsed_ms(start: float) -> float:
    """Milliseconds since ``start`` (a :func:`time.perf_counter` value), to 0.1 ms, for ``jobs.timings``."""
    return round((time.perf_counter() - start) * 1000, 1)


def store_results(job: Ticket, context: StepContext, results: Sequence[pydicom.Dataset]) -> int | None:
    """Write ``results`` durably and queue them for every destination, unless the job was superseded.

    Files first, outside any transaction: on SQLite a transaction holds the write lock, and C-STORE commits
    must not wait for fsyncs of results. A crash before the rows commit re-runs the job, which rewrites the
    same files (deterministic UIDs) and queues them; a job superseded meanwhile leaves its files unqueued,
    as such a crash would. Returns the id of the job that superseded this one, or None.
    """
    with context.sessions() as session:
        newer = superseded_by(session, job.id)
    if newer is None:
        items = write_results(context.config.results.dir, results)
        with context.sessions.begin() as session:
            newer = superseded_by(session, job.id)
            if newer is None:
                enqueue(session, items, context.config.destinations, job_id=job.id)
    return newer


def load_series(job: Ticket, context: StepContext, series_uid: str, max_instance_id: int) -> list[pydicom.Dataset]:
    """The stored instances of ``series_uid`` up to ``max_instance_id`` (a job's snapshot), with pixel data.

    Raises
    ------
    AnalysisError
        None is stored, or a file cannot be read.
    """
    with context.sessions() as session:
        refs = series_instances(session, series_uid, max_instance_id)
    if not refs:
        raise AnalysisError(f"series {series_uid}: no stored instance in job {job.id}'s snapshot")
    try:
        return [pydicom.dcmread(ref.path) for ref in refs]
    except (OSError, InvalidDicomError) as exc:
        raise AnalysisError(f"series {series_uid}: a stored instance cannot be read: {exc}") from exc


def load_step(config: Config) -> Step:
    """The configured step (``inference.analysis_step``), or :func:`~dicomnode.workers.dispatch.run_pipeline`."""
    name = config.inference.analysis_step
    if not name:
        return run_pipeline
    module_name, _, attribute = name.partition(":")
    try:
        step = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"inference.analysis_step: cannot import {name!r} (module:function): {exc}") from exc
    if not callable(step):
        raise ConfigError(f"inference.analysis_step: {name!r} is not callable")
    return step  # type: ignore[no-any-return]
