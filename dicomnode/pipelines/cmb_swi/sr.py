"""The microbleed report: a Comprehensive 3D SR (88.34) holding a TID 1500 Measurement Report.

Content tree (PS3.16 TID 1500, root (126000, DCM) "Imaging Measurement Report")::

    Imaging Measurement Report
    ├── Language of content (TID 1204), observation context (TID 1001): the algorithm as device (TID 1004)
    ├── Procedure reported: (25056-3, LN) "MRI unspecified body region" (CID 100)
    ├── Image library (TID 1600): the magnitude slices holding a microbleed (else the middle slice)
    ├── Imaging measurements
    │   └── per microbleed, one TID 1410 group: tracking identifier and UID, finding "Cerebral microbleed",
    │       finding site Brain, algorithm identification (TID 4019), a SCOORD3D POINT (111030, DCM)
    │       "Image Region" in the magnitude's Frame of Reference (patient LPS, mm; PS3.3 C.18.9), the
    │       apparent diameter on SWI (NUM, mm, blooming included, as raters measure), the classifier's
    │       probability (NUM, {probability}) and the location class (CODE: lobar, deep, infratentorial)
    └── Qualitative evaluations (TID 1500 row 12, document level)
        ├── CODE "Cerebral microbleed" = Present / Absent (CID 240)
        ├── TEXT "Probability": the operating threshold, the number of candidates screened
        ├── TEXT "Comment": the count per location class; magnitude-only input; approximate locations
        └── TEXT "Summary": one sentence for text viewers

SCOORD3D needs the 3D SOP class: Comprehensive SR (88.33) allows SCOORD only. A 3D point names no image,
so each group is placed by its coordinates alone (viewers that draw only image-referenced SCOORD show the
SC key images instead, where every microbleed is marked). The document is not verified: an algorithm's
output, not a signed report.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.sr.codedict import codes

from dicomnode.pipelines.cmb_swi import codes as m
from dicomnode.pipelines.cmb_swi.context import SR_SERIES_NUMBER, CmbReport
from dicomnode.results import codes as c
from dicomnode.results.measurements import infer_first_num_from_region
from dicomnode.results.sources import carry_deidentification, quiet_person_name_warnings
from dicomnode.results.times import job_moment
from inference.cmb import DetectionResult, Microbleed
from inference.cmb.location import LocationClass

logger = logging.getLogger(__name__)

REL = hd.sr.RelationshipTypeValues


def _text(name: hd.sr.CodedConcept, value: str) -> hd.sr.TextContentItem:
    return hd.sr.TextContentItem(name=name, value=value, relationship_type=REL.CONTAINS)


def count_line(result: DetectionResult) -> str:
    """The count and distribution, e.g. ``3 microbleeds: lobar 2, deep 1, infratentorial 0``."""
    counts = Counter(bleed.location for bleed in result.microbleeds)
    parts = ", ".join(f"{where.value} {counts.get(where, 0)}" for where in LocationClass)
    noun = "microbleed" if len(result.microbleeds) == 1 else "microbleeds"
    return f"{len(result.microbleeds)} {noun}: {parts}"


def summary_text(result: DetectionResult, report: CmbReport) -> str:
    """One sentence: the verdict, the count, the model, the caveats and the disclaimer."""
    verdict = f"detected ({count_line(result)})" if result.microbleeds else "not detected"
    text = f"Cerebral microbleeds {verdict} by {report.model_name} {report.model_version}."
    if result.notes:
        text += " " + "; ".join(result.notes).capitalize() + "."
    return text + " AI result, not for diagnostic use; to be reviewed by a radiologist."


def qualitative_evaluations(result: DetectionResult, report: CmbReport) -> hd.sr.ContainerContentItem:
    """TID 1500 row 12: the study verdict, count and caveats for text viewers."""
    container = hd.sr.ContainerContentItem(name=c.QUALITATIVE_EVALUATIONS, relationship_type=REL.CONTAINS)
    items: list[hd.sr.ContentItem] = [
        hd.sr.CodeContentItem(name=m.CEREBRAL_MICROBLEED, value=c.PRESENT if result.microbleeds else c.ABSENT,
                              relationship_type=REL.CONTAINS),
        _text(c.PROBABILITY, f"operating threshold {result.threshold:g} on the classifier's probability; "
                             f"{result.n_candidates} candidate(s) screened"),
        _text(c.COMMENT, count_line(result) + " (location classes from a brain-ellipsoid approximation, "
                                              "not an atlas)"),
        *[_text(c.COMMENT, note) for note in result.notes],
        _text(c.SUMMARY, summary_text(result, report)),
    ]
    container.ContentSequence = hd.sr.ContentSequence(items)
    return container


def algorithm(report: CmbReport) -> hd.sr.AlgorithmIdentification:
    """TID 4019: the model's name, version with weights hash, and parameters."""
    return hd.sr.AlgorithmIdentification(
        name=report.model_name, version=f"{report.model_version} (weights sha256 {report.model_hash})",
        parameters=[f"{key}={value}" for key, value in sorted(report.parameters.items())],
    )


