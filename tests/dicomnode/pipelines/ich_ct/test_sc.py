"""Secondary Capture images: key slices with the region drawn inside the head, the summary plot, the banner."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset

from dicomnode.pipelines.ich_ct import render
from dicomnode.pipelines.ich_ct.context import key_slices
from dicomnode.pipelines.ich_ct.results import build_results
from dicomnode.results.geometry import patient_orientation
from inference.ich.intracranial import intracranial_slice_mask
from inference.ich.labels import ANY_INDEX
from tests.dicomnode.pipelines.ich_ct.helpers import NEGATIVE, context_for, lesion_case, prediction_for

SC_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.7"


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Dataset], object, np.ndarray]:
    """An intraparenchymal phantom (10 slices, 128 x 128) with saliency on the drawn bleed."""
    return lesion_case(Path(tmp_path_factory.mktemp("iph")), subtype="IPH")


def sc_images(results: list[Dataset]) -> list[Dataset]:
    return [ds for ds in results if ds.SOPClassUID == SC_IMAGE_STORAGE]


def test_positive_study_gets_key_slices_and_a_summary(case) -> None:  # noqa: ANN001
    series, prediction, _ = case
    context = context_for(series, max_key_slices=2)
    images = sc_images(build_results(prediction, series, context))
    assert len(images) == 3  # two key slices + summary
    keys, summary = images[:2], images[2]
    assert {ds.SeriesInstanceUID for ds in images} == {context.uids.sc_series}
    assert all(ds.StudyInstanceUID == series[0].StudyInstanceUID for ds in images)
    assert [ds.InstanceNumber for ds in images] == [1, 2, 3]
    assert all(ds.BurnedInAnnotation == "YES" and ds.PhotometricInterpretation == "RGB" for ds in images)
    expected = key_slices(prediction.slice_probs[:, ANY_INDEX], context.threshold, 2)
    sources = sorted(str(ds.SourceImageSequence[0].ReferencedSOPInstanceUID) for ds in keys)
    assert sources == sorted(prediction.sop_instance_uids[i] for i in expected)
    assert [ds.SOPInstanceUID for ds in keys] == [
        context.uids.key_slice(prediction.sop_instance_uids[i]) for i in sorted(expected)
    ]
    assert (keys[0].Rows, keys[0].Columns) == (series[0].Rows, series[0].Columns)
    assert len(summary.SourceImageSequence) == len(series) and summary.SOPInstanceUID == context.uids.summary
    top = keys[0].pixel_array[:16]  # the banner: bright yellow text on black
    assert (top[..., 0] > 120).any() and (top[..., 2] < 60).all()


def test_overlay_is_drawn_only_inside_the_head_at_the_finding(case) -> None:  # noqa: ANN001
    series, prediction, lesion = case
    context = context_for(series, max_key_slices=1)
    (key, _) = sc_images(build_results(prediction, series, context))
    index = prediction.sop_instance_uids.index(key.SourceImageSequence[0].ReferencedSOPInstanceUID)
    source = next(ds for ds in series if ds.SOPInstanceUID == prediction.sop_instance_uids[index])
    hu = render.hounsfield(source)
    pixels = key.pixel_array.astype(int)
    grey = render.window(hu).astype(int)
    coloured = (np.abs(pixels - grey[..., None]).max(axis=-1) > 8)
    rows = pixels.shape[0]
    body = np.zeros_like(coloured)
    body[rows // 4: rows * 4 // 5] = True  # below the banner, above the legend
    drawn = coloured & body
    assert drawn.any()
    inside = intracranial_slice_mask(hu, [float(v) for v in source.PixelSpacing])
    grown = np.zeros_like(inside)
    rr, cc = np.nonzero(inside)
    grown[np.clip(rr[:, None] + np.arange(-2, 3), 0, rows - 1), np.clip(cc[:, None] + np.arange(-2, 3), 0, rows - 1)] = True
    assert not (drawn & ~grown).any()  # nothing over skull or scalp (outline width allowed)
    near_lesion = np.zeros_like(inside)
    lr, lc = np.nonzero(lesion[index])
    near_lesion[np.clip(lr[:, None] + np.arange(-3, 4), 0, rows - 1), np.clip(lc[:, None] + np.arange(-3, 4), 0, rows - 1)] = True
    assert (drawn & near_lesion).sum() / drawn.sum() > 0.9  # at the finding
    legend = pixels[-rows // 8:]
    assert (np.abs(legend - np.asarray(render.REGION_COLOUR)).sum(axis=-1) < 10).any()  # the legend's swatch


def test_negative_study_gets_the_summary_only(case) -> None:  # noqa: ANN001
    series, _, _ = case
    (summary,) = sc_images(build_results(prediction_for(series, NEGATIVE), series, context_for(series)))
    assert summary.ImageComments.startswith("AI summary")
    assert summary.Rows == 768 and summary.Columns == 1024


def test_indeterminate_summary_banner_gives_the_reason(case) -> None:  # noqa: ANN001
    series, prediction, _ = case
    context = replace(context_for(series), indeterminate_reasons=("no closed skull ring",))
    determinate = sc_images(build_results(prediction, series, context_for(series)))[-1]
    (summary,) = sc_images(build_results(prediction, series, context))
    banner, before = summary.pixel_array[:110].astype(int), determinate.pixel_array[:110].astype(int)
    assert (banner != before).any()  # the banner's text changed
    assert summary.SOPInstanceUID == determinate.SOPInstanceUID


def test_no_saliency_still_gives_a_grey_key_slice(case) -> None:  # noqa: ANN001
    series, _, _ = case
    prediction = prediction_for(series, (0.91, 0.05, 0.12, 0.08, 0.22, 0.87), saliency=False)
    image = sc_images(build_results(prediction, series, context_for(series, max_key_slices=1)))[0]
    body = image.pixel_array[40:].astype(int)
    assert (body[..., 0] == body[..., 2]).all()


def test_window_region_overlay_and_orientation() -> None:
    grey = render.window(np.array([[-100.0, 0.0, 40.0, 80.0, 1000.0]]))
    assert grey.tolist() == [[0, 0, 128, 255, 255]]
    mask = np.zeros((8, 8), dtype=bool)
    mask[2:5, 2:5] = True
    rgb = render.region_overlay(np.full((8, 8), 100, dtype=np.uint8), mask, None, None)
    assert (rgb[~mask] == 100).all() and (rgb[mask][:, 0] > rgb[mask][:, 2]).all()
    ds = Dataset()
    ds.ImageOrientationPatient = [1, 0, 0, 0, 0.95, -0.3]
    assert patient_orientation(ds) == ("L", "P")


def test_key_slices_prefer_slices_above_threshold() -> None:
    probs = np.array([0.1, 0.9, 0.6, 0.7, 0.2])
    assert key_slices(probs, 0.5, 2) == [1, 3]
    assert key_slices(probs, 0.95, 3) == [1]  # none above: the most probable one
    assert key_slices(probs, 0.5, 0) == []
