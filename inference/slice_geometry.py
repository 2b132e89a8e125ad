"""Slice geometry of a single-frame series from its Image Plane attributes (PS3.3 C.7.6.2).

The slice normal is the cross product of the row and column direction cosines of Image Orientation
(Patient) (C.7.6.2.1.1); a slice's depth is its Image Position (Patient) projected on the normal, and the
slices are ordered by depth. Shared by the selection rules and the volume loading of every model, which
each keep their own tolerances and refusal messages.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset

PARALLEL_NORM = 1e-6
"""Below this length the cross product of the direction cosines counts as zero (parallel cosines)."""


def orientation_spread(orientations: np.ndarray) -> float:
    """Largest difference between any slice's six direction cosines ``[n, 6]`` and the first slice's."""
    return float(np.abs(orientations - orientations[0]).max())


def slice_normal(row: np.ndarray, col: np.ndarray, towards_head: bool = True) -> np.ndarray | None:
    """Unit normal ``row x col``, turned towards the head (+z of LPS) when ``towards_head``; None when the
    direction cosines are parallel."""
    normal = np.cross(row, col)
    length = float(np.linalg.norm(normal))
    if length < PARALLEL_NORM:
        return None
    unit: np.ndarray = normal / length
    return -unit if towards_head and unit[2] < 0 else unit


def obliquity_degrees(normal: np.ndarray) -> float:
    """Angle between the slice normal and the patient z axis."""
    return float(np.degrees(np.arccos(min(1.0, abs(float(normal[2]))))))


def sort_along_normal(positions: np.ndarray, normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order, depth): the stable order of ``positions`` ``[n, 3]`` along ``normal`` and their sorted depths."""
    depth = positions @ normal
    order = np.argsort(depth, kind="stable")
    return order, depth[order]


def median_step(steps: np.ndarray, duplicate_mm: float = 0.0) -> float:
    """Median distance between neighbouring slices, over the steps of at least ``duplicate_mm`` (0 if none)."""
    distinct = steps[steps >= duplicate_mm]
    return float(np.median(distinct)) if len(distinct) else 0.0


def gap_indices(steps: np.ndarray, step: float, factor: float) -> np.ndarray:
    """Indices of the steps longer than ``factor`` x ``step`` (missing slices, or uneven spacing)."""
    return np.flatnonzero(steps > factor * step)


def uniform_steps(steps: np.ndarray, step: float, ratio: float) -> bool:
    """Whether every step lies within ``step / ratio`` .. ``step * ratio``."""
    return not (len(gap_indices(steps, step, ratio)) or bool((steps < step / ratio).any()))


def stack_tilt_degrees(positions: np.ndarray, normal: np.ndarray) -> float | None:
    """Angle between the normal and the line from the first to the last of the sorted ``positions`` (gantry
    tilt); None for fewer than two slices or a stack of zero length."""
    if len(positions) < 2:
        return None
    stack = positions[-1] - positions[0]
    length = float(np.linalg.norm(stack))
    if length == 0:
        return None
    cosine = min(1.0, abs(float(stack @ normal)) / length)
    return float(np.degrees(np.arccos(cosine)))


def header_slice_spacing(ds: Dataset, default: float) -> float:
    """A single slice's spacing from its header: Spacing Between Slices, else Slice Thickness, else ``default``."""
    for keyword in ("SpacingBetweenSlices", "SliceThickness"):
        value = ds.get(keyword)
        if value not in (None, ""):
            return float(value)
    return default
