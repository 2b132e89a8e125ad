"""The TID 1500 Comprehensive SR: findings drawn with geometry, the study verdict outside the groups, compact."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import highdicom as hd
import numpy as np
import pytest
from pydicom.dataset import Dataset

from dicomnode.pipelines.ich_ct import codes, render
from dicomnode.pipelines.ich_ct.results import build_results
from inference.ich.intracranial import intracranial_slice_mask
from inference.ich.labels import LABELS
from tests.dicomnode.pipelines.ich_ct.helpers import MODEL_HASH, NEGATIVE, context_for, lesion_case, prediction_for

COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Dataset], object, np.ndarray]:
    """A subdural phantom (10 slices, 128 x 128) with saliency on the drawn bleed."""
    return lesion_case(Path(tmp_path_factory.mktemp("sdh")))


def read_back(sr: Dataset, tmp_path: Path) -> hd.sr.ComprehensiveSR:
    path = tmp_path / "sr.dcm"
    sr.save_as(path, enforce_file_format=True)
    return hd.sr.srread(path)


def named(items: Sequence[Dataset], meaning: str) -> list[Dataset]:
    return [i for i in items if i.ConceptNameCodeSequence[0].CodeMeaning == meaning]


def meaning(item: Dataset) -> str:
    return str(item.ConceptNameCodeSequence[0].CodeMeaning)


def test_positive_sr_draws_each_finding_on_its_key_slices(case, tmp_path: Path) -> None:  # noqa: ANN001
    series, prediction, lesion = case
    context = context_for(series)
    sr = read_back(build_results(prediction, series, context)[0], tmp_path)

    assert sr.SOPClassUID == COMPREHENSIVE_SR and sr.Modality == "SR"
    assert sr.VerificationFlag == "UNVERIFIED" and sr.CompletionFlag == "COMPLETE"
    assert sr.SOPInstanceUID == context.uids.sr_instance and sr.SeriesInstanceUID == context.uids.sr_series
    assert sr.StudyInstanceUID == series[0].StudyInstanceUID and sr.PatientID == series[0].PatientID
    root = sr.ConceptNameCodeSequence[0]
    assert (root.CodeValue, root.CodingSchemeDesignator) == ("126000", "DCM")
    assert sr.ContentTemplateSequence[0].TemplateIdentifier == "1500"

    groups = sr.content.get_planar_roi_measurement_groups()
    assert groups and not sr.content.get_image_measurement_groups()  # every group has geometry (OHIF)
    assert {g.finding_type for g in groups} == {codes.SUBDURAL_HEMORRHAGE}
    kinds = [g.roi.graphic_type.value for g in groups]
    assert kinds.count("POINT") == context.max_key_slices and "POLYLINE" in kinds
    assert len({g.tracking_uid for g in groups}) == len(groups)  # OHIF merges groups sharing a UID
    index = {uid: i for i, uid in enumerate(prediction.sop_instance_uids)}
    for group in groups:
        region = group.roi
        (source,) = region.ContentSequence
        assert source.RelationshipType == "SELECTED FROM" and source.ConceptNameCodeSequence[0].CodeValue == "111040"
        slice_index = index[source.ReferencedSOPSequence[0].ReferencedSOPInstanceUID]
        assert group[0].ContentTemplateSequence[0].TemplateIdentifier == "1410"  # Stone checks it
        assert [s.value for s in group.finding_sites] == [codes.DURA_MATER]
        points = region.value
        columns, rows = np.clip(points[:, 0].astype(int), 0, 127), np.clip(points[:, 1].astype(int), 0, 127)
        if region.graphic_type.value == "POLYLINE":
            assert np.array_equal(points[0], points[-1]) and len(points) >= 4  # closed
            # the outline runs along the drawn bleed (within two pixels of it)
            near = np.array([lesion[slice_index, max(r - 2, 0):r + 3, max(c - 2, 0):c + 3].any()
                             for c, r in zip(columns, rows)])
            assert near.mean() > 0.9
            area = [m for m in group.get_measurements() if m.name == codes.AREA][0]
            assert area.unit == codes.SQUARE_MM and area.value > 0
        else:
            assert points.shape == (1, 2)
            assert lesion[slice_index, max(rows[0] - 2, 0):rows[0] + 3, max(columns[0] - 2, 0):columns[0] + 3].any()
        probability = [m for m in group.get_measurements() if m.name == codes.SUBDURAL_HEMORRHAGE][0]
        column = prediction.slice_probs[:, LABELS.index("subdural")]
        assert probability.value == pytest.approx(float(column[slice_index]), abs=1e-4)
        assert probability.unit == codes.PROBABILITY_UNIT


def test_study_verdict_is_in_the_document_level_qualitative_evaluations(case, tmp_path: Path) -> None:  # noqa: ANN001
    series, prediction, _ = case
    sr = read_back(build_results(prediction, series, context_for(series, threshold=0.4))[0], tmp_path)
    (evaluations,) = named(sr.ContentSequence, "Qualitative Evaluations")
    assert evaluations.ConceptNameCodeSequence[0].CodeValue == "C0034375"
    verdicts = {meaning(i): i.ConceptCodeSequence[0].CodeMeaning for i in evaluations.ContentSequence
                if i.ValueType == "CODE"}
    assert verdicts == {
        codes.FINDINGS[label].meaning: ("Present" if p >= 0.4 else "Absent")
        for label, p in zip(LABELS, prediction.study_probs)
    }
    lines = [i.TextValue for i in named(evaluations.ContentSequence, "Probability")]
    assert lines[LABELS.index("subdural")].startswith("Subdural hemorrhage: 0.870")
    (summary,) = named(evaluations.ContentSequence, "Summary")
    assert "detected" in summary.TextValue and "not for diagnostic use" in summary.TextValue


def test_sr_is_compact(case, tmp_path: Path) -> None:  # noqa: ANN001
    series, prediction, _ = case
    context = context_for(series)
    sr = read_back(build_results(prediction, series, context)[0], tmp_path)
    (library,) = named(sr.ContentSequence, "Image Library")
    listed = {i.ReferencedSOPSequence[0].ReferencedSOPInstanceUID for i in library.ContentSequence[0].ContentSequence}
    drawn = {g.roi.ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID
             for g in sr.content.get_planar_roi_measurement_groups()}
    assert listed == drawn and len(listed) == context.max_key_slices  # the referenced slices only
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence
    assert {i.ReferencedSOPInstanceUID for i in evidence} == drawn and len(evidence) == len(drawn)  # Stone: no repeats
    for group in sr.content.get_planar_roi_measurement_groups():
        parameters = [i.TextValue for i in named(group[0].ContentSequence, "Algorithm Parameters")]
        assert len(parameters) == len(set(parameters)) and len({p.split("=")[0] for p in parameters}) == len(parameters)
        assert [i.TextValue for i in named(group[0].ContentSequence, "Algorithm Version")] == [
            f"1.2.3 (weights sha256 {MODEL_HASH})"
        ]


def test_negative_sr_has_no_group_and_lists_one_image(case, tmp_path: Path) -> None:  # noqa: ANN001
    series, _, _ = case
    prediction = prediction_for(series, NEGATIVE)
    sr = read_back(build_results(prediction, series, context_for(series))[0], tmp_path)
    (measurements,) = named(sr.ContentSequence, "Imaging Measurements")
    assert "ContentSequence" not in measurements
    (library,) = named(sr.ContentSequence, "Image Library")
    assert len(library.ContentSequence[0].ContentSequence) == 1  # OHIF reads the library's first group
    (evaluations,) = named(sr.ContentSequence, "Qualitative Evaluations")
    assert {i.ConceptCodeSequence[0].CodeMeaning for i in evaluations.ContentSequence if i.ValueType == "CODE"} == {
        "Absent"
    }


def test_indeterminate_sr_says_why_and_draws_nothing(case, tmp_path: Path) -> None:  # noqa: ANN001
    series, prediction, _ = case
    reasons = ("slice thickness 10 mm is above the model's 5 mm", "contrast-enhanced series")
    context = replace(context_for(series), indeterminate_reasons=reasons)
    results = build_results(prediction, series, context)
    assert [ds.Modality for ds in results] == ["SR", "OT"]  # no SEG, no key slice: the summary only
    sr = read_back(results[0], tmp_path)
    (measurements,) = named(sr.ContentSequence, "Imaging Measurements")
    assert "ContentSequence" not in measurements  # no group
    (evaluations,) = named(sr.ContentSequence, "Qualitative Evaluations")
    verdicts = [i for i in evaluations.ContentSequence if i.ValueType == "CODE"]
    assert [(v.ConceptCodeSequence[0].CodeValue, v.ConceptCodeSequence[0].CodingSchemeDesignator) for v in verdicts] == [
        ("373068000", "SCT")
    ]
    comments = [i.TextValue for i in named(evaluations.ContentSequence, "Comment")]
    assert comments == [f"Result indeterminate: {reason}" for reason in reasons]
    assert "indeterminate" in named(evaluations.ContentSequence, "Summary")[0].TextValue


def _encoded(results: list[Dataset]) -> list[bytes]:
    blobs = []
    for ds in results:
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        blobs.append(buffer.getvalue())
    return blobs


def test_rebuilding_a_job_gives_byte_identical_objects(case) -> None:  # noqa: ANN001
    series, prediction, _ = case
    first = build_results(prediction, list(reversed(series)), context_for(series))
    again = build_results(prediction, series, context_for(series))
    assert [ds.Modality for ds in first] == ["SR", "SEG", "OT", "OT", "OT", "OT"]
    assert _encoded(first) == _encoded(again)
    assert {str(ds.ContentDate) for ds in first} == {"20261121"} and {str(ds.ContentTime) for ds in first} == {"083000"}
    assert {str(ds.InstanceCreationTime) for ds in first} == {"083000"}
    assert {ds.TimezoneOffsetFromUTC for ds in first} == {"+0000"}
    other_version = build_results(prediction, series, context_for(series, version=2))
    assert {ds.SOPInstanceUID for ds in other_version}.isdisjoint(ds.SOPInstanceUID for ds in first)


def test_missing_source_slice_is_refused(case) -> None:  # noqa: ANN001
    series, prediction, _ = case
    with pytest.raises(ValueError, match="no source dataset"):
        build_results(prediction, series[1:], context_for(series))


def test_a_key_slice_without_intracranial_space_is_passed_over(case) -> None:  # noqa: ANN001
    series, prediction, _ = case
    column = prediction.slice_probs[:, LABELS.index("subdural")]
    top = prediction.sop_instance_uids[int(np.argmax(column))]
    top_hu = render.hounsfield(next(ds for ds in series if ds.SOPInstanceUID == top))

    def open_ring_on_top(hu: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
        if np.array_equal(hu, top_hu):  # as for a vertex cap: no closed skull ring, nothing intracranial
            return np.zeros(hu.shape, dtype=bool)
        return intracranial_slice_mask(hu, spacing)

    context = context_for(series)
    results = build_results(prediction, series, context, intracranial_of=open_ring_on_top)
    groups = results[0].ContentSequence[-2].ContentSequence  # Imaging Measurements
    drawn = {g.ContentSequence[-1].ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID for g in groups}
    assert top not in drawn and len(drawn) == context.max_key_slices  # the next most probable slices instead
    keys = [ds for ds in results if ds.Modality == "OT"][:-1]
    assert top not in {ds.SourceImageSequence[0].ReferencedSOPInstanceUID for ds in keys}


def test_any_hemorrhage_alone_is_drawn_as_intracranial_hemorrhage(tmp_path: Path) -> None:
    series, prediction, _ = lesion_case(tmp_path / "src", subtype="IPH", study=(0.9, 0.1, 0.3, 0.1, 0.1, 0.1))
    results = build_results(prediction, series, context_for(series))
    sr = read_back(results[0], tmp_path)
    groups = sr.content.get_planar_roi_measurement_groups()
    assert groups and {g.finding_type for g in groups} == {codes.INTRACRANIAL_HEMORRHAGE}
    assert {s.value for g in groups for s in g.finding_sites} == {codes.INTRACRANIAL}
    seg = [ds for ds in results if ds.Modality == "SEG"][0]
    assert [s.SegmentLabel for s in seg.SegmentSequence] == ["Intracranial hemorrhage"]
