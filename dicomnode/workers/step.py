"""The analysis step: the one function a worker runs for a claimed job.

Boundary (what later issues plug in here, in :func:`run_analysis`)::

    Ticket (job id, series UID, snapshot of instances)
      -> source datasets (read from storage)           today
      -> inference.Volume (HU, geometry, tilt)         today
      -> engine.predict(volume) -> Prediction          model issue
      -> reports: SR (TID 1500) + SC images            reports issue
      -> outbox rows for each destination              delivery issue
      -> AnalysisOutcome(result, timings_ms)

Contract:

- The step may take as long as it needs; the worker heart-beats meanwhile.
- Raising any ``Exception`` fails the attempt: the worker records ``"<type>: <message>"`` as the job's
  error and re-queues it until ``inference.max_attempts``. Raise :class:`dicomnode.errors.AnalysisError`
  with a message naming the series and the cause.
- A job can run more than once (a crash after the work but before the commit, a retry): results must be
  idempotent (derive result UIDs from the job id and version so a re-run re-sends the same objects).
- ``result`` is JSON-serialisable; it is stored in ``jobs.result``. ``timings_ms`` in ``jobs.timings``.
- Check ``context.stopping`` between long phases if you can stop early; the worker also interrupts the
  step on SIGTERM and gives the job back to the queue.

``inference.analysis_step = "module:function"`` names another step with the same signature (tests use
it for a slow step; a deployment could use it for a site-specific one).
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pydicom
from pydicom.errors import InvalidDicomError
from sqlalchemy.orm import Session, sessionmaker

from db.jobs import Ticket
from db.series import series_instances
from dicomnode.config import Config
from dicomnode.errors import AnalysisError, ConfigError
from inference.errors import VolumeError
from inference.volume import Volume


@dataclass(frozen=True)
class StepContext:
    """What a step may use: configuration, database sessions, who runs it, and a stop request."""

    config: Config
    sessions: sessionmaker[Session]
    worker_id: str
    stopping: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class AnalysisOutcome:
    """What a step returns: a JSON-serialisable ``result`` and timings in milliseconds."""

    result: dict[str, Any]
    timings_ms: dict[str, float]


Step = Callable[[Ticket, StepContext], AnalysisOutcome]


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def run_analysis(job: Ticket, context: StepContext) -> AnalysisOutcome:
    """Load the job's series, build its :class:`inference.volume.Volume` and describe it."""
    start = time.perf_counter()
    with context.sessions() as session:
        refs = series_instances(session, job.series_uid, job.max_instance_id)
    if not refs:
        raise AnalysisError(f"series {job.series_uid}: no stored instance in job {job.id}'s snapshot")
    try:
        datasets = [pydicom.dcmread(ref.path) for ref in refs]
    except (OSError, InvalidDicomError) as exc:
        raise AnalysisError(f"series {job.series_uid}: a stored instance cannot be read: {exc}") from exc
    load_ms = _ms(start)
    start = time.perf_counter()
    try:
        volume = Volume.from_datasets(datasets, max_obliquity_degrees=context.config.selection.max_tilt_degrees)
    except VolumeError as exc:
        raise AnalysisError(f"series {job.series_uid}: {exc}") from exc
    result = {
        "series_uid": job.series_uid,
        "slices": volume.num_slices,
        "shape": list(volume.hu.shape),
        "spacing_mm": [round(v, 4) for v in volume.spacing],
        "tilt_degrees": round(volume.tilt_degrees, 2),
    }
    return AnalysisOutcome(result=result, timings_ms={"load_ms": load_ms, "volume_ms": _ms(start)})


def load_step(config: Config) -> Step:
    """The configured step (``inference.analysis_step``), or :func:`run_analysis`."""
    name = config.inference.analysis_step
    if not name:
        return run_analysis
    module_name, _, attribute = name.partition(":")
    try:
        step = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"inference.analysis_step: cannot import {name!r} (module:function): {exc}") from exc
    if not callable(step):
        raise ConfigError(f"inference.analysis_step: {name!r} is not callable")
    return step  # type: ignore[no-any-return]
