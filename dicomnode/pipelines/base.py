"""What a pipeline is: one analysis the node hosts, from series selection to result datasets.

A pipeline is an object with a ``name``, the SOP classes it ``produces``, and three steps:

``select(headers, config)``
    Judge the headers of one ready series (no pixel data): :class:`NotApplicable` (the series is not
    for this pipeline; no job), :class:`Refusal` (a job that ends ``skipped`` with the reason) or
    :class:`InputSet` (a queued job reading these series).
``load_model(config)``
    Build the model its jobs need; a worker calls it once per process, on first use.
``run(job, inputs, model, context)``
    Analyse one claimed job and return an :class:`~dicomnode.workers.step.AnalysisOutcome`, with the
    contract of :mod:`dicomnode.workers.step`.

Pipelines are listed by name in :mod:`dicomnode.pipelines`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pydicom.dataset import Dataset

from dicomnode.config import Config

if TYPE_CHECKING:
    from db.jobs import Ticket
    from dicomnode.workers.step import AnalysisOutcome, StepContext


@dataclass(frozen=True)
class NotApplicable:
    """The series is not one this pipeline reads; no job is made for it."""


@dataclass(frozen=True)
class Refusal:
    """The series is for this pipeline but cannot be read: a job ``skipped`` with ``reason``.

    Attributes
    ----------
    reasons : list of str
        Every rule the series breaks, in the order checked.
    facts : dict
        What selection measured (slices, spacing, tilt...), kept in the job's ``detail``.
    """

    reasons: list[str]
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        """All reasons as one sentence list."""
        return "; ".join(self.reasons)


@dataclass(frozen=True)
class InputSet:
    """The series a job reads, and what selection measured of them.

    Attributes
    ----------
    series_uids : tuple of str
        Series Instance UIDs of the inputs (one for a single-series pipeline).
    facts : dict
        What selection measured, kept in the job's ``detail``.
    """

    series_uids: tuple[str, ...]
    facts: dict[str, Any] = field(default_factory=dict)


Verdict = NotApplicable | Refusal | InputSet


class Pipeline(Protocol):
    """One analysis: selection, model and run (see the module docstring)."""

    name: str
    produces: tuple[str, ...]

    def select(self, headers: Sequence[Dataset], config: Config) -> Verdict:
        """Judge the headers of one ready series."""
        ...

    def load_model(self, config: Config) -> Any:
        """Build the model the pipeline's jobs run with."""
        ...

    def run(self, job: Ticket, inputs: Sequence[str], model: Any, context: StepContext) -> AnalysisOutcome:
        """Analyse the input series of one claimed job."""
        ...
