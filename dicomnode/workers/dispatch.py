"""The default analysis step: run a job by its pipeline, with that pipeline's model.

A worker keeps one model per pipeline (:class:`PipelineModels`), loaded on the first job of that pipeline
or at start-up (:meth:`PipelineModels.warm_up`), and reused for every later job.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from dicomnode.config import Config
from dicomnode.errors import ConfigError
from dicomnode.pipelines import enabled_pipelines, load_pipeline
from dicomnode.pipelines.base import Pipeline

if TYPE_CHECKING:
    from db.jobs import Ticket
    from dicomnode.workers.step import AnalysisOutcome, StepContext

log = logging.getLogger(__name__)


class PipelineModels:
    """The loaded model of each pipeline, by pipeline name (one worker process's cache)."""

    def __init__(self) -> None:
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, name: str, config: Config) -> Any:
        """The model of pipeline ``name``, loaded with ``config`` on first use.

        Raises
        ------
        Exception
            Whatever the pipeline's ``load_model`` raises; the next call tries again.
        """
        with self._lock:
            if name not in self._models:
                self._models[name] = load_pipeline(name).load_model(config)
            return self._models[name]

    def warm_up(self, config: Config) -> None:
        """Load the models of the pipelines this worker runs now; a failure is logged and left for the jobs."""
        for pipeline in worker_pipelines(config):
            try:
                self.get(pipeline.name, config)
            except Exception as exc:  # noqa: BLE001 - every job will fail with this error, recorded in its row
                log.error("the model of pipeline %s could not be loaded: %s: %s", pipeline.name,
                          type(exc).__name__, exc)


def worker_pipelines(config: Config) -> list[Pipeline]:
    """The enabled pipelines a worker of ``config`` runs: ``inference.worker_pipelines``, or all of them.

    Raises
    ------
    ConfigError
        ``inference.worker_pipelines`` names a pipeline that is not registered or not enabled.
    """
    enabled = enabled_pipelines(config)
    wanted = config.inference.worker_pipelines
    unknown = sorted(set(wanted) - {p.name for p in enabled})
    if unknown:
        raise ConfigError(f"inference.worker_pipelines: {', '.join(unknown)} is not an enabled pipeline "
                          f"(enabled: {', '.join(p.name for p in enabled) or 'none'})")
    return [p for p in enabled if not wanted or p.name in wanted]


def run_pipeline(job: Ticket, context: StepContext) -> AnalysisOutcome:
    """Run ``job`` with the pipeline it names (``jobs.pipeline``) and that pipeline's model."""
    pipeline = load_pipeline(job.pipeline)
    model = context.models.get(job.pipeline, context.config)
    return pipeline.run(job, job.inputs or (job.series_uid,), model, context)
