"""Geometry attributes of a source image that every pipeline's result images need (PS3.3 C.7.6.1, C.7.6.2)."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset


def patient_orientation(ds: Dataset) -> tuple[str, str]:
    """Patient Orientation (0020,0020) of a slice: the dominant direction of its rows and columns.

    PS3.3 C.7.6.1.1.1: L/R, A/P, H/F along +x, +y, +z of the patient coordinate system (LPS).
    """
    orientation = np.asarray([float(v) for v in ds.ImageOrientationPatient], dtype=float).reshape(2, 3)
    letters = (("R", "L"), ("A", "P"), ("F", "H"))
    result = []
    for vector in orientation:
        axis = int(np.argmax(np.abs(vector)))
        result.append(letters[axis][1 if vector[axis] > 0 else 0])
    return result[0], result[1]


def pixel_spacing(ds: Dataset) -> tuple[float, float] | None:
    """(row, column) spacing in mm from Pixel Spacing (0028,0030), or None when absent or not positive."""
    values = ds.get("PixelSpacing")
    if not values or len(values) != 2:
        return None
    spacing = (float(values[0]), float(values[1]))
    return spacing if spacing[0] > 0 and spacing[1] > 0 else None
