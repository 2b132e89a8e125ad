"""Scan geometry of a phantom series: pixel grid, gantry tilt, orientation and slice positions.

The geometry follows the Image Plane Module (PS3.3 C.7.6.2) in the LPS patient coordinate system. A
gantry tilt rotates the image plane about the patient's left-right (x) axis, so the column direction
cosine becomes (0, cos t, -sin t) and the slice normal (0, sin t, cos t); the table still moves along
z, so Image Position (Patient) steps along (0, 0, 1) and not along the normal, as on a real tilted
acquisition. The planes are contiguous: their spacing along the normal equals the slice thickness, the
table increment is thickness / cos t.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Geometry:
    """Pixel grid and positions of every slice of a phantom series.

    Attributes
    ----------
    rows, cols : int
        In-plane size in pixels.
    pixel_spacing : tuple of float
        (between rows, between columns) in mm, the order of Pixel Spacing (0028,0030).
    slice_thickness : float
        Nominal thickness in mm; also the spacing of the planes along their normal.
    gantry_tilt : float
        Gantry/Detector Tilt (0018,1120) in degrees.
    orientation : numpy.ndarray
        float64 [6], Image Orientation (Patient): row then column direction cosines.
    positions : numpy.ndarray
        float64 [slices, 3], Image Position (Patient) of the first pixel of each slice, foot to head.
    """

    rows: int
    cols: int
    pixel_spacing: tuple[float, float]
    slice_thickness: float
    gantry_tilt: float
    orientation: np.ndarray
    positions: np.ndarray

    @property
    def n_slices(self) -> int:
        return int(self.positions.shape[0])

    @property
    def row_direction(self) -> np.ndarray:
        """Direction of increasing column index (first triplet of the orientation)."""
        return self.orientation[:3]

    @property
    def col_direction(self) -> np.ndarray:
        """Direction of increasing row index (second triplet of the orientation)."""
        return self.orientation[3:]

    @cached_property
    def normal(self) -> np.ndarray:
        """Unit normal of the image planes (row x column), pointing towards the head."""
        return np.cross(self.row_direction, self.col_direction)

    @property
    def table_increment(self) -> float:
        """Distance in mm the table moves between slices (along patient z)."""
        return float(np.linalg.norm(self.positions[1] - self.positions[0])) if self.n_slices > 1 else 0.0

    @property
    def slice_locations(self) -> np.ndarray:
        """Slice Location (0020,1041) of each slice: the table position (patient z of the plane centre)."""
        return self.centres()[:, 2]

    def centres(self) -> np.ndarray:
        """Patient coordinates [slices, 3] of the centre of each image plane."""
        half_c = (self.cols - 1) / 2.0 * self.pixel_spacing[1]
        half_r = (self.rows - 1) / 2.0 * self.pixel_spacing[0]
        return self.positions + half_c * self.row_direction + half_r * self.col_direction

    def pixel_area_mm2(self) -> float:
        return float(self.pixel_spacing[0] * self.pixel_spacing[1])

    def plane_index(self, point: np.ndarray) -> float:
        """Fractional slice index of the plane through ``point`` (patient mm), along the normal."""
        distance = float(np.dot(np.asarray(point, dtype=np.float64) - self.positions[0], self.normal))
        return distance / self.slice_thickness

    def plane_points(self, index: int, offset: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Origin and in-plane steps of slice ``index`` shifted ``offset`` mm along the normal.

        Returns
        -------
        origin : numpy.ndarray
            [3] patient position of pixel (0, 0).
        step_col : numpy.ndarray
            [3] displacement for one column to the right.
        step_row : numpy.ndarray
            [3] displacement for one row down.
        """
        origin = self.positions[index] + offset * self.normal
        return origin, self.row_direction * self.pixel_spacing[1], self.col_direction * self.pixel_spacing[0]


def make_geometry(
    n_slices: int,
    size: int,
    fov_mm: float,
    slice_thickness: float,
    gantry_tilt: float,
    first_table_z: float,
) -> Geometry:
    """Build a contiguous axial (possibly tilted) geometry centred on the scanner isocentre.

    Parameters
    ----------
    n_slices, size : int
        Number of slices and in-plane size (square images).
    fov_mm : float
        Reconstruction diameter; the pixel spacing is ``fov_mm / size``.
    slice_thickness : float
        Thickness and spacing along the normal in mm.
    gantry_tilt : float
        Degrees; positive tilts the column direction towards the feet.
    first_table_z : float
        Patient z of the first plane's centre (the table position of slice 0).
    """
    if n_slices < 1 or size < 8:
        raise ValueError(f"n_slices must be >= 1 and size >= 8, got {n_slices} and {size}")
    spacing = round(fov_mm / size, 6)
    tilt = math.radians(gantry_tilt)
    row_dir = np.array([1.0, 0.0, 0.0])
    col_dir = np.array([0.0, math.cos(tilt), -math.sin(tilt)])
    increment = slice_thickness / math.cos(tilt)
    centres = np.zeros((n_slices, 3))
    centres[:, 2] = first_table_z + increment * np.arange(n_slices)
    half = (size - 1) / 2.0 * spacing
    positions = centres - half * row_dir - half * col_dir
    # Round to what a DS value keeps so that written and in-memory geometry agree exactly enough.
    orientation = np.round(np.concatenate([row_dir, col_dir]), 8)
    return Geometry(
        rows=size,
        cols=size,
        pixel_spacing=(spacing, spacing),
        slice_thickness=float(slice_thickness),
        gantry_tilt=float(gantry_tilt),
        orientation=orientation,
        positions=np.round(positions, 4),
    )
