"""The shared slice geometry (PS3.3 C.7.6.2): normal, order along it, steps, gaps, tilt."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset

from inference.slice_geometry import (
    gap_indices,
    header_slice_spacing,
    median_step,
    obliquity_degrees,
    slice_normal,
    sort_along_normal,
    stack_tilt_degrees,
    uniform_steps,
)


def test_normal_turns_towards_the_head_unless_asked_not_to():
    row, col = np.array([1.0, 0, 0]), np.array([0, -1.0, 0])   # row x col = -z
    assert np.allclose(slice_normal(row, col), [0, 0, 1])
    assert np.allclose(slice_normal(row, col, towards_head=False), [0, 0, -1])
    assert slice_normal(row, 2 * row) is None
    assert np.isclose(obliquity_degrees(np.array([0.0, np.sin(0.3), np.cos(0.3)])), np.degrees(0.3))


def test_slices_sort_foot_to_head_with_depths_and_tilt():
    positions = np.array([[0, 0, 10.0], [0, 0, 0.0], [0, 0, 5.0]])
    order, depth = sort_along_normal(positions, np.array([0, 0, 1.0]))
    assert order.tolist() == [1, 2, 0] and depth.tolist() == [0.0, 5.0, 10.0]
    tilted = np.array([[0, 0, 0.0], [0, 1.0, 5.0], [0, 2.0, 10.0]])
    assert np.isclose(stack_tilt_degrees(tilted, np.array([0, 0, 1.0])), np.degrees(np.arctan(0.2)))
    assert stack_tilt_degrees(positions[:1], np.array([0, 0, 1.0])) is None


def test_steps_gaps_and_uniformity():
    steps = np.array([5.0, 5.0, 0.0, 5.0, 15.0])
    assert median_step(steps) == 5.0 and median_step(steps, duplicate_mm=0.01) == 5.0
    assert median_step(np.array([0.0]), duplicate_mm=0.01) == 0.0
    assert gap_indices(steps, 5.0, 1.5).tolist() == [4]
    assert not uniform_steps(steps, 5.0, 1.5)
    assert uniform_steps(np.array([2.0, 2.1, 1.9]), 2.0, 1.5)


def test_single_slice_spacing_falls_back_from_spacing_to_thickness_to_default():
    ds = Dataset()
    assert header_slice_spacing(ds, 1.0) == 1.0
    ds.SliceThickness = "2.5"
    assert header_slice_spacing(ds, 1.0) == 2.5
    ds.SpacingBetweenSlices = "3"
    assert header_slice_spacing(ds, 1.0) == 3.0
