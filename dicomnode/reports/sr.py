"""The Structured Report: a Comprehensive 3D SR holding a TID 1500 Measurement Report.

Content tree (PS3.16 TID 1500 "Measurement Report", root concept (126000, DCM) "Imaging Measurement
Report", which OHIF and other viewers look for)::

    Imaging Measurement Report
    ├── Language of content, observation context (TID 1001): the algorithm as device observer (TID 1004)
    ├── Procedure reported: (24725-4, LN) "CT Head"
    ├── Image library (TID 1600): one entry per source slice
    └── Imaging measurements
        ├── Measurement group (TID 1501), study level: finding "Intracranial hemorrhage",
        │   algorithm identification (TID 4019: name, version + weights hash, operating threshold),
        │   qualitative evaluation ICH present/absent (CID 240), the six probabilities (TID 300, unit
        │   {probability}), a free-text summary
        └── one measurement group per subtype called positive: tracking identifier and UID, finding,
            finding site, its probability, references to the key slices where it is most probable

The document is not verified (VerificationFlag UNVERIFIED): it is an algorithm's output, not a signed
report. Patient and study attributes are copied from the source images by highdicom (the evidence).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

from dicomnode.reports import codes as c
from dicomnode.reports.context import (
    SR_SERIES_NUMBER,
    ReportContext,
    carry_deidentification,
    key_slices,
    positive_labels,
    quiet_person_name_warnings,
)
from inference.labels import ANY_INDEX, LABELS
from inference.prediction import Prediction

logger = logging.getLogger(__name__)

LONG_STRING = 64  # PS3.5 Table 6.2-1: LO holds at most 64 characters


def series_description(prediction: Prediction, kind: str) -> str:
    """Series Description naming the algorithm, e.g. ``AI ICH SR ich-vgg-bilstm 1.0.0`` (LO, 64 chars)."""
    return f"AI ICH {kind} {prediction.model_name} {prediction.model_version}".strip()[:LONG_STRING]


def algorithm_identification(prediction: Prediction, context: ReportContext) -> hd.sr.AlgorithmIdentification:
    """TID 4019 Algorithm Identification: name, version (model version and weights hash), parameters."""
    parameters = [f"operating threshold={context.threshold:g}", f"max key slices={context.max_key_slices}"]
    if prediction.backend:
        parameters.append(f"backend={prediction.backend}")
    parameters += [f"{key}={value}" for key, value in sorted(context.parameters.items())]
    return hd.sr.AlgorithmIdentification(
        name=prediction.model_name or "unnamed model",
        version=f"{prediction.model_version or 'unversioned'} (weights sha256 {context.model_hash})",
        parameters=parameters,
    )


def observation_context(prediction: Prediction, context: ReportContext) -> hd.sr.ObservationContext:
    """TID 1001 with the algorithm as the device observer (TID 1004)."""
    device = hd.sr.DeviceObserverIdentifyingAttributes(
        uid=context.uids.device,
        name=prediction.model_name or "unnamed model",
        manufacturer_name=context.manufacturer,
        model_name=f"{prediction.model_name} {prediction.model_version}".strip()[:LONG_STRING],
    )
    return hd.sr.ObservationContext(
        observer_device_context=hd.sr.ObserverContext(
            observer_type=codes.DCM.Device, observer_identifying_attributes=device
        )
    )


def _image_refs(datasets: Sequence[Dataset], indices: Sequence[int], cls: type) -> list:
    return [cls(str(datasets[i].SOPClassUID), str(datasets[i].SOPInstanceUID)) for i in indices]


def _summary_text(prediction: Prediction, context: ReportContext, positives: list[str]) -> str:
    verdict = "detected" if prediction.positive(context.threshold) else "not detected"
    text = (
        f"Intracranial hemorrhage {verdict} by {prediction.model_name} {prediction.model_version} "
        f"(probability {prediction.any_probability:.3f}, operating threshold {context.threshold:g})."
    )
    if positives:
        text += " Subtypes above threshold: " + ", ".join(c.DISPLAY_NAMES[label] for label in positives) + "."
    return text + " AI result, not for diagnostic use; to be reviewed by a radiologist."


def study_group(
    prediction: Prediction, datasets: Sequence[Dataset], context: ReportContext,
    algorithm: hd.sr.AlgorithmIdentification,
) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    """The study-level TID 1501 group: ICH present/absent, the six probabilities and a summary."""
    present = prediction.positive(context.threshold)
    measurements = [
        hd.sr.Measurement(
            name=c.probability_concept(label), value=float(prediction.study_probs[index]),
            unit=c.PROBABILITY_UNIT,
        )
        for index, label in enumerate(LABELS)
    ]
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=context.uids.tracking("study"), identifier="Intracranial hemorrhage, study level"
        ),
        finding_type=c.INTRACRANIAL_HEMORRHAGE,
        algorithm_id=algorithm,
        finding_sites=[hd.sr.FindingSite(c.INTRACRANIAL)],
        measurements=measurements,
        qualitative_evaluations=[
            hd.sr.QualitativeEvaluation(c.INTRACRANIAL_HEMORRHAGE, c.PRESENT if present else c.ABSENT)
        ],
        source_images=_image_refs(
            datasets,
            key_slices(prediction.slice_probs[:, ANY_INDEX], context.threshold, context.max_key_slices),
            hd.sr.SourceImageForMeasurementGroup,
        ),
    )
    summary = hd.sr.TextContentItem(
        name=c.SUMMARY, value=_summary_text(prediction, context, positive_labels(prediction, context.threshold)),
        relationship_type=hd.sr.RelationshipTypeValues.CONTAINS,
    )
    group[0].ContentSequence.append(summary)
    return group


def finding_group(
    prediction: Prediction, datasets: Sequence[Dataset], context: ReportContext,
    algorithm: hd.sr.AlgorithmIdentification, label: str,
) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    """A TID 1501 group for one positive subtype, referencing its key slices."""
    index = LABELS.index(label)
    slices = key_slices(prediction.slice_probs[:, index], context.threshold, context.max_key_slices)
    probability = hd.sr.Measurement(
        name=c.probability_concept(label), value=float(prediction.study_probs[index]), unit=c.PROBABILITY_UNIT,
        finding_sites=[hd.sr.FindingSite(c.FINDING_SITES[label])],
        referenced_images=_image_refs(datasets, slices, hd.sr.SourceImageForMeasurement),
    )
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=context.uids.tracking(label), identifier=c.DISPLAY_NAMES[label]
        ),
        finding_type=c.FINDINGS[label],
        algorithm_id=algorithm,
        finding_sites=[hd.sr.FindingSite(c.FINDING_SITES[label])],
        measurements=[probability],
        qualitative_evaluations=[hd.sr.QualitativeEvaluation(c.FINDINGS[label], c.PRESENT)],
        source_images=_image_refs(datasets, slices, hd.sr.SourceImageForMeasurementGroup),
    )


def build_sr(prediction: Prediction, datasets: Sequence[Dataset], context: ReportContext) -> hd.sr.Comprehensive3DSR:
    """The Comprehensive 3D SR (PS3.3 A.35.13) of one prediction.

    Parameters
    ----------
    prediction
        The model's output for the series.
    datasets
        The source slices in the prediction's order (see :func:`~dicomnode.reports.context.order_datasets`).
    context
        UIDs, threshold and identity of the producing node.
    """
    algorithm = algorithm_identification(prediction, context)
    groups = [study_group(prediction, datasets, context, algorithm)]
    groups += [
        finding_group(prediction, datasets, context, algorithm, label)
        for label in positive_labels(prediction, context.threshold)
    ]
    report = hd.sr.MeasurementReport(
        observation_context=observation_context(prediction, context),
        procedure_reported=c.CT_HEAD,
        imaging_measurements=groups,
        title=c.IMAGING_MEASUREMENT_REPORT,
        referenced_images=list(datasets),
    )
    with quiet_person_name_warnings():
        sr = _document(prediction, datasets, context, report)
    carry_deidentification(datasets[0], sr)
    logger.info(
        "SR %s for series %s: %d finding group(s)", sr.SOPInstanceUID, context.uids.source_series_uid, len(groups) - 1
    )
    return sr


def _document(
    prediction: Prediction, datasets: Sequence[Dataset], context: ReportContext, report: hd.sr.MeasurementReport,
) -> hd.sr.Comprehensive3DSR:
    moment = context.created_at
    return hd.sr.Comprehensive3DSR(
        evidence=list(datasets),
        content=report,
        series_instance_uid=context.uids.sr_series,
        series_number=SR_SERIES_NUMBER,
        sop_instance_uid=context.uids.sr_instance,
        instance_number=1,
        manufacturer=context.manufacturer,
        is_complete=True,
        is_final=False,
        is_verified=False,
        institution_name=context.institution_name,
        series_description=series_description(prediction, "SR"),
        software_versions=context.software_version,
        manufacturer_model_name="dicomnode",
        content_date=moment.date() if moment else None,
        content_time=moment.time().replace(tzinfo=None) if moment else None,
        series_date=moment.date() if moment else None,
        series_time=moment.time().replace(tzinfo=None) if moment else None,
    )
