"""Random head parameters and the mapping from image pixels to head coordinates.

Anatomy, lesions and mimics are described analytically in a *reference head frame*: millimetres of a
reference head whose outer skull is an ellipsoid with semi-axes 72 (left-right) x 90 (antero-posterior)
x 75 (cranio-caudal) mm, centred on the head, x towards the patient's left, y posterior, z cranial (LPS).
A sampled head is that reference scaled per axis, rotated and shifted in patient space, so every
structure moves with the head whatever its size, position, rotation and the gantry tilt.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from inference.ich.phantoms.geometry import Geometry

logger = logging.getLogger(__name__)

REFERENCE_AXES: NDArray[np.float64] = np.array([72.0, 90.0, 75.0])
"""Semi-axes (mm) of the reference outer skull, x, y, z."""


@dataclass(frozen=True, eq=False)
class HeadParams:
    """One sampled head: size, pose and tissue properties (all HU and mm)."""

    axes: NDArray[np.float64]
    centre: NDArray[np.float64]
    rotation: NDArray[np.float64]
    shape_linear: np.ndarray
    shape_quadratic: np.ndarray
    skull_mm: float
    skull_occipital_extra_mm: float
    table_hu: float
    diploe_hu: float
    scalp_mm: float
    soft_hu: float
    fat_hu: float
    csf_gap_mm: float
    cortex_mm: float
    grey_hu: float
    white_hu: float
    deep_grey_hu: float
    csf_hu: float
    ventricle_scale: float
    sulcal_k: np.ndarray
    sulcal_phase: np.ndarray
    sulcal_halfwidth: float
    sulcal_depth_mm: float
    floor: tuple[float, float, float]
    cupping_hu: float
    cupping_mm: float

    @property
    def scale(self) -> NDArray[np.float64]:
        """Per-axis factor from reference millimetres to this head's local millimetres."""
        return self.axes / REFERENCE_AXES

    def to_patient(self, ref_point: np.ndarray) -> NDArray[np.float64]:
        """Patient coordinates (mm) of a point given in the reference head frame."""
        return self.centre + self.rotation @ (np.asarray(ref_point, dtype=np.float64) * self.scale)


def _rotation(yaw: float, pitch: float, roll: float) -> NDArray[np.float64]:
    """Rotation matrix (radians) about z (yaw), then x (pitch), then y (roll)."""
    cz, sz = math.cos(yaw), math.sin(yaw)
    cx, sx = math.cos(pitch), math.sin(pitch)
    cy, sy = math.cos(roll), math.sin(roll)
    rz = np.array([[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]], dtype=np.float64)
    rx = np.array([[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]], dtype=np.float64)
    ry = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]], dtype=np.float64)
    return rz @ rx @ ry


