"""The Structured Report: a Comprehensive SR (88.33) holding a TID 1500 Measurement Report.

Content tree (PS3.16 TID 1500 "Measurement Report", root (126000, DCM) "Imaging Measurement Report")::

    Imaging Measurement Report
    ├── Language of content (TID 1204), observation context (TID 1001): the algorithm as device (TID 1004)
    ├── Procedure reported: (25045-6, LN) "CT unspecified body region" (CID 100)
    ├── Image library (TID 1600): the referenced key slices only
    ├── Imaging measurements
    │   └── per positive finding, per key slice: two TID 1410 planar ROI groups, each with tracking
    │       identifier and UID, finding, finding site, algorithm identification (TID 4019), the finding's
    │       probability on that slice (NUM, unit {probability}) and an Image Region SCOORD with its IMAGE:
    │       - a closed POLYLINE around the region (plus its area in mm2, NUM (42798000, SCT) "Area"),
    │         when the slice has one (:mod:`~dicomnode.pipelines.ich_ct.regions`);
    │       - a POINT at the region's centre (the saliency peak without a region)
    └── Qualitative evaluations (TID 1500 row 12, document level)
        ├── one CODE per label: "Intracranial hemorrhage" and the five subtypes = Present / Absent (CID 240),
        │   or "Intracranial hemorrhage" = Undetermined (SCT 373068000, CID 240) for an indeterminate result
        ├── TEXT (122157, DCM) "Probability": one line per label, study level, with the threshold
        ├── TEXT (121106, DCM) "Comment": each reason of an indeterminate result
        └── TEXT (121111, DCM) "Summary": one sentence for text viewers

Why Comprehensive SR (88.33) with SCOORD and not Comprehensive 3D SR (88.34) with SCOORD3D: Orthanc's Stone
Web Viewer draws TID 1500 overlays only for SOP Class 88.33 (it checks the class, then TID 1410 groups
whose SCOORD (111030, DCM) "Image Region" has an IMAGE child (111040, DCM) "Original Source"); OHIF 3.x
lists 88.33 among its SR classes and draws TID 1410 groups from their SCOORD (its TID 1410 path takes the
first SCOORD of a group; SCOORD3D groups need a matching 3D frame of reference). One document both draw.
The IMAGE child of each region is named (111040, DCM) "Original Source" (TID 1410 row 6 allows any
concept name; highdicom's default (260753009, SCT) "Source" is not what Stone looks for).

Every measurement group carries geometry: OHIF reads ``coords[0]`` of every group and fails on a group
without any; the study-level verdict therefore lives in the document-level qualitative evaluations, which
OHIF skips and text viewers (Stone's text rendering, dsrdump) show. Each drawn item has its own tracking
UID because OHIF merges the groups that share one. OHIF's SR adapters (Cornerstone3D
``MeasurementReport``) hydrate a group into a measurement tool from the SCOORD under the group's *first NUM*,
not the group-level one, and recognise a freehand outline only by a Tracking Identifier starting with
:data:`FREEHAND_TOOL_PREFIX`: so the probability NUM repeats the region as an INFERRED FROM SCOORD (TID 300's
spatial "INFERRED FROM" row; highdicom's TID 1410 builder refuses it, so it is added to the built group),
and outline identifiers carry that prefix before their readable text.

A negative or indeterminate result keeps an "Imaging Measurements" container with no group (OHIF reads the
container; an empty Content Sequence would be invalid DICOM). Stone's TID 1500 parser requires a Content
Sequence there and raises "Missing sequence in DICOM-SR" from its constructor, so Stone may not open such
an SR at all; the summary SC image carries the verdict there.

The document is not verified (VerificationFlag UNVERIFIED): it is an algorithm's output, not a signed
report. The regions are the model's attribution, not a segmentation by a radiologist.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.sr.codedict import codes

from dicomnode.pipelines.ich_ct import codes as c
from dicomnode.pipelines.ich_ct.context import SR_SERIES_NUMBER, ReportContext
from dicomnode.pipelines.ich_ct.findings import Findings, KeySlice, finding_labels
from dicomnode.pipelines.ich_ct.identity import algorithm_identification, observation_context, series_description
from dicomnode.results.measurements import infer_first_num_from_region
from dicomnode.results.sources import carry_deidentification, quiet_person_name_warnings
from dicomnode.results.times import job_moment
from inference.ich.labels import ANY_INDEX, LABELS
from inference.ich.prediction import Prediction

logger = logging.getLogger(__name__)

REL = hd.sr.RelationshipTypeValues


def _text(name: hd.sr.CodedConcept, value: str) -> hd.sr.TextContentItem:
    return hd.sr.TextContentItem(name=name, value=value, relationship_type=REL.CONTAINS)


def _code(name: hd.sr.CodedConcept, value: hd.sr.CodedConcept) -> hd.sr.CodeContentItem:
    return hd.sr.CodeContentItem(name=name, value=value, relationship_type=REL.CONTAINS)


def qualitative_evaluations(prediction: Prediction, context: ReportContext) -> hd.sr.ContainerContentItem:
    """TID 1500 row 12 "Qualitative Evaluations": the study-level verdict for text viewers."""
    container = hd.sr.ContainerContentItem(name=c.QUALITATIVE_EVALUATIONS, relationship_type=REL.CONTAINS)
    items: list[hd.sr.ContentItem] = []
    if context.indeterminate_reasons:
        items.append(_code(c.INTRACRANIAL_HEMORRHAGE, c.UNDETERMINED))
        items += [_text(c.COMMENT, f"Result indeterminate: {reason}") for reason in context.indeterminate_reasons]
    else:
        for index, label in enumerate(LABELS):
            present = float(prediction.study_probs[index]) >= context.threshold
            items.append(_code(c.FINDINGS[label], c.PRESENT if present else c.ABSENT))
    items += [
        _text(c.PROBABILITY, f"{c.DISPLAY_NAMES[label]}: {float(prediction.study_probs[index]):.3f} "
                             f"(study level; operating threshold {context.threshold:g})")
        for index, label in enumerate(LABELS)
    ]
    items.append(_text(c.SUMMARY, summary_text(prediction, context)))
    container.ContentSequence = hd.sr.ContentSequence(items)
    return container


def summary_text(prediction: Prediction, context: ReportContext) -> str:
    """One sentence: the verdict, the model, the probability and the disclaimer."""
    model = f"{prediction.model_name} {prediction.model_version}".strip()
    if context.indeterminate_reasons:
        return (
            f"Intracranial hemorrhage: result indeterminate ({'; '.join(context.indeterminate_reasons)}); {model} "
            "was not applied to this series. AI result, not for diagnostic use; to be reviewed by a radiologist."
        )
    verdict = "detected" if prediction.positive(context.threshold) else "not detected"
    text = (
        f"Intracranial hemorrhage {verdict} by {model} (probability {prediction.any_probability:.3f}, "
        f"operating threshold {context.threshold:g})."
    )
    subtypes = [label for label in finding_labels(prediction, context) if label != "any"]
    if subtypes:
        text += " Subtypes above threshold: " + ", ".join(c.DISPLAY_NAMES[label] for label in subtypes) + "."
    return text + " AI result, not for diagnostic use; to be reviewed by a radiologist."


FREEHAND_TOOL_PREFIX = "Cornerstone3DTools@^0.1.0:PlanarFreehandROI:"
"""Tracking Identifier prefix by which OHIF's SR adapters hydrate an outline into its freehand ROI tool."""


