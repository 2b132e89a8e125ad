"""Results as DICOM: a TID 1500 Comprehensive SR, a Segmentation and Secondary Capture images for one prediction.

Wiring into the analysis step::

    from dicomnode.pipelines.ich_ct.results import ReportContext, build_results

    context = ReportContext.for_job(
        source_series_uid=job.series_uid, job_version=job.version, model_hash=engine.info.model_hash,
        threshold=threshold, max_key_slices=config.reports.max_key_slices, created_at=job.created_at,
        segmentation=config.reports.segmentation,
    )
    datasets = build_results(prediction, source_datasets, context, hu=volume.hu)  # [SR, SEG?, SCs..., summary]

The UIDs of every object depend only on (source series, job version, model hash) and every date and time
on ``context.created_at`` (the job's creation), so building the results again gives byte-identical objects
with the same SOP Instance UIDs, and a re-send never duplicates anything in the PACS.

What each object holds (the conformance statement's "Results" section says the same for PACS admins):

- SR, Comprehensive SR 88.33 (:mod:`~dicomnode.pipelines.ich_ct.sr`): per positive finding, on its key slices, a
  closed POLYLINE around the region the model attributes it to and a POINT at its centre (TID 1410), the
  study verdict and probabilities in TID 1500's document-level qualitative evaluations. 88.33 rather than
  Comprehensive 3D SR (88.34) because Orthanc's Stone Web Viewer draws overlays only for 88.33 and OHIF
  draws TID 1410 SCOORD groups in either: one document both viewers draw.
- SEG, Segmentation IOD (:mod:`~dicomnode.pipelines.ich_ct.seg`): the same regions, one segment per finding.
- SC images (:mod:`~dicomnode.pipelines.ich_ct.sc`): key slices with the region outlined, and a summary plot.
- An indeterminate result (``context.indeterminate_reasons``): the SR says so and why, the summary SC's
  banner gives the reason; no finding, no SEG, no key slice.

The regions (:mod:`~dicomnode.pipelines.ich_ct.regions`) are the model's saliency clipped to the intracranial space
and intersected with blood density: the model's attribution, not a segmentation by a radiologist.

Modules: :mod:`~dicomnode.pipelines.ich_ct.findings` (which findings, slices and regions),
:mod:`~dicomnode.pipelines.ich_ct.identity` (algorithm, device, dates), :mod:`~dicomnode.pipelines.ich_ct.render` (pixels),
:mod:`~dicomnode.pipelines.ich_ct.codes` (coded concepts and where each was verified),
:mod:`~dicomnode.results.uids` (deterministic UIDs), :mod:`~dicomnode.pipelines.ich_ct.context` (inputs).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import ComprehensiveSRStorage, SecondaryCaptureImageStorage, SegmentationStorage

from dicomnode.pipelines.ich_ct import render
from dicomnode.pipelines.ich_ct.context import ReportContext, order_datasets
from dicomnode.pipelines.ich_ct.findings import Findings, HuOf, IntracranialOf, locate
from dicomnode.pipelines.ich_ct.sc import build_sc
from dicomnode.pipelines.ich_ct.seg import build_seg
from dicomnode.pipelines.ich_ct.sr import build_sr
from dicomnode.results.sources import with_type2_present
from dicomnode.results.times import pin_times
from dicomnode.results.uids import ResultUids
from inference.ich.intracranial import intracranial_slice_mask
from inference.ich.prediction import Prediction

__all__ = [
    "PRODUCED_SOP_CLASSES", "Findings", "ReportContext", "ResultUids", "build_results", "build_sc", "build_seg",
    "build_sr", "locate",
]

# What build_results produces (PS3.4 B.5): the conformance statement's SCU table is generated from this.
PRODUCED_SOP_CLASSES = (str(ComprehensiveSRStorage), str(SegmentationStorage), str(SecondaryCaptureImageStorage))


def build_results(
    prediction: Prediction, source_datasets: Sequence[Dataset], context: ReportContext,
    hu: np.ndarray | None = None, intracranial_of: IntracranialOf = intracranial_slice_mask,
) -> list[Dataset]:
    """The SR, the SEG and the SC images of one prediction, ready to store or send.

    Parameters
    ----------
    prediction
        The engine's output for the series (slice order = ``prediction.sop_instance_uids``).
    source_datasets
        The series' datasets with pixel data, in any order; every predicted SOP Instance UID must be present.
    context
        UIDs, threshold, key-slice count, SEG switch, job time, indeterminate reasons, producer identity.
    hu
        float [slices, rows, cols] the series in HU in prediction order (``inference.Volume.hu``), when the
        caller has it; otherwise the slices drawn on are decoded here.
    intracranial_of
        The intracranial mask of one slice (HU image, pixel spacing) -> bool image.

    Returns
    -------
    list of pydicom.dataset.Dataset
        The SR first, then the SEG (when written), the key-slice SC images (positive studies only), then the
        summary SC image.
    """
    datasets = [with_type2_present(ds) for ds in order_datasets(prediction, source_datasets)]
    hu_of = _hu_source(datasets, hu)
    findings = locate(prediction, datasets, context, hu_of, intracranial_of)
    seg = build_seg(prediction, datasets, context, findings)
    results: list[Dataset] = [build_sr(prediction, datasets, context, findings), *([seg] if seg is not None else [])]
    results += build_sc(prediction, datasets, context, findings, hu_of)
    for ds in results:
        pin_times(ds, context.created_at)
    return results


def _hu_source(datasets: Sequence[Dataset], hu: np.ndarray | None) -> HuOf:
    if hu is not None:
        if hu.shape[0] != len(datasets):
            raise ValueError(f"hu has {hu.shape[0]} slices for {len(datasets)} datasets")
        return lambda index: np.asarray(hu[index], dtype=np.float32)
    return lambda index: render.hounsfield(datasets[index])
