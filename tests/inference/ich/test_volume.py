"""Volume geometry: sorting along the slice normal, tilt, reversed normal, HU, and the input errors."""

from __future__ import annotations

import random

import numpy as np
import pytest
from pydicom.uid import RLELossless

from inference.errors import (
    GeometryError,
    InconsistentSeriesError,
    MissingPixelDataError,
    NonAxialError,
    VolumeError,
)
from inference.ich.volume import Volume
from tests.factories import ct_slice


def test_shuffled_slices_come_back_sorted_foot_to_head(make_series):
    series = make_series(n=7)
    expected_uids = [ds.SOPInstanceUID for ds in series]
    shuffled = series[:]
    random.Random(3).shuffle(shuffled)
    assert [ds.SOPInstanceUID for ds in shuffled] != expected_uids

    volume = Volume.from_datasets(shuffled)

    assert list(volume.sop_instance_uids) == expected_uids
    np.testing.assert_array_equal(volume.hu[:, 0, 0], [10.0 * i for i in range(7)])
    assert np.all(np.diff(volume.positions[:, 2]) > 0)
    assert volume.spacing == pytest.approx((5.0, 0.5, 0.5))
    assert volume.tilt_degrees == pytest.approx(0.0, abs=1e-6)
    assert volume.hu.dtype == np.float32


def test_tilted_series_gives_tilt_and_plane_spacing(make_series):
    tilt = np.radians(15.0)
    orientation = (1, 0, 0, 0, np.cos(tilt), -np.sin(tilt))
    series = make_series(n=6, orientation=orientation, spacing=2.0)

    volume = Volume.from_datasets(series[::-1])

    assert volume.tilt_degrees == pytest.approx(15.0, abs=1e-6)
    assert volume.spacing[0] == pytest.approx(2.0 * np.cos(tilt))
    np.testing.assert_allclose(volume.normal, [0.0, np.sin(tilt), np.cos(tilt)], atol=1e-9)
    assert list(volume.sop_instance_uids) == [ds.SOPInstanceUID for ds in series]


def test_reversed_normal_still_sorts_foot_to_head(make_series):
    # row x column = (-1,0,0) x (0,1,0) = (0,0,-1): the cross product points to the feet.
    series = make_series(n=5, orientation=(-1, 0, 0, 0, 1, 0))
    shuffled = [series[i] for i in (3, 0, 4, 2, 1)]

    volume = Volume.from_datasets(shuffled)

    np.testing.assert_allclose(volume.normal, [0, 0, 1])
    assert list(volume.sop_instance_uids) == [ds.SOPInstanceUID for ds in series]
    np.testing.assert_array_equal(volume.hu[:, 5, 5], [0.0, 10.0, 20.0, 30.0, 40.0])


def test_single_slice_is_a_series_of_length_one(make_series):
    volume = Volume.from_datasets(make_series(n=1))
    assert volume.num_slices == 1
    assert volume.spacing[0] == 5.0  # SliceThickness when there is no neighbour
    assert volume.hu.shape == (1, 64, 64)


def test_hu_uses_rescale_slope_and_intercept():
    ds = ct_slice(np.array([[0, 100], [200, 300]]), (0, 0, 0), slope=2.0, intercept=-1000.0)
    volume = Volume.from_datasets([ds])
    np.testing.assert_array_equal(volume.hu[0], [[-1000, -800], [-600, -400]])


def test_compressed_transfer_syntax_decodes(make_series):
    series = make_series(n=2)
    for ds in series:
        ds.compress(RLELossless)
    volume = Volume.from_datasets(series)
    np.testing.assert_array_equal(volume.hu[:, 0, 0], [0.0, 10.0])


def test_missing_pixel_data_names_the_attribute(make_series):
    series = make_series(n=3)
    del series[1].PixelData
    with pytest.raises(MissingPixelDataError, match=r"Pixel Data \(7FE0,0010\)"):
        Volume.from_datasets(series)


def test_mixed_sizes_are_refused(make_series):
    series = make_series(n=3) + [ct_slice(np.zeros((32, 32)), (0, 0, 50.0))]
    with pytest.raises(InconsistentSeriesError, match="Rows x Columns differ"):
        Volume.from_datasets(series)


