"""What a pipeline is: one analysis the node hosts, from series selection to result datasets.

A pipeline is an object with a ``name``, the SOP classes it ``produces``, the Series Numbers its results
use (``series_numbers``, disjoint between pipelines), its ``settings`` (a pydantic model of its
``[pipelines.<name>]`` section, validated at start-up) and three steps:

``select(headers, config, study)``
    Judge the headers of one ready series (no pixel data), with the other series of its study at hand
    (``study``, read only when asked): :class:`NotApplicable` (the series is not for this pipeline; no
    job of this pipeline), :class:`Refusal` (a job that ends ``skipped`` with the reason),
    :class:`InputSet` (a queued job reading these series), :class:`Wait` (a series it needs is still
    arriving: judged again on a later pass) or :class:`Reopen` (the series completes another series'
    input set judged before it arrived: that series is judged again).
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
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError
from pydicom.dataset import Dataset

from dicomnode.config import Config
from dicomnode.errors import ConfigError

if TYPE_CHECKING:
    from db.jobs import Ticket
    from dicomnode.workers.step import AnalysisOutcome, StepContext


@dataclass(frozen=True)
class NotApplicable:
    """The series is not one this pipeline reads; no job of this pipeline is made for it.

    ``reason`` says why, for the row that records a series no enabled pipeline takes.
    """

    reason: str = ""


@dataclass(frozen=True)
class Wait:
    """The series is for this pipeline, but a series it is read with is still arriving."""

    reason: str


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
        Series Instance UIDs of the inputs, the ready series first (one for a single-series pipeline).
    facts : dict
        What selection measured, kept in the job's ``detail`` (where the pipeline's ``run`` finds it again,
        e.g. the snapshot of each other input series).
    """

    series_uids: tuple[str, ...]
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reopen:
    """The series completes the input set of ``series_uid``, which this pipeline judged before it arrived.

    E.g. a phase series arriving after its magnitude series ran magnitude-only. The ready series gets no
    job of this pipeline; ``series_uid`` is judged again by this pipeline alone, and the new job supersedes
    the one judged without it.
    """

    series_uid: str
    reason: str


Verdict = NotApplicable | Refusal | InputSet | Wait | Reopen


@dataclass(frozen=True)
class OtherSeries:
    """Another series of the ready series' study, as the assembler sees it now.

    Attributes
    ----------
    series_uid : str
    headers : list of pydicom.Dataset
        The headers of its stored instances (no pixel data).
    max_instance_id : int
        Its highest ``instances.id``: the snapshot a job reading it records.
    complete : bool
        Whether it is ready by the assembly rules (or already judged); False while it is still arriving.
    judged_inputs : dict
        Pipeline name -> the input series of that pipeline's latest job of this series; empty while the
        series was never judged.
    """

    series_uid: str
    headers: list[Dataset]
    max_instance_id: int
    complete: bool
    judged_inputs: dict[str, tuple[str, ...]] = field(default_factory=dict)


class Study(Protocol):
    """The study of the ready series (:class:`dicomnode.assembly.study.StoredStudy`)."""

    def other_series(self) -> list[OtherSeries]:
        """Every other series of the study with stored instances, read on the first call."""
        ...


Settings = TypeVar("Settings", bound=BaseModel)


def pipeline_settings(config: Config, name: str, model: type[Settings]) -> Settings:
    """``[pipelines.<name>]`` validated by the pipeline's settings ``model``.

    Raises
    ------
    ConfigError
        Naming the key, e.g. ``pipelines.cmb_swi.max_key_images: Input should be ...``.
    """
    try:
        return model.model_validate(config.pipeline(name).model_dump())
    except ValidationError as exc:
        errors = "; ".join(
            f"pipelines.{name}.{'.'.join(str(p) for p in error['loc'])}: "
            + ("unknown key" if error["type"] == "extra_forbidden" else error["msg"])
            for error in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {errors}") from exc


class Pipeline(Protocol):
    """One analysis: selection, model and run (see the module docstring)."""

    name: str
    produces: tuple[str, ...]
    series_numbers: tuple[int, ...]

    def settings(self, config: Config) -> BaseModel:
        """The pipeline's validated ``[pipelines.<name>]`` section."""
        ...

    def select(self, headers: Sequence[Dataset], config: Config, study: Study) -> Verdict:
        """Judge the headers of one ready series."""
        ...

    def load_model(self, config: Config) -> Any:
        """Build the model the pipeline's jobs run with."""
        ...

    def run(self, job: Ticket, inputs: Sequence[str], model: Any, context: StepContext) -> AnalysisOutcome:
        """Analyse the input series of one claimed job."""
        ...
