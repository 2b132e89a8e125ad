"""load_swi: both kinds of series, phase scales, and the refusals a pipeline's selection reports."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from inference.cmb.errors import SwiInputError
from inference.cmb.series import load_swi, phase_to_radians


def test_two_series_in_any_order_make_one_volume(small_phantom, small_series):
    magnitude, phase = small_series
    volume = load_swi(list(reversed(phase)) + magnitude[::2] + magnitude[1::2])
    assert volume.magnitude.shape == small_phantom.magnitude.shape
    assert volume.phase_convention == "12bit"
    assert np.abs(volume.phase - small_phantom.phase).max() < 2 * np.pi / 4095
    assert np.allclose(volume.affine, small_phantom.affine)
    assert volume.spacing_mm == (2.0, 1.0, 1.0)
    assert volume.magnitude_sop_uids == [ds.SOPInstanceUID for ds in magnitude]


def test_one_series_with_both_kinds(small_series):
    magnitude, phase = (copy.deepcopy(s) for s in small_series)
    for ds in phase:
        ds.SeriesInstanceUID = magnitude[0].SeriesInstanceUID
    assert load_swi(magnitude + phase).phase is not None


@pytest.mark.parametrize(("raw", "slope", "intercept", "convention"), [
    (np.array([0.0, 4095.0]), 2 * np.pi / 4095, -np.pi, "radians"),
    (np.array([0.0, 4095.0]), 1.0, 0.0, "12bit"),
    (np.array([0.0, 4095.0]), 2.0, -4096.0, "signed-4096"),
])
def test_phase_scales_map_to_minus_pi_pi(raw, slope, intercept, convention):
    radians, detected = phase_to_radians(raw, slope, intercept)
    assert detected == convention
    assert radians.min() == pytest.approx(-np.pi, abs=2e-3) and radians.max() == pytest.approx(np.pi, abs=2e-3)


def test_unknown_phase_scale_is_refused():
    with pytest.raises(SwiInputError) as info:
        phase_to_radians(np.array([0.0, 60000.0]), 1.0, 0.0)
    assert info.value.reason == "phase-scale"


def test_no_phase_is_refused_unless_allowed(small_series):
    magnitude, _ = small_series
    with pytest.raises(SwiInputError) as info:
        load_swi(magnitude)
    assert info.value.reason == "no-phase"
    assert load_swi(magnitude, allow_magnitude_only=True).phase is None


def test_mismatched_geometry_is_refused(small_series):
    magnitude, phase = small_series
    shifted = copy.deepcopy(phase)
    for ds in shifted:
        ds.ImagePositionPatient = [float(ds.ImagePositionPatient[0]) + 5, *ds.ImagePositionPatient[1:]]
    with pytest.raises(SwiInputError) as info:
        load_swi(magnitude + shifted)
    assert info.value.reason == "geometry-mismatch"
    other_frame = copy.deepcopy(phase)
    for ds in other_frame:
        ds.FrameOfReferenceUID = "1.2.3.4"
    with pytest.raises(SwiInputError, match="Frame of Reference"):
        load_swi(magnitude + other_frame)


def test_thick_slices_are_refused(small_series):
    magnitude, phase = (copy.deepcopy(s) for s in small_series)
    for ds in magnitude + phase:
        ds.SliceThickness = "5"
        ds.ImagePositionPatient = [*ds.ImagePositionPatient[:2], float(ds.ImagePositionPatient[2]) * 2.5]
    with pytest.raises(SwiInputError) as info:
        load_swi(magnitude + phase)
    assert info.value.reason == "slice-too-thick"


def test_ct_is_refused(small_series):
    magnitude, phase = (copy.deepcopy(s) for s in small_series)
    magnitude[0].Modality = "CT"
    with pytest.raises(SwiInputError) as info:
        load_swi(magnitude + phase)
    assert info.value.reason == "modality"
