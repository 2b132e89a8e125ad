"""The Segmentation (PS3.3 A.51 Segmentation IOD) of the findings' regions, with highdicom's ``Segmentation``.

One BINARY SEG instance in its own series of the source study, written when ``[reports] segmentation`` is
on and at least one positive finding has a region:

- one segment per positive finding (PS3.3 C.8.20.4 Segment Description): label, category
  (49755003, SCT) "Morphologically Abnormal Structure" (CID 7150), type the finding's SNOMED CT disorder
  (the same code as the SR's finding), anatomic region the finding site, algorithm type AUTOMATIC with
  the algorithm identification (family (123110, DCM) "Artificial Intelligence", name, version and weights
  hash, parameters), and the finding's tracking identifier and UID (IHE AI Results: regions as SEG, the
  finding in the TID 1500 SR);
- frames: the finding's region (:mod:`~dicomnode.pipelines.ich_ct.regions`) on each of its segmented slices
  (:mod:`~dicomnode.pipelines.ich_ct.findings`); empty frames are omitted;
- the source images are the slices that carry a frame (Referenced Series Sequence and Source Image
  Sequence per frame, PS3.3 C.8.20.2.1 and C.7.6.16.2.6), so the SEG references the source series.

No SEG is written when the source images lack Frame of Reference UID (0020,0052): it is Type 1 in the
CT Image IOD but some de-identification tools remove it, and a SEG cannot tie its planes to images without
one (inventing a frame of reference would claim a coordinate system the images do not share). The SR and
SC images still carry the findings; the log says why.

The regions are the model's attribution intersected with a blood-density rule, not a radiologist's
segmentation: the Content Description says so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset

from dicomnode.pipelines.ich_ct import codes as c
from dicomnode.pipelines.ich_ct.context import SEG_SERIES_NUMBER, ReportContext
from dicomnode.pipelines.ich_ct.findings import Findings
from dicomnode.pipelines.ich_ct.identity import algorithm_parameters, algorithm_version, series_description
from dicomnode.pipelines.ich_ct.regions import BLOOD_HU
from dicomnode.results.sources import carry_deidentification, quiet_person_name_warnings
from dicomnode.results.times import job_moment
from inference.ich.prediction import Prediction

logger = logging.getLogger(__name__)

CONTENT_LABEL = "AI_ICH_REGIONS"
"""Content Label (CS, 16 characters): what the SEG holds."""


def segment_descriptions(
    prediction: Prediction, context: ReportContext, labels: Sequence[str],
) -> list[hd.seg.SegmentDescription]:
    """One segment per finding, numbered from 1 in ``labels`` order."""
    algorithm = hd.AlgorithmIdentificationSequence(
        name=prediction.model_name or "unnamed model",
        family=c.ARTIFICIAL_INTELLIGENCE,
        version=algorithm_version(prediction, context)[:64],
        parameters=algorithm_parameters(prediction, context),
    )
    return [
        hd.seg.SegmentDescription(
            segment_number=number,
            segment_label=c.DISPLAY_NAMES[label],
            segmented_property_category=c.MORPHOLOGICALLY_ABNORMAL_STRUCTURE,
            segmented_property_type=c.FINDINGS[label],
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm,
            tracking_uid=context.uids.tracking(label, "segment"),
            tracking_id=f"{c.DISPLAY_NAMES[label]} region",
            anatomic_regions=[c.FINDING_SITES[label]],
        )
        for number, label in enumerate(labels, start=1)
    ]


def _pin_dimension_organization(seg: hd.seg.Segmentation, uid: str) -> None:
    """Replace highdicom's random Dimension Organization UID (PS3.3 C.7.6.17) by the job's own."""
    for item in seg.get("DimensionOrganizationSequence", []):
        item.DimensionOrganizationUID = uid
    for item in seg.get("DimensionIndexSequence", []):
        item.DimensionOrganizationUID = uid


def _state_anatomy(seg: hd.seg.Segmentation, source: Dataset) -> None:
    """Say that the frames show the head, an unpaired body part (so no Laterality is due).

    Body Part Examined (PS3.3 C.7.3.1) is copied (or HEAD). PixelMed's validator requires General Series
    Laterality unless a Frame Laterality is present, whatever the body part, and dciodvfy rejects a
    Laterality for an unpaired part: a shared Frame Anatomy functional group (C.7.6.16.2.8, Head, laterality
    U) satisfies both; dciodvfy lists it as a Standard Extended attribute (a warning, recorded in the
    conformance statement).
    """
    seg.BodyPartExamined = str(source.get("BodyPartExamined") or "HEAD")
    anatomy = Dataset()
    anatomy.AnatomicRegionSequence = [c.HEAD]
    anatomy.FrameLaterality = "U"
    seg.SharedFunctionalGroupsSequence[0].FrameAnatomySequence = [anatomy]


def build_seg(
    prediction: Prediction, datasets: Sequence[Dataset], context: ReportContext, findings: Findings,
) -> hd.seg.Segmentation | None:
    """The SEG of the findings' regions, or None when there is nothing to segment or it is switched off.

    Parameters
    ----------
    prediction
        The model's output (identity of the algorithm).
    datasets
        The source slices in prediction order.
    context
        UIDs, the ``segmentation`` switch, the job's time.
    findings
        The findings and their per-slice region masks.
    """
    if not context.segmentation:
        return None
    labels = [label for label in findings.labels if findings.segmented.get(label)]
    if not labels:
        return None
    indices = sorted({index for label in labels for index in findings.segmented[label]})
    if "FrameOfReferenceUID" not in datasets[indices[0]]:
        logger.warning(
            "no SEG for series %s: its images have no Frame of Reference UID (0020,0052), which the SEG needs to "
            "place its frames; the SR and SC images carry the findings", context.uids.source_series_uid,
        )
        return None
    rows, cols = int(datasets[indices[0]].Rows), int(datasets[indices[0]].Columns)
    pixels = np.zeros((len(indices), rows, cols, len(labels)), dtype=bool)
    position = {index: frame for frame, index in enumerate(indices)}
    for segment, label in enumerate(labels):
        for index, mask in findings.segmented[label].items():
            pixels[position[index], :, :, segment] = mask
    moment = job_moment(context.created_at)
    with quiet_person_name_warnings():
        seg = hd.seg.Segmentation(
            source_images=[datasets[i] for i in indices],
            pixel_array=pixels,
            segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
            segment_descriptions=segment_descriptions(prediction, context, labels),
            series_instance_uid=context.uids.seg_series,
            series_number=SEG_SERIES_NUMBER,
            sop_instance_uid=context.uids.seg_instance,
            instance_number=1,
            manufacturer=context.manufacturer,
            manufacturer_model_name="dicomnode",
            software_versions=context.software_version,
            device_serial_number=context.model_hash[:16] or "unknown",
            content_label=CONTENT_LABEL,
            content_description=(
                f"AI attribution regions (saliency within the intracranial space, {BLOOD_HU[0]:g}-{BLOOD_HU[1]:g} HU);"
                " not a radiologist's segmentation"
            )[:64],
            content_creator_name=None,
            series_description=series_description(prediction, "SEG"),
            institution_name=context.institution_name,
            content_date=moment.day if moment else None, content_time=moment.clock if moment else None,
            series_date=moment.day if moment else None, series_time=moment.clock if moment else None,
        )
    carry_deidentification(datasets[indices[0]], seg)
    _state_anatomy(seg, datasets[indices[0]])
    _pin_dimension_organization(seg, context.uids.seg_dimensions)
    logger.info("SEG %s for series %s: %d segment(s) on %d slice(s)", seg.SOPInstanceUID,
                context.uids.source_series_uid, len(labels), len(indices))
    return seg
