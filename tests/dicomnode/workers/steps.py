"""Analysis steps for tests only, named through ``inference.analysis_step`` (never used in production).

``slow`` sleeps ``DICOMNODE_TEST_STEP_SECONDS`` (default 30) so a test can kill its worker mid-job;
``flaky`` fails the jobs whose detail says ``{"fail": true}`` and succeeds on the others; ``unusable``
raises UnusableSeries; ``stripped_header`` reads an attribute a dataset lacks.
"""

from __future__ import annotations

import os
import time

from pydicom.dataset import Dataset

from db.jobs import Ticket
from dicomnode.errors import AnalysisError, UnusableSeries
from dicomnode.workers.step import AnalysisOutcome, StepContext


def slow(job: Ticket, context: StepContext) -> AnalysisOutcome:
    seconds = float(os.environ.get("DICOMNODE_TEST_STEP_SECONDS", "30"))
    time.sleep(seconds)
    return AnalysisOutcome({"worker_id": context.worker_id}, {"sleep_ms": seconds * 1000})


def flaky(job: Ticket, context: StepContext) -> AnalysisOutcome:
    if job.detail.get("fail"):
        raise AnalysisError(f"series {job.series_uid}: made to fail (attempt {job.attempt})")
    return AnalysisOutcome({"worker_id": context.worker_id}, {})


def unusable(job: Ticket, context: StepContext) -> AnalysisOutcome:
    raise UnusableSeries(f"series {job.series_uid}: PixelSpacing (0028,0030) missing")


def stripped_header(job: Ticket, context: StepContext) -> AnalysisOutcome:
    return AnalysisOutcome({"thickness": float(Dataset().SliceThickness)}, {})  # raises AttributeError
