"""The DICOM Segmentation of the findings' regions (PS3.3 A.51), read back with highdicom."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import highdicom as hd
import numpy as np
import pytest
from pydicom.dataset import Dataset

from dicomnode.pipelines.ich_ct import codes
from dicomnode.pipelines.ich_ct.context import key_slices
from dicomnode.pipelines.ich_ct.findings import MAX_SEGMENTED_SLICES, segmented_slices
from dicomnode.pipelines.ich_ct.results import ReportContext, build_results
from inference.ich.labels import LABELS
from inference.ich.prediction import Prediction
from tests.dicomnode.pipelines.ich_ct.helpers import NEGATIVE, context_for, lesion_case, prediction_for

SEGMENTATION = "1.2.840.10008.5.1.4.1.1.66.4"


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Dataset], object, np.ndarray]:
    """A subdural phantom whose prediction also calls subarachnoid hemorrhage (two segments)."""
    return lesion_case(Path(tmp_path_factory.mktemp("seg")), study=(0.95, 0.05, 0.12, 0.08, 0.62, 0.87))


def seg_of(results: list[Dataset]) -> list[Dataset]:
    return [ds for ds in results if ds.SOPClassUID == SEGMENTATION]


def test_one_segment_per_positive_finding_on_its_slices(case, tmp_path: Path) -> None:  # noqa: ANN001
    series, prediction, lesion = case
    context = context_for(series)
    (written,) = seg_of(build_results(prediction, series, context))
    path = tmp_path / "seg.dcm"
    written.save_as(path, enforce_file_format=True)
    seg = hd.seg.segread(path)

    assert seg.SegmentationType == "BINARY" and seg.Modality == "SEG"
    assert seg.SOPInstanceUID == context.uids.seg_instance and seg.SeriesInstanceUID == context.uids.seg_series
    assert seg.StudyInstanceUID == series[0].StudyInstanceUID and seg.FrameOfReferenceUID == series[0].FrameOfReferenceUID
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == series[0].SeriesInstanceUID
    assert str(seg.ContentDate) == "20261121"
    described = {d.segment_label: d for d in (seg.get_segment_description(n) for n in seg.segment_numbers)}
    assert set(described) == {"Subarachnoid hemorrhage", "Subdural hemorrhage"}
    subdural = described["Subdural hemorrhage"]
    assert subdural.segmented_property_category == codes.MORPHOLOGICALLY_ABNORMAL_STRUCTURE
    assert subdural.segmented_property_type == codes.SUBDURAL_HEMORRHAGE
    assert subdural.algorithm_type.value == "AUTOMATIC"
    assert subdural.algorithm_identification[0].AlgorithmName == "ich-test-net"
    assert subdural.tracking_uid == context.uids.tracking("subdural", "segment")
    assert [r.value for r in subdural.anatomic_regions] == [codes.DURA_MATER.value]

    # the subdural frames overlap the drawn bleed on their slices
    by_uid = {uid: i for i, uid in enumerate(prediction.sop_instance_uids)}
    sources = [uid for uid in seg.get_source_image_uids()]
    assert sources and all(uid[2] in by_uid for uid in sources)
    number = subdural.segment_number
    overlaps = []
    for _, _, uid in sources:
        mask = seg.get_pixels_by_source_instance([uid], segment_numbers=[number])[0, :, :, 0].astype(bool)
        if mask.any():
            truth = lesion[by_uid[uid]]
            overlaps.append((mask & truth).sum() / mask.sum())
    assert overlaps and min(overlaps) > 0.8


def test_no_seg_when_negative_switched_off_or_indeterminate(case) -> None:  # noqa: ANN001
    series, prediction, _ = case
    assert not seg_of(build_results(prediction_for(series, NEGATIVE), series, context_for(series)))
    assert not seg_of(build_results(prediction, series, replace(context_for(series), segmentation=False)))
    undetermined = replace(context_for(series), indeterminate_reasons=("outside the model's domain",))
    assert not seg_of(build_results(prediction, series, undetermined))


def test_segmented_slices_are_bounded_and_keep_the_key_slices() -> None:
    uids = tuple(f"1.2.3.{i}" for i in range(100))
    rng = np.random.default_rng(1)
    slice_probs = rng.uniform(0.6, 1.0, (100, 6)).astype(np.float32)
    prediction = Prediction(slice_probs, np.full(6, 0.9, dtype=np.float32), None, uids)
    context = ReportContext.for_job("1.2.3", 1, "f" * 64, 0.5)
    key = {label: key_slices(slice_probs[:, LABELS.index(label)], 0.5, context.max_key_slices)
           for label in ("subdural", "subarachnoid")}
    wanted = segmented_slices(prediction, context, key)
    union = set(wanted["subdural"]) | set(wanted["subarachnoid"])
    assert len(union) == MAX_SEGMENTED_SLICES
    for label in ("subdural", "subarachnoid"):
        assert set(key[label]) <= set(wanted[label])
    few = replace(context, threshold=0.95)
    assert all(len(v) < MAX_SEGMENTED_SLICES for v in segmented_slices(prediction, few, {"subdural": [0]}).values())
