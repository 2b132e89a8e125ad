"""The region rule: saliency within the intracranial space, blood density, largest component, closed outline."""

from __future__ import annotations

import numpy as np
import pytest

from dicomnode.pipelines.ich_ct.regions import BLOOD_HU, outline, slice_region


def scene(size: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Brain (30 HU) inside a skull ring, a 10 x 15 bleed (70 HU) and saliency spread over bleed and skull."""
    hu = np.full((size, size), -1000.0)
    yy, xx = np.mgrid[:size, :size]
    radius = np.hypot(yy - size / 2, xx - size / 2)
    hu[radius < 28] = 800.0  # skull
    hu[radius < 25] = 30.0  # brain
    hu[22:32, 14:29] = 70.0  # bleed, clear of the skull
    intracranial = radius < 25
    saliency = np.zeros((size, size))
    saliency[12:36, 0:30] = 1.0  # covers the bleed, the skull and the scalp on that side
    return hu, saliency, intracranial


def test_region_is_the_bleed_inside_the_head() -> None:
    hu, saliency, intracranial = scene()
    region = slice_region(hu, saliency, intracranial, (0.5, 0.5))
    assert region is not None and region.mask is not None
    expected = np.zeros_like(region.mask)
    expected[22:32, 14:29] = True
    assert np.array_equal(region.mask, expected)
    assert region.area_mm2 == pytest.approx(region.mask.sum() * 0.25)
    assert region.mask[int(region.centre[1]), int(region.centre[0])]
    points = region.outline
    assert np.array_equal(points[0], points[-1])
    # DICOM image coordinates: the outline runs along the pixel edges' mid-points of the region
    assert points[:, 0].min() == pytest.approx(14.0, abs=0.51) and points[:, 0].max() == pytest.approx(29.0, abs=0.51)
    assert points[:, 1].min() == pytest.approx(22.0, abs=0.51) and points[:, 1].max() == pytest.approx(32.0, abs=0.51)


def test_only_blood_density_and_the_largest_component_count() -> None:
    hu, saliency, intracranial = scene()
    hu[22, 40] = 75.0  # a speck of blood density elsewhere, not salient
    hu[34:36, 16:18] = 70.0  # a small salient blob apart from the bleed
    region = slice_region(hu, saliency, intracranial, (0.5, 0.5))
    assert region is not None and region.mask is not None
    assert not region.mask[22, 40] and not region.mask[34:36, 16:18].any()
    assert ((hu[region.mask] >= BLOOD_HU[0]) & (hu[region.mask] <= BLOOD_HU[1])).all()


def test_noise_and_bone_edges_are_not_blood() -> None:
    hu, saliency, intracranial = scene()
    rng = np.random.default_rng(0)
    # no bleed: brain of 34 HU with noise whose single pixels reach blood density in clusters of up to
    # 11 pixels (11 mm2 at 1 mm, above the smallest region) when judged pixel by pixel
    hu[intracranial] = 34.0 + rng.normal(0.0, 8.0, int(intracranial.sum()))
    region = slice_region(hu, saliency, intracranial, (1.0, 1.0))
    assert region is not None and region.mask is None  # nothing outlined, the centre point only


def test_too_small_a_region_leaves_the_centre_point_only() -> None:
    hu, saliency, intracranial = scene()
    hu[hu == 70.0] = 30.0
    hu[24:26, 15:17] = 70.0  # 4 pixels = 1 mm2
    region = slice_region(hu, saliency, intracranial, (0.5, 0.5))
    assert region is not None and region.mask is None and region.outline is None and region.area_mm2 is None
    column, row = region.centre
    assert intracranial[int(row), int(column)] and saliency[int(row), int(column)] == 1.0  # the saliency peak


def test_nothing_to_point_at_without_intracranial_saliency() -> None:
    hu, saliency, intracranial = scene()
    assert slice_region(hu, saliency, np.zeros_like(intracranial), (0.5, 0.5)) is None
    assert slice_region(hu, np.zeros_like(saliency), intracranial, (0.5, 0.5)) is None
    with pytest.raises(ValueError, match="differ"):
        slice_region(hu, saliency[:-1], intracranial, (0.5, 0.5))


def test_outline_of_a_single_pixel_is_a_closed_diamond_around_it() -> None:
    mask = np.zeros((5, 5), dtype=bool)
    mask[2, 3] = True
    points = outline(mask)
    assert np.array_equal(points[0], points[-1])
    assert points[:, 0].min() >= 3.0 and points[:, 0].max() <= 4.0  # column 3 spans x 3.0 .. 4.0
    assert points[:, 1].min() >= 2.0 and points[:, 1].max() <= 3.0