def sample_head(rng: np.random.Generator) -> HeadParams:
    """Draw a plausible adult head: size, shape, pose, bone and brain densities, atrophy."""
    axes = np.array([rng.uniform(65.0, 76.0), rng.uniform(83.0, 97.0), rng.uniform(68.0, 80.0)])
    centre = np.array([rng.uniform(-10.0, 10.0), rng.uniform(-12.0, 12.0), 0.0])
    rotation = _rotation(
        math.radians(rng.uniform(-9.0, 9.0)), math.radians(rng.uniform(-10.0, 10.0)), math.radians(rng.uniform(-5.0, 5.0))
    )
    quad = rng.normal(0.0, 0.02, size=(3, 3))
    quad = (quad + quad.T) / 2.0
    quad -= np.eye(3) * np.trace(quad) / 3.0
    atrophy = rng.uniform(0.0, 1.0)
    white = rng.uniform(21.0, 29.0)
    grey = rng.uniform(max(37.5, white + 10.0), 44.5)
    directions = rng.normal(size=(5, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    wavelengths = rng.uniform(20.0, 30.0, size=(5, 1))
    return HeadParams(
        axes=axes,
        centre=centre,
        rotation=rotation,
        shape_linear=np.array([0.0, rng.uniform(0.02, 0.06), 0.0]) + rng.normal(0.0, 0.01, size=3),
        shape_quadratic=quad,
        skull_mm=rng.uniform(5.0, 8.0),
        skull_occipital_extra_mm=rng.uniform(1.0, 4.0),
        table_hu=rng.uniform(900.0, 990.0),
        diploe_hu=rng.uniform(710.0, 790.0),
        scalp_mm=rng.uniform(4.0, 7.0),
        soft_hu=rng.uniform(35.0, 50.0),
        fat_hu=rng.uniform(-100.0, -60.0),
        csf_gap_mm=0.6 + 2.2 * atrophy,
        cortex_mm=rng.uniform(2.5, 3.5),
        grey_hu=grey,
        white_hu=white,
        deep_grey_hu=rng.uniform(white + 6.0, grey),
        csf_hu=rng.uniform(3.0, 12.0),
        ventricle_scale=0.85 + 0.6 * atrophy,
        sulcal_k=2.0 * math.pi * directions / wavelengths,
        sulcal_phase=rng.uniform(0.0, 2.0 * math.pi, size=5),
        sulcal_halfwidth=0.6 + 0.9 * atrophy,
        sulcal_depth_mm=rng.uniform(10.0, 16.0),
        floor=(rng.uniform(-0.36, -0.28), rng.uniform(-0.6, -0.5), rng.uniform(-0.82, -0.74)),
        cupping_hu=rng.uniform(2.0, 6.0),
        cupping_mm=rng.uniform(4.0, 9.0),
    )


@dataclass(eq=False)
class PlaneCoords:
    """Coordinates of every pixel of one image plane (or a rectangular part of it).

    ``x, y, z`` are reference-frame millimetres (float32 [rows, cols]); ``lx, ly, lz`` the head's own
    local millimetres (same axes, not rescaled); ``patient_y`` the patient y (posterior), used for
    gravity-dependent layering.
    """

    x: NDArray[np.float32]
    y: NDArray[np.float32]
    z: NDArray[np.float32]
    lx: NDArray[np.float32]
    ly: NDArray[np.float32]
    lz: NDArray[np.float32]
    patient_y: NDArray[np.float32]

    def sub(self, box: tuple[slice, slice]) -> PlaneCoords:
        """A view of the rectangle ``box`` (row slice, column slice)."""
        return PlaneCoords(*(getattr(self, f)[box] for f in ("x", "y", "z", "lx", "ly", "lz", "patient_y")))


class HeadFrame:
    """Maps the pixels of a :class:`Geometry` into the frame of one head."""

    def __init__(self, geometry: Geometry, head: HeadParams) -> None:
        self.geometry = geometry
        self.head = head
        self._inverse = head.rotation.T

    def plane(self, index: int, offset: float = 0.0) -> PlaneCoords:
        """Pixel coordinates of slice ``index`` moved ``offset`` mm along the slice normal."""
        origin, step_col, step_row = self.geometry.plane_points(index, offset)
        rows = np.arange(self.geometry.rows, dtype=np.float64)[:, None]
        cols = np.arange(self.geometry.cols, dtype=np.float64)[None, :]
        base = self._inverse @ (origin - self.head.centre)
        du = self._inverse @ step_col
        dv = self._inverse @ step_row
        local = [(base[i] + cols * du[i] + rows * dv[i]).astype(np.float32) for i in range(3)]
        inv_scale = (1.0 / self.head.scale).astype(np.float32)
        ref = [local[i] * inv_scale[i] for i in range(3)]
        patient_y = (origin[1] + cols * step_col[1] + rows * step_row[1]).astype(np.float32)
        return PlaneCoords(ref[0], ref[1], ref[2], local[0], local[1], local[2], patient_y)

    def crop(self, index: int, offset: float, ref_centre: np.ndarray, ref_radius: float) -> tuple[slice, slice] | None:
        """Pixel rectangle of the plane that a sphere (reference frame) can touch, or None."""
        geometry = self.geometry
        centre = self.head.to_patient(ref_centre)
        radius = float(ref_radius * np.max(self.head.scale))
        origin, _, _ = geometry.plane_points(index, offset)
        distance = float(np.dot(centre - origin, geometry.normal))
        if abs(distance) >= radius:
            return None
        foot = centre - distance * geometry.normal - origin
        col = float(np.dot(foot, geometry.row_direction)) / geometry.pixel_spacing[1]
        row = float(np.dot(foot, geometry.col_direction)) / geometry.pixel_spacing[0]
        half = math.sqrt(radius * radius - distance * distance)
        half_r, half_c = half / geometry.pixel_spacing[0], half / geometry.pixel_spacing[1]
        r0, r1 = max(0, int(math.floor(row - half_r))), min(geometry.rows, int(math.ceil(row + half_r)) + 1)
        c0, c1 = max(0, int(math.floor(col - half_c))), min(geometry.cols, int(math.ceil(col + half_c)) + 1)
        if r0 >= r1 or c0 >= c1:
            return None
        return slice(r0, r1), slice(c0, c1)

    def index_of(self, ref_point: np.ndarray) -> float:
        """Fractional slice index of a reference-frame point."""
        return self.geometry.plane_index(self.head.to_patient(ref_point))


@dataclass(eq=False)
class Plane:
    """One sampled plane: its pixel coordinates and the means to crop around a structure."""

    frame: HeadFrame
    index: int
    offset: float
    coords: PlaneCoords

    @classmethod
    def of(cls, frame: HeadFrame, index: int, offset: float = 0.0) -> Plane:
        return cls(frame, index, offset, frame.plane(index, offset))

    @property
    def shape(self) -> tuple[int, int]:
        return self.coords.x.shape

    def region(self, ref_centre: tuple[float, float, float] | np.ndarray, ref_radius: float) -> tuple[tuple[slice, slice], PlaneCoords] | None:
        """Crop box and coordinates of the part of the plane a sphere can touch, or None if it misses."""
        box = self.frame.crop(self.index, self.offset, np.asarray(ref_centre, dtype=np.float64), ref_radius)
        if box is None:
            return None
        return box, self.coords.sub(box)
