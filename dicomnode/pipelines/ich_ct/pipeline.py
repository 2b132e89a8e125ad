"""The hemorrhage pipeline object: today's selection, model runtime and analysis step behind the protocol."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from pydicom.dataset import Dataset

from db.jobs import Ticket
from dicomnode.assembly.selection import select_series
from dicomnode.config import Config
from dicomnode.pipelines.base import InputSet, Refusal, Verdict
from dicomnode.reports import PRODUCED_SOP_CLASSES
from dicomnode.workers.runtime import ModelRuntime
from dicomnode.workers.step import AnalysisOutcome, StepContext, run_analysis


class IchCt:
    """Hemorrhage detection on one axial CT series; ``[selection]`` and ``[inference]`` configure it."""

    name = "ich_ct"
    produces: tuple[str, ...] = PRODUCED_SOP_CLASSES

    def select(self, headers: Sequence[Dataset], config: Config) -> Verdict:
        """Apply :func:`~dicomnode.assembly.selection.select_series`; a series is never "not applicable".

        Every ready series gets a hemorrhage job, skipped with the reasons when a rule refuses it (an
        MR series is refused by ``selection.modalities``), as before pipelines existed.
        """
        selection = select_series(headers, config.selection)
        if not selection.accepted:
            return Refusal(selection.reasons, selection.facts)
        return InputSet((str(headers[0].SeriesInstanceUID),), selection.facts)

    def load_model(self, config: Config) -> ModelRuntime:
        """The configured engine (``[inference]``), built now so that a broken model fails here."""
        runtime = ModelRuntime(config)
        runtime.engine  # noqa: B018 - the property builds and caches the engine
        return runtime

    def run(self, job: Ticket, inputs: Sequence[str], model: ModelRuntime, context: StepContext) -> AnalysisOutcome:
        """:func:`~dicomnode.workers.step.run_analysis` on the job's series with ``model``."""
        return run_analysis(job, dataclasses.replace(context, runtime=model))


PIPELINE = IchCt()
