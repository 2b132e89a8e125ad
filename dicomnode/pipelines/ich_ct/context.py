"""What the report writers need besides the prediction and the source images.

:class:`ReportContext` is built once per job by the analysis step (from the job, the model's identity and
the configuration) and passed to :func:`dicomnode.pipelines.ich_ct.build_results`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from pydicom.dataset import Dataset

from dicomnode import __version__
from dicomnode.results.uids import ResultUids
from inference.ich.labels import ANY_INDEX, LABELS
from inference.ich.prediction import Prediction

DEFAULT_MAX_KEY_SLICES = 3
SR_SERIES_NUMBER = 9901
SC_SERIES_NUMBER = 9902
SEG_SERIES_NUMBER = 9903


@dataclass(frozen=True)
class ReportContext:
    """Everything about one job's results that is not in the prediction.

    Attributes
    ----------
    uids : ResultUids
        Deterministic UIDs (source series, job version, model hash).
    threshold : float
        Operating threshold: a label is called positive when its study probability reaches it.
    model_hash : str
        sha256 of the weights, reported with the algorithm version (PS3.16 TID 4019).
    max_key_slices : int
        Key slices shown per finding (SC images and SR references).
    manufacturer : str
        Manufacturer (0008,0070) of the produced objects.
    software_version : str
        Software Versions (0018,1020) of the produced objects.
    institution_name : str or None
        Institution Name (0008,0080), when configured.
    created_at : datetime or None
        Content Date/Time of the produced objects; the job's time keeps re-built results identical.
    parameters : dict
        Extra algorithm parameters to report (TID 4019 row 4), e.g. the backend; a key given here replaces
        the same key of the defaults (each parameter is reported once).
    segmentation : bool
        Whether a DICOM SEG of the findings' regions is written (``[reports] segmentation``).
    indeterminate_reasons : tuple of str
        When not empty the result is indeterminate (e.g. the series is outside the model's domain): the SR
        says so and lists these reasons, no finding is drawn, no SEG and no key-slice image is written.
    """

    uids: ResultUids
    threshold: float
    model_hash: str
    max_key_slices: int = DEFAULT_MAX_KEY_SLICES
    manufacturer: str = "dicomnode"
    software_version: str = __version__
    institution_name: str | None = None
    created_at: datetime | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    segmentation: bool = True
    indeterminate_reasons: tuple[str, ...] = ()

    @classmethod
    def for_job(
        cls, source_series_uid: str, job_version: int | str, model_hash: str, threshold: float, **kwargs: object
    ) -> ReportContext:
        """The context of job ``job_version`` of ``source_series_uid`` analysed by the model ``model_hash``."""
        return cls(ResultUids(source_series_uid, job_version, model_hash), threshold, model_hash, **kwargs)  # type: ignore[arg-type]


def order_datasets(prediction: Prediction, datasets: Sequence[Dataset]) -> list[Dataset]:
    """The source datasets in the prediction's slice order (one per row of ``slice_probs``).

    Raises
    ------
    ValueError
        When a SOP Instance UID of the prediction has no dataset.
    """
    by_uid = {str(ds.SOPInstanceUID): ds for ds in datasets}
    missing = [uid for uid in prediction.sop_instance_uids if uid not in by_uid]
    if missing:
        raise ValueError(f"{len(missing)} predicted slices have no source dataset, e.g. {missing[0]}")
    return [by_uid[uid] for uid in prediction.sop_instance_uids]


def positive_labels(prediction: Prediction, threshold: float) -> list[str]:
    """The hemorrhage subtypes (not "any") whose study probability reaches ``threshold``."""
    return [
        label for index, label in enumerate(LABELS)
        if index != ANY_INDEX and float(prediction.study_probs[index]) >= threshold
    ]


def key_slices(probabilities: np.ndarray, threshold: float, limit: int) -> list[int]:
    """Indices of the slices where a finding is most probable, most probable first.

    Slices at or above ``threshold``, at most ``limit``; when none reaches it, the single most probable
    slice (a study can be positive on the study head while no slice is).
    """
    if limit <= 0 or probabilities.size == 0:
        return []
    order = [int(i) for i in np.argsort(-probabilities, kind="stable")]
    above = [i for i in order if float(probabilities[i]) >= threshold]
    return (above or order[:1])[:limit]