def _region_group(
    item: KeySlice, ds: Dataset, context: ReportContext, algorithm: hd.sr.AlgorithmIdentification,
    graphic: str, points: np.ndarray,
) -> hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations:
    """One TID 1410 group: the finding drawn as ``graphic`` (POLYLINE or POINT) on slice ``ds``."""
    source = hd.sr.SourceImageForRegion(str(ds.SOPClassUID), str(ds.SOPInstanceUID))
    region = hd.sr.ImageRegion(graphic_type=graphic, graphic_data=points.astype(np.float32), source_image=source)
    region.ContentSequence[0].ConceptNameCodeSequence = [c.ORIGINAL_SOURCE]  # what Stone looks for (see above)
    measurements = [hd.sr.Measurement(name=c.probability_concept(item.label), value=item.probability,
                                      unit=c.PROBABILITY_UNIT)]
    outline = graphic == hd.sr.GraphicTypeValues.POLYLINE.value
    if outline and item.region.area_mm2 is not None:
        measurements.append(hd.sr.Measurement(name=c.AREA, value=round(item.region.area_mm2, 2), unit=c.SQUARE_MM))
    part = "outline" if outline else "centre"
    label = f"{c.ABBREVIATIONS[item.label]} {part}, key slice {item.rank} (instance {ds.get('InstanceNumber', '?')})"
    group = hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=context.uids.tracking(item.label, str(ds.SOPInstanceUID), part),
            identifier=f"{FREEHAND_TOOL_PREFIX}{label}" if outline else label,
        ),
        referenced_region=region,
        finding_type=c.FINDINGS[item.label],
        algorithm_id=algorithm,
        finding_sites=[hd.sr.FindingSite(c.FINDING_SITES[item.label])],
        measurements=measurements,
    )
    infer_first_num_from_region(group, region)
    return group


