"""The TID 1500 SR (issue 6 part 1): structure, codes, read-back with highdicom."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import highdicom as hd
import numpy as np
import pytest
from pydicom.dataset import Dataset

from dicomnode.reports import build_results, codes
from dicomnode.reports.context import order_datasets
from dicomnode.reports.sr import build_sr
from inference.labels import LABELS
from tests.dicomnode.reports.helpers import MODEL_HASH, NEGATIVE, POSITIVE, context_for, prediction_for


def read_back(sr: Dataset, tmp_path: Path) -> hd.sr.Comprehensive3DSR:
    path = tmp_path / "sr.dcm"
    sr.save_as(path, enforce_file_format=True)
    return hd.sr.srread(path)


def named(items: Sequence[Dataset], meaning: str) -> list[Dataset]:
    return [i for i in items if i.ConceptNameCodeSequence[0].CodeMeaning == meaning]


def test_positive_sr_reads_back_with_the_prediction(series: list[Dataset], tmp_path: Path) -> None:
    prediction = prediction_for(series, POSITIVE)
    context = context_for(series)
    sr = read_back(build_sr(prediction, order_datasets(prediction, series), context), tmp_path)

    assert sr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"  # Comprehensive 3D SR
    assert sr.VerificationFlag == "UNVERIFIED" and sr.CompletionFlag == "COMPLETE"
    assert sr.SeriesDescription == "AI ICH SR ich-test-net 1.2.3"
    assert sr.StudyInstanceUID == series[0].StudyInstanceUID and sr.PatientID == series[0].PatientID
    assert sr.SOPInstanceUID == context.uids.sr_instance and sr.SeriesInstanceUID == context.uids.sr_series
    root = sr.ContentSequence and sr.ConceptNameCodeSequence[0]
    assert (root.CodeValue, root.CodingSchemeDesignator, root.CodeMeaning) == ("126000", "DCM", "Imaging Measurement Report")

    report = sr.content
    groups = report.get_image_measurement_groups()
    study = groups[0]
    assert study.finding_type == codes.INTRACRANIAL_HEMORRHAGE
    values = {m.name.value: m.value for m in study.get_measurements()}
    assert [values[codes.probability_concept(label).value] for label in LABELS] == [
        float(p) for p in prediction.study_probs
    ]
    assert all(m.unit == codes.PROBABILITY_UNIT for m in study.get_measurements())
    assert study.get_qualitative_evaluations()[0].value == codes.PRESENT

    # one group per positive subtype (subdural only), with its key slices referenced
    subtypes = groups[1:]
    assert [g.finding_type for g in subtypes] == [codes.SUBDURAL_HEMORRHAGE]
    group = subtypes[0]
    assert group.tracking_uid == context.uids.tracking("subdural")
    assert group.tracking_identifier == "Subdural hemorrhage"
    (measurement,) = group.get_measurements()
    assert measurement.value == pytest.approx(0.87, abs=1e-6)
    referenced = [img.referenced_sop_instance_uid for img in measurement.referenced_images]
    column = prediction.slice_probs[:, LABELS.index("subdural")]
    assert referenced[0] == prediction.sop_instance_uids[int(np.argmax(column))]
    assert 1 <= len(referenced) <= context.max_key_slices


def test_tid_4019_and_device_observer(series: list[Dataset], tmp_path: Path) -> None:
    prediction = prediction_for(series, POSITIVE)
    sr = read_back(build_sr(prediction, order_datasets(prediction, series), context_for(series, threshold=0.4)), tmp_path)
    measurements = named(sr.ContentSequence, "Imaging Measurements")[0]
    items: dict[str, list[str]] = {}
    for item in measurements.ContentSequence[0].ContentSequence:  # the study-level group
        items.setdefault(item.ConceptNameCodeSequence[0].CodeMeaning, []).append(item.get("TextValue"))
    assert items["Algorithm Name"] == ["ich-test-net"]
    assert items["Algorithm Version"] == [f"1.2.3 (weights sha256 {MODEL_HASH})"]
    assert "operating threshold=0.4" in items["Algorithm Parameters"]
    assert named(sr.ContentSequence, "Observer Type")[0].ConceptCodeSequence[0].CodeMeaning == "Device"
    assert named(sr.ContentSequence, "Device Observer Name")[0].TextValue == "ich-test-net"
    assert named(sr.ContentSequence, "Procedure reported")[0].ConceptCodeSequence[0].CodeValue == "24725-4"


def test_negative_sr_has_no_finding_groups(series: list[Dataset], tmp_path: Path) -> None:
    prediction = prediction_for(series, NEGATIVE)
    sr = read_back(build_sr(prediction, order_datasets(prediction, series), context_for(series)), tmp_path)
    groups = sr.content.get_image_measurement_groups()
    assert len(groups) == 1
    assert groups[0].get_qualitative_evaluations()[0].value == codes.ABSENT
    library = named(sr.ContentSequence, "Image Library")
    assert len(library[0].ContentSequence[0].ContentSequence) == len(series)


def test_build_results_is_deterministic_and_orders_sr_first(series: list[Dataset]) -> None:
    prediction = prediction_for(series, POSITIVE)
    first = build_results(prediction, list(reversed(series)), context_for(series))
    again = build_results(prediction, series, context_for(series))
    assert first[0].Modality == "SR" and all(ds.Modality == "OT" for ds in first[1:])
    assert [ds.SOPInstanceUID for ds in first] == [ds.SOPInstanceUID for ds in again]
    other_version = build_results(prediction, series, context_for(series, version=2))
    assert {ds.SOPInstanceUID for ds in other_version}.isdisjoint(ds.SOPInstanceUID for ds in first)


def test_missing_source_slice_is_refused(series: list[Dataset]) -> None:
    prediction = prediction_for(series, POSITIVE)
    with pytest.raises(ValueError, match="no source dataset"):
        build_results(prediction, series[1:], context_for(series))
