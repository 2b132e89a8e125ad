"""Results as DICOM: a TID 1500 Structured Report and Secondary Capture images for one prediction.

Wiring into the analysis step::

    from dicomnode.reports import ReportContext, build_results

    context = ReportContext.for_job(
        source_series_uid=job.series_uid, job_version=job.version, model_hash=engine.info.model_hash,
        threshold=threshold, max_key_slices=config.reports.max_key_slices, created_at=job.created_at,
    )
    datasets = build_results(prediction, source_datasets, context)   # [SR, key-slice SCs..., summary SC]

The UIDs of every object depend only on (source series, job version, model hash), so building the
results again gives the same SOP Instance UIDs and a re-send never duplicates anything in the PACS.

Modules: :mod:`~dicomnode.reports.sr` (Comprehensive 3D SR, PS3.16 TID 1500 / TID 4019),
:mod:`~dicomnode.reports.sc` (SC Image IOD, PS3.3 A.8.1), :mod:`~dicomnode.reports.render` (pixels),
:mod:`~dicomnode.reports.codes` (coded concepts and where each was verified),
:mod:`~dicomnode.reports.uids` (deterministic UIDs), :mod:`~dicomnode.reports.context` (inputs).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydicom.dataset import Dataset
from pydicom.uid import Comprehensive3DSRStorage, SecondaryCaptureImageStorage

from dicomnode.reports.context import ReportContext, order_datasets, with_type2_present
from dicomnode.reports.sc import build_sc
from dicomnode.reports.sr import build_sr
from dicomnode.reports.uids import ResultUids
from inference.prediction import Prediction

__all__ = ["PRODUCED_SOP_CLASSES", "ReportContext", "ResultUids", "build_results", "build_sc", "build_sr"]

# What build_results produces (PS3.4 B.5): the conformance statement's SCU table is generated from this.
PRODUCED_SOP_CLASSES = (str(Comprehensive3DSRStorage), str(SecondaryCaptureImageStorage))


def build_results(prediction: Prediction, source_datasets: Sequence[Dataset], context: ReportContext) -> list[Dataset]:
    """The SR and the SC images of one prediction, ready to store or send.

    Parameters
    ----------
    prediction
        The engine's output for the series (slice order = ``prediction.sop_instance_uids``).
    source_datasets
        The series' datasets with pixel data, in any order; every predicted SOP Instance UID must be present.
    context
        UIDs, threshold, key-slice count and the producing node's identity.

    Returns
    -------
    list of pydicom.dataset.Dataset
        The SR first, then the key-slice SC images (positive studies only), then the summary SC image.
    """
    datasets = [with_type2_present(ds) for ds in order_datasets(prediction, source_datasets)]
    return [build_sr(prediction, datasets, context), *build_sc(prediction, datasets, context)]
