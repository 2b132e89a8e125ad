"""Secondary Capture images (issue 6 part 2) and their pixels."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset

from dicomnode.reports import render
from dicomnode.reports.context import key_slices, order_datasets
from dicomnode.reports.sc import build_sc, patient_orientation
from inference.labels import ANY_INDEX
from tests.dicomnode.reports.helpers import NEGATIVE, POSITIVE, context_for, prediction_for

SC_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.7"


def test_positive_study_gets_key_slices_and_a_summary(series: list[Dataset]) -> None:
    prediction = prediction_for(series, POSITIVE)
    context = context_for(series, max_key_slices=2)
    ordered = order_datasets(prediction, series)
    images = build_sc(prediction, ordered, context)
    assert len(images) == 3  # two key slices + summary
    keys, summary = images[:2], images[2]
    assert all(ds.SOPClassUID == SC_IMAGE_STORAGE for ds in images)
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
    # the banner is drawn: bright yellow text on black in the top rows, overlay colour in the image
    top = keys[0].pixel_array[:16]
    assert (top[..., 0] > 120).any() and (top[..., 2] < 60).all()
    body = keys[0].pixel_array[30:].astype(int)
    assert (np.abs(body[..., 0] - body[..., 2]) > 40).any()  # colour, not grey


def test_negative_study_gets_the_summary_only(series: list[Dataset]) -> None:
    prediction = prediction_for(series, NEGATIVE)
    (summary,) = build_sc(prediction, order_datasets(prediction, series), context_for(series))
    assert summary.ImageComments.startswith("AI summary")
    assert summary.Rows == 768 and summary.Columns == 1024


def test_no_saliency_still_gives_a_grey_key_slice(series: list[Dataset]) -> None:
    prediction = prediction_for(series, POSITIVE, saliency=False)
    image = build_sc(prediction, order_datasets(prediction, series), context_for(series, max_key_slices=1))[0]
    body = image.pixel_array[40:].astype(int)
    assert (body[..., 0] == body[..., 2]).all()


def test_window_overlay_and_orientation() -> None:
    grey = render.window(np.array([[-100.0, 0.0, 40.0, 80.0, 1000.0]]))
    assert grey.tolist() == [[0, 0, 128, 255, 255]]
    saliency = np.zeros((1, 5), dtype=np.float32)
    saliency[0, 4] = 1.0
    rgb = render.overlay(grey, saliency)
    assert rgb[0, 0].tolist() == [0, 0, 0] and rgb[0, 4, 0] == 255 and rgb[0, 4, 2] < 255
    ds = Dataset()
    ds.ImageOrientationPatient = [1, 0, 0, 0, 0.95, -0.3]
    assert patient_orientation(ds) == ("L", "P")


def test_key_slices_prefer_slices_above_threshold() -> None:
    probs = np.array([0.1, 0.9, 0.6, 0.7, 0.2])
    assert key_slices(probs, 0.5, 2) == [1, 3]
    assert key_slices(probs, 0.95, 3) == [1]  # none above: the most probable one
    assert key_slices(probs, 0.5, 0) == []