def observation_context(report: CmbReport) -> hd.sr.ObservationContext:
    """TID 1001 with the algorithm as the device observer (TID 1004)."""
    device = hd.sr.DeviceObserverIdentifyingAttributes(
        uid=report.uids.device, name=report.model_name, manufacturer_name=report.manufacturer,
        model_name=f"{report.model_name} {report.model_version}"[:64],
    )
    return hd.sr.ObservationContext(observer_device_context=hd.sr.ObserverContext(
        observer_type=codes.DCM.Device, observer_identifying_attributes=device))


def microbleed_group(
    number: int, bleed: Microbleed, report: CmbReport, identification: hd.sr.AlgorithmIdentification,
) -> hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations:
    """One TID 1410 group: microbleed ``number`` as a SCOORD3D POINT with diameter, probability, location."""
    point = np.asarray([bleed.patient_mm], dtype=np.float32)
    region = hd.sr.ImageRegion3D(graphic_type=hd.sr.GraphicTypeValues3D.POINT, graphic_data=point,
                                 frame_of_reference_uid=report.frame_of_reference_uid)
    label = f"CMB {number} ({bleed.location.value}, slice {bleed.voxel[0] + 1})"
    group = hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=report.uids.tracking("cmb", str(number)), identifier=label),
        referenced_region=region,
        finding_type=m.CEREBRAL_MICROBLEED,
        algorithm_id=identification,
        finding_sites=[hd.sr.FindingSite(c.BRAIN)],
        measurements=[
            hd.sr.Measurement(name=m.DIAMETER, value=round(bleed.diameter_mm, 2), unit=m.MILLIMETER),
            hd.sr.Measurement(name=m.CEREBRAL_MICROBLEED, value=round(bleed.probability, 4), unit=c.PROBABILITY_UNIT),
        ],
        qualitative_evaluations=[hd.sr.QualitativeEvaluation(m.LOCATION_CLASS, m.LOCATIONS[bleed.location])],
    )
    infer_first_num_from_region(group, region)
    return group


def referenced_slices(result: DetectionResult, magnitude: Sequence[Dataset]) -> list[Dataset]:
    """The magnitude slices of the image library: those holding a microbleed, else the middle one."""
    indices = sorted({bleed.voxel[0] for bleed in result.microbleeds if 0 <= bleed.voxel[0] < len(magnitude)})
    return [magnitude[i] for i in indices or [len(magnitude) // 2]]


def build_sr(result: DetectionResult, magnitude: Sequence[Dataset], report: CmbReport) -> hd.sr.Comprehensive3DSR:
    """The Comprehensive 3D SR (PS3.3 A.35.13) of one detection; ``magnitude`` in slice order."""
    identification = algorithm(report)
    referenced = referenced_slices(result, magnitude)
    root = hd.sr.ContainerContentItem(name=c.IMAGING_MEASUREMENT_REPORT, template_id="1500")
    content: list[Dataset] = [*hd.sr.LanguageOfContentItemAndDescendants(c.ENGLISH)]
    content += observation_context(report)
    content.append(hd.sr.CodeContentItem(name=codes.DCM.ProcedureReported, value=m.PROCEDURE_REPORTED,
                                         relationship_type=REL.HAS_CONCEPT_MOD))
    content += hd.sr.ImageLibrary(referenced)
    measurements = hd.sr.ContainerContentItem(name=codes.DCM.ImagingMeasurements, relationship_type=REL.CONTAINS)
    groups = [microbleed_group(n, bleed, report, identification)
              for n, bleed in enumerate(result.microbleeds, start=1)]
    if groups:
        measurements.ContentSequence = hd.sr.ContentSequence([item for group in groups for item in group])
    content += [measurements, qualitative_evaluations(result, report)]
    root.ContentSequence = DicomSequence(content)
    moment = job_moment(report.created_at)
    with quiet_person_name_warnings():
        sr = hd.sr.Comprehensive3DSR(
            evidence=referenced, content=root, series_instance_uid=report.uids.sr_series,
            series_number=SR_SERIES_NUMBER, sop_instance_uid=report.uids.sr_instance, instance_number=1,
            manufacturer=report.manufacturer, is_complete=True, is_final=False, is_verified=False,
            institution_name=report.institution_name,
            series_description=f"AI CMB SR {report.model_name} {report.model_version}"[:64],
            software_versions=report.software_version, manufacturer_model_name="dicomnode",
            content_date=moment.day if moment else None, content_time=moment.clock if moment else None,
            series_date=moment.day if moment else None, series_time=moment.clock if moment else None,
        )
    carry_deidentification(magnitude[0], sr)
    logger.info("CMB SR %s for series %s: %d microbleed group(s)", sr.SOPInstanceUID,
                report.uids.source_series_uid, len(groups))
    return sr
