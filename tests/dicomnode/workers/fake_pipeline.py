"""A pipeline for tests only (registered by monkeypatching ``dicomnode.pipelines.PIPELINES``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydicom.dataset import Dataset

from db.jobs import Ticket
from dicomnode.config import Config
from dicomnode.pipelines.base import NotApplicable, Verdict
from dicomnode.workers.step import AnalysisOutcome, StepContext


class Echo:
    """Takes no series; its jobs return their inputs and the model they ran with."""

    name = "echo"
    produces: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.loads = 0

    def select(self, headers: Sequence[Dataset], config: Config) -> Verdict:
        return NotApplicable()

    def load_model(self, config: Config) -> dict[str, Any]:
        self.loads += 1
        return {"model": "echo", "load": self.loads}

    def run(self, job: Ticket, inputs: Sequence[str], model: Any, context: StepContext) -> AnalysisOutcome:
        return AnalysisOutcome({"inputs": list(inputs), **model}, {})


ECHO = Echo()
