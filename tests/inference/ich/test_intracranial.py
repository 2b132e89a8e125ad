"""The intracranial mask (inference.ich.intracranial) on drawn skulls and on real head CT."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from inference.ich.intracranial import intracranial_area_cm2, intracranial_mask, intracranial_slice_mask
from inference.ich.volume import Volume

GE_HEAD = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "real-ct" / "ge-head-dcmqa"


def drawn_slice(gap_mm: float = 0.0, pixel_mm: float = 0.5, size: int = 400) -> np.ndarray:
    """Air, a scalp disc, a 6 mm skull ring (optionally with a gap) and brain at 32 HU with a bleed at 70 HU."""
    y, x = (np.mgrid[:size, :size] - size / 2) * pixel_mm
    radius = np.hypot(x, y)
    hu = np.full((size, size), -1000.0, dtype=np.float32)
    hu[radius < 92] = 40.0  # scalp
    hu[radius < 86] = 900.0  # skull
    hu[radius < 80] = 32.0  # brain
    hu[(np.hypot(x - 40, y) < 8)] = 70.0  # a bleed inside
    if gap_mm:
        hu[(np.abs(y) < gap_mm / 2) & (x < -79) & (radius < 87)] = 40.0
    return hu


def test_brain_inside_the_skull_ring_is_intracranial_and_scalp_is_not():
    hu = drawn_slice()
    mask = intracranial_slice_mask(hu, (0.5, 0.5))
    y, x = (np.mgrid[:400, :400] - 200) * 0.5
    radius = np.hypot(x, y)
    assert mask[radius < 76].mean() > 0.99  # brain, bleed included
    assert not mask[radius > 81].any()  # skull, scalp, air
    assert mask[(np.hypot(x - 40, y) < 8)].all()


def test_a_suture_gap_is_bridged():
    mask = intracranial_slice_mask(drawn_slice(gap_mm=3.0), (0.5, 0.5))
    assert mask.sum() * 0.25 / 100 > 180  # cm^2: most of the 201 cm^2 disc


def test_a_slice_without_a_closed_ring_has_no_intracranial_space():
    hu = drawn_slice(gap_mm=40.0)
    assert not intracranial_slice_mask(hu, (0.5, 0.5)).any()
    vertex = np.full((400, 400), -1000.0, dtype=np.float32)
    vertex[150:250, 150:250] = 900.0  # a bone cap with nothing inside
    assert not intracranial_slice_mask(vertex, (0.5, 0.5)).any()


def test_an_enclosed_region_of_fat_is_not_intracranial():
    hu = drawn_slice()
    hu[hu == 32.0] = -90.0  # an orbit-like region: fat inside bone
    assert not intracranial_slice_mask(hu, (0.5, 0.5)).any()


def test_the_volume_mask_is_the_slice_masks_and_areas_follow_the_spacing():
    volume = np.stack([drawn_slice(), drawn_slice(gap_mm=40.0)])
    mask = intracranial_mask(volume, (5.0, 0.5, 0.5))
    assert mask.shape == volume.shape
    np.testing.assert_array_equal(mask[0], intracranial_slice_mask(volume[0], (0.5, 0.5)))
    area = intracranial_area_cm2(mask, (5.0, 0.5, 0.5))
    assert 185 < area[0] < 205 and area[1] == 0


@pytest.mark.realdata
def test_real_head_ct_has_brain_in_the_middle_and_none_at_the_vertex():
    if not GE_HEAD.is_dir():
        pytest.skip(f"real head CT not found at {GE_HEAD} (present in CI; a clone has no ../shared)")
    volume = Volume.from_datasets([pydicom.dcmread(p) for p in sorted(GE_HEAD.glob("*.dcm"))], max_obliquity_degrees=30)
    mask = intracranial_mask(volume.hu, volume.spacing)
    area = intracranial_area_cm2(mask, volume.spacing)
    assert area.max() > 150  # an adult's supratentorial slice
    assert area[-1] < 5  # the vertex cap
    mid = int(np.argmax(area))
    inside = volume.hu[mid][mask[mid]]
    assert 15 < float(np.median(inside)) < 45  # brain and CSF, not bone or scalp
    assert float(np.mean(inside > 150)) < 0.01


def test_planar_distance_is_scipys_within_its_reach():
    from scipy import ndimage

    from inference.ich.intracranial import _planar_edt

    rng = np.random.default_rng(0)
    stack = rng.random((3, 60, 50)) > 0.03
    stack[1] = True  # a slice with nothing to measure to
    distance = _planar_edt(stack, 1.7, 10.0)
    for plane, got in zip(stack, distance):
        expected = ndimage.distance_transform_edt(plane) * 1.7 if (~plane).any() else np.full(plane.shape, np.inf)
        within = expected <= 10.0
        np.testing.assert_array_equal(got[within], expected[within])
        assert np.all(got[~within] > 10.0)


CQ500 = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "cq500-ct0" / "series"


@pytest.mark.realdata
@pytest.mark.slow
def test_cq500_stack_is_its_slices_with_brain_in_the_middle():
    if not CQ500.is_dir():
        pytest.skip(f"CQ500 series not found at {CQ500} (present in CI; a clone has no ../shared)")
    volume = Volume.from_datasets([pydicom.dcmread(p) for p in sorted(CQ500.iterdir())])
    planes = volume.hu[::24]
    mask = intracranial_mask(planes, volume.spacing)
    pixel = (volume.spacing[1], volume.spacing[2])
    for plane, got in zip(planes[::3], mask[::3]):
        np.testing.assert_array_equal(got, intracranial_slice_mask(plane, pixel))
    area = intracranial_area_cm2(mask, volume.spacing)
    assert area.max() > 100 and area[-1] < 5  # a supratentorial slice; the vertex (feet first: last is top)
    mid = int(np.argmax(area))
    assert 15 < float(np.median(planes[mid][mask[mid]])) < 45
