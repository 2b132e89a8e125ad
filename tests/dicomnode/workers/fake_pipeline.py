"""A pipeline for tests only (registered by monkeypatching ``dicomnode.pipelines.PIPELINES``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydicom.dataset import Dataset

from db.jobs import Ticket
from dicomnode.config import Config
from dicomnode.pipelines.base import NotApplicable, Study, Verdict, pipeline_settings
from dicomnode.workers.step import AnalysisOutcome, StepContext


class EchoSettings(BaseModel):
    enabled: bool = True


class Echo:
    """Takes no series; its jobs return their inputs and the model they ran with."""

    name = "echo"
    produces: tuple[str, ...] = ()
    series_numbers: tuple[int, ...] = ()

    def __init__(self) -> None:
        self.loads = 0

    def settings(self, config: Config) -> EchoSettings:
        return pipeline_settings(config, self.name, EchoSettings)

    def select(self, headers: Sequence[Dataset], config: Config, study: Study) -> Verdict:
        return NotApplicable("echo reads no series")

    def load_model(self, config: Config) -> dict[str, Any]:
        self.loads += 1
        return {"model": "echo", "load": self.loads}

    def run(self, job: Ticket, inputs: Sequence[str], model: Any, context: StepContext) -> AnalysisOutcome:
        return AnalysisOutcome({"inputs": list(inputs), **model}, {})


ECHO = Echo()