def test_mixed_series_are_refused(make_series):
    series = make_series(n=3) + make_series(n=1, series_uid="9.9.9")
    with pytest.raises(InconsistentSeriesError, match="SeriesInstanceUID differs"):
        Volume.from_datasets(series)


def test_sagittal_input_is_not_axial(make_series):
    with pytest.raises(NonAxialError, match="ImageOrientationPatient .* degrees from the patient z axis"):
        Volume.from_datasets(make_series(n=3, orientation=(0, 1, 0, 0, 0, -1)))


def test_mixed_orientations_are_refused(make_series):
    series = make_series(n=3)
    series[2].ImageOrientationPatient = [1, 0, 0, 0, 0.9, -0.43589]
    with pytest.raises(InconsistentSeriesError, match="ImageOrientationPatient differs"):
        Volume.from_datasets(series)


def test_duplicate_positions_and_missing_geometry_are_refused(make_series):
    series = make_series(n=3)
    series[2].ImagePositionPatient = series[1].ImagePositionPatient
    with pytest.raises(GeometryError, match="share one ImagePositionPatient"):
        Volume.from_datasets(series)
    series = make_series(n=2)
    del series[0].ImagePositionPatient
    with pytest.raises(GeometryError, match="ImagePositionPatient must have 3 values"):
        Volume.from_datasets(series)


def test_no_datasets_is_an_error():
    with pytest.raises(VolumeError, match="at least one slice"):
        Volume.from_datasets([])


def test_absent_rescale_is_identity_and_an_absent_half_takes_its_identity_value():
    ds = ct_slice(np.array([[-1000, 0], [40, 1000]], dtype=np.int16), (0, 0, 0))
    del ds.RescaleSlope, ds.RescaleIntercept
    np.testing.assert_array_equal(Volume.from_datasets([ds]).hu[0], [[-1000, 0], [40, 1000]])
    ds = ct_slice(np.array([[0, 1024]], dtype=np.uint16), (0, 0, 0), intercept=-1024.0)
    del ds.RescaleSlope  # slope 1
    np.testing.assert_array_equal(Volume.from_datasets([ds]).hu[0], [[-1024, 0]])
    ds = ct_slice(np.array([[-1000, 10]], dtype=np.int16), (0, 0, 0), slope=2.0)
    ds.RescaleIntercept = ""  # present but empty: intercept 0
    np.testing.assert_array_equal(Volume.from_datasets([ds]).hu[0], [[-2000, 20]])


def test_absent_rescale_without_air_is_refused_naming_the_attribute():
    ds = ct_slice(np.array([[0, 1024], [1064, 2024]], dtype=np.uint16), (0, 0, 0))  # unsigned, offset 1024
    del ds.RescaleSlope, ds.RescaleIntercept
    with pytest.raises(VolumeError, match=r"RescaleIntercept \(0028,1052\) and RescaleSlope \(0028,1053\) are absent"):
        Volume.from_datasets([ds])


def test_bad_rescale_values_are_named():
    ds = ct_slice(np.zeros((2, 2), dtype=np.int16), (0, 0, 0), slope=0.0)
    with pytest.raises(VolumeError, match="RescaleSlope is 0"):
        Volume.from_datasets([ds])


def test_missing_matrix_sop_uid_and_pixel_spacing_are_named(make_series):
    series = make_series(n=2)
    del series[1].Columns
    with pytest.raises(InconsistentSeriesError, match=r"Columns \(0028,0011\) missing"):
        Volume.from_datasets(series)
    series = make_series(n=2)
    series[0].SOPInstanceUID = ""
    with pytest.raises(InconsistentSeriesError, match=r"no SOPInstanceUID \(0008,0018\)"):
        Volume.from_datasets(series)
    series = make_series(n=2)
    for ds in series:
        del ds.PixelSpacing
    with pytest.raises(GeometryError, match="PixelSpacing must have 2 values"):
        Volume.from_datasets(series)


def test_single_slice_without_any_thickness_uses_the_documented_default(make_series):
    [ds] = make_series(n=1)
    del ds.SliceThickness
    assert Volume.from_datasets([ds]).spacing[0] == 1.0
