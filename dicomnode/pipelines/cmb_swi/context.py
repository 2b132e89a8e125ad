"""What the microbleed writers need besides the detection and the magnitude images."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from db.jobs import Ticket
from dicomnode import __version__
from dicomnode.results.uids import ResultUids

SR_SERIES_NUMBER = 9911
SC_SERIES_NUMBER = 9912
SERIES_NUMBERS = (SR_SERIES_NUMBER, SC_SERIES_NUMBER)
"""Series Numbers of the microbleed results: apart from the hemorrhage results' 9901-9903, so that the
two never share a number in one study (a test checks every registered pipeline)."""


@dataclass(frozen=True)
class CmbReport:
    """One microbleed job's result identity: UIDs, time, producer, model, geometry and options.

    The UIDs derive from (magnitude series, ``cmb_swi-<job version>``, model hash): the job version is
    qualified by the pipeline, so even one series analysed by two pipelines with one model hash could not
    give two results one UID.
    """

    uids: ResultUids
    created_at: datetime | None
    model_name: str
    model_version: str
    model_hash: str
    frame_of_reference_uid: str
    max_key_images: int
    parameters: dict[str, str] = field(default_factory=dict)
    manufacturer: str = "dicomnode"
    software_version: str = __version__
    institution_name: str | None = None

    @classmethod
    def for_job(
        cls, job: Ticket, model_name: str, model_version: str, model_hash: str, frame_of_reference_uid: str,
        max_key_images: int, parameters: dict[str, str],
    ) -> CmbReport:
        """The report identity of ``job`` analysed by the model ``model_hash``."""
        uids = ResultUids(job.series_uid, f"{job.pipeline}-{job.version}", model_hash)
        return cls(uids, job.created_at, model_name, model_version, model_hash, frame_of_reference_uid,
                   max_key_images, parameters)
