"""What the microbleed writers need besides the detection and the magnitude images."""

from __future__ import annotations

from dataclasses import dataclass, field

from db.jobs import Ticket
from dicomnode.reports.context import ReportContext
from dicomnode.reports.uids import ResultUids

SR_SERIES_NUMBER = 9911
SC_SERIES_NUMBER = 9912
SERIES_NUMBERS = (SR_SERIES_NUMBER, SC_SERIES_NUMBER)
"""Series Numbers of the microbleed results: apart from the hemorrhage results' 9901-9903, so that the
two never share a number in one study (a test checks every registered pipeline)."""


@dataclass(frozen=True)
class CmbReport:
    """One microbleed job's result identity.

    ``context`` carries the deterministic UIDs and the job's time, as for the hemorrhage results; its
    job version is qualified by the pipeline (``cmb_swi-<version>``), so even one series analysed by both
    pipelines with one model hash could not give two results one UID.
    """

    context: ReportContext
    model_name: str
    model_version: str
    model_hash: str
    frame_of_reference_uid: str
    max_key_images: int
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def uids(self) -> ResultUids:
        return self.context.uids

    @classmethod
    def for_job(
        cls, job: Ticket, model_name: str, model_version: str, model_hash: str, threshold: float,
        frame_of_reference_uid: str, max_key_images: int, parameters: dict[str, str],
    ) -> CmbReport:
        """The report identity of ``job`` analysed by the model ``model_hash``."""
        context = ReportContext.for_job(job.series_uid, f"{job.pipeline}-{job.version}", model_hash, threshold,
                                        created_at=job.created_at, parameters=parameters)
        return cls(context, model_name, model_version, model_hash, frame_of_reference_uid, max_key_images,
                   parameters)