def finding_groups(
    findings: Findings, datasets: Sequence[Dataset], context: ReportContext, algorithm: hd.sr.AlgorithmIdentification,
) -> list[hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations]:
    """The TID 1410 groups of every positive finding on its key slices (outline first, then centre)."""
    groups = []
    for label in findings.labels:
        for item in findings.key[label]:
            ds = datasets[item.index]
            if item.region.outline is not None:
                groups.append(_region_group(item, ds, context, algorithm, "POLYLINE", item.region.outline))
            groups.append(_region_group(item, ds, context, algorithm, "POINT", np.asarray([item.region.centre])))
    return groups


def referenced_indices(prediction: Prediction, findings: Findings, context: ReportContext) -> list[int]:
    """The slices in the image library and evidence: the drawn key slices, else the most probable one.

    OHIF expects an image library with at least one image, so a negative or indeterminate result lists
    the slice the model rated most probable for "any hemorrhage".
    """
    return findings.referenced_indices() or [int(np.argmax(prediction.slice_probs[:, ANY_INDEX]))]


def build_sr(
    prediction: Prediction, datasets: Sequence[Dataset], context: ReportContext, findings: Findings,
) -> hd.sr.ComprehensiveSR:
    """The Comprehensive SR (PS3.3 A.35.3) of one prediction.

    Parameters
    ----------
    prediction
        The model's output for the series.
    datasets
        The source slices in the prediction's order (see :func:`~dicomnode.pipelines.ich_ct.context.order_datasets`).
    context
        UIDs, threshold, identity of the producing node, indeterminate reasons.
    findings
        The findings and their regions (:func:`dicomnode.pipelines.ich_ct.findings.locate`).
    """
    algorithm = algorithm_identification(prediction, context)
    referenced = [datasets[i] for i in referenced_indices(prediction, findings, context)]
    root = hd.sr.ContainerContentItem(name=c.IMAGING_MEASUREMENT_REPORT, template_id="1500")
    content: list[Dataset] = [*hd.sr.LanguageOfContentItemAndDescendants(c.ENGLISH)]
    content += observation_context(prediction, context)
    content.append(hd.sr.CodeContentItem(name=codes.DCM.ProcedureReported, value=c.PROCEDURE_REPORTED,
                                         relationship_type=REL.HAS_CONCEPT_MOD))
    content += hd.sr.ImageLibrary(referenced)
    measurements = hd.sr.ContainerContentItem(name=codes.DCM.ImagingMeasurements, relationship_type=REL.CONTAINS)
    groups = finding_groups(findings, datasets, context, algorithm)
    if groups:
        measurements.ContentSequence = hd.sr.ContentSequence([item for group in groups for item in group])
    content += [measurements, qualitative_evaluations(prediction, context)]
    root.ContentSequence = DicomSequence(content)
    moment = job_moment(context.created_at)
    with quiet_person_name_warnings():
        sr = hd.sr.ComprehensiveSR(
            evidence=referenced, content=root, series_instance_uid=context.uids.sr_series,
            series_number=SR_SERIES_NUMBER, sop_instance_uid=context.uids.sr_instance, instance_number=1,
            manufacturer=context.manufacturer, is_complete=True, is_final=False, is_verified=False,
            institution_name=context.institution_name, series_description=series_description(prediction, "SR"),
            software_versions=context.software_version, manufacturer_model_name="dicomnode",
            content_date=moment.day if moment else None, content_time=moment.clock if moment else None,
            series_date=moment.day if moment else None, series_time=moment.clock if moment else None,
        )
    carry_deidentification(datasets[0], sr)
    logger.info("SR %s for series %s: %d region group(s)%s", sr.SOPInstanceUID, context.uids.source_series_uid,
                len(groups), ", indeterminate" if context.indeterminate_reasons else "")
    return sr
