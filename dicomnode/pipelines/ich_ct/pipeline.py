"""The hemorrhage pipeline object: today's selection, model runtime and analysis step behind the protocol."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict
from pydicom.dataset import Dataset

from db.jobs import Ticket
from dicomnode.config import Config
from dicomnode.pipelines.base import InputSet, NotApplicable, Refusal, Study, Verdict, pipeline_settings
from dicomnode.pipelines.ich_ct.analysis import run_analysis
from dicomnode.pipelines.ich_ct.context import SC_SERIES_NUMBER, SEG_SERIES_NUMBER, SR_SERIES_NUMBER
from dicomnode.pipelines.ich_ct.results import PRODUCED_SOP_CLASSES
from dicomnode.pipelines.ich_ct.runtime import ModelRuntime
from dicomnode.pipelines.ich_ct.selection import select_series
from dicomnode.workers.step import AnalysisOutcome, StepContext


class IchCtSettings(BaseModel):
    """``[pipelines.ich_ct]``: only ``enabled``; the pipeline keeps its settings in ``[selection]``,
    ``[inference]`` and ``[reports]``, the sections it had before pipelines existed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True


class IchCt:
    """Hemorrhage detection on one axial CT series; ``[selection]`` and ``[inference]`` configure it."""

    name = "ich_ct"
    produces: tuple[str, ...] = PRODUCED_SOP_CLASSES
    series_numbers = (SR_SERIES_NUMBER, SC_SERIES_NUMBER, SEG_SERIES_NUMBER)

    def settings(self, config: Config) -> IchCtSettings:
        """The validated ``[pipelines.ich_ct]`` section."""
        return pipeline_settings(config, self.name, IchCtSettings)

    def select(self, headers: Sequence[Dataset], config: Config, study: Study) -> Verdict:
        """Apply :func:`~dicomnode.pipelines.ich_ct.selection.select_series` to a series of the configured modalities.

        A series none of whose instances has a modality of ``selection.modalities`` (an MR series) is not
        for this pipeline; any other gets a hemorrhage job, skipped with the reasons when a rule refuses it
        (a CT scout, a series mixing CT and other modalities). The other series of the study are not read.
        """
        modalities = sorted({str(ds.get("Modality", "") or "none") for ds in headers})
        if headers and not set(modalities) & set(config.selection.modalities):
            return NotApplicable(f"Modality {', '.join(modalities)} is not one of "
                                 f"{', '.join(config.selection.modalities)} (selection.modalities)")
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
        """:func:`~dicomnode.pipelines.ich_ct.analysis.run_analysis` on the job's series with ``model``."""
        return run_analysis(job, context, model)


PIPELINE = IchCt()
