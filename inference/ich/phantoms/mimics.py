"""Hemorrhage look-alikes present in positive and negative studies, so a model cannot just threshold.

- calcifications (pineal gland, choroid plexus, basal ganglia, falx plaques): 70-600 HU;
- dense dura and vessels (falx, superior sagittal and transverse sinuses, a hyperdense middle cerebral
  artery): 45-75 HU, the density of fresh blood, next to the inner table or in a fissure;
- beam-hardening streaks between the petrous bones at the skull base (dark band, bright/dark rays).

Each look-alike renders like a lesion (mask and HU on a cropped plane); the streaks are an additive HU
pattern of the whole plane. Mask bits of :attr:`PhantomStudy.mimic_mask`: :data:`CALCIFICATION`,
:data:`DENSE_VESSEL`, :data:`STREAK`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from inference.ich.phantoms.anatomy import PETROUS, REF_C, Fields, Tissue
from inference.ich.phantoms.head import HeadFrame, HeadParams, PlaneCoords
from inference.ich.phantoms.shapes import ellipsoid

logger = logging.getLogger(__name__)

CALCIFICATION = 1
DENSE_VESSEL = 2
STREAK = 4


@dataclass(frozen=True, eq=False)
class Mimic:
    """One look-alike: ``kind`` names it, ``bit`` is its mask bit, an ellipsoid or a rule places it."""

    kind: str
    bit: int
    hu: float
    centre: np.ndarray
    radius: float
    axes: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def render(self, head: HeadParams, f: Fields, p: PlaneCoords) -> np.ndarray:
        """Mask of the look-alike on one cropped plane."""
        cranium: NDArray[np.bool_] = f.cranium & (f.tissue != Tissue.BONE)
        if self.kind == "falx":
            return cranium & (np.abs(p.x) < 0.5) & (f.brain_depth < 45.0) & (p.z > -12.0)
        if self.kind == "superior sagittal sinus":
            below: NDArray[np.float32] = f.depth - f.skull
            return cranium & (below >= 0) & (np.abs(p.x) < 4.0 * (1.0 - below / 6.0)) & (p.y > -50.0) & (p.z > -15.0)
        if self.kind == "transverse sinus":
            below = f.depth - f.skull
            side = np.float32(math.copysign(1.0, self.centre[0]))
            sinus: NDArray[np.bool_] = (cranium & (below >= 0) & (below < 5.0)
                                        & (np.abs(p.z - np.float32(self.centre[2])) < 3.5) & (p.y > 25.0)
                                        & (side * p.x > 5.0))
            return sinus
        if self.kind == "hyperdense middle cerebral artery":
            side = np.float32(math.copysign(1.0, self.centre[0]))
            dist_line = np.abs(np.float32(0.28) * (p.x - side * 18.0) * side + np.float32(0.96) * (p.y + 4.0))
            artery: NDArray[np.bool_] = (cranium & (np.hypot(dist_line, p.z - np.float32(self.centre[2])) < 1.4)
                                         & (side * p.x > 14.0) & (side * p.x < 40.0))
            return artery
        return cranium & (ellipsoid(p, self.centre, self.axes) <= 1.0)

    def describe(self) -> dict[str, object]:
        return {"kind": self.kind, "hu": round(self.hu, 1), "centre_ref_mm": [round(float(v), 1) for v in self.centre]}


def sample_mimics(rng: np.random.Generator, head: HeadParams) -> list[Mimic]:
    """Draw the look-alikes of one study: always the falx, a sinus and at least one calcification."""
    mimics = [Mimic("falx", DENSE_VESSEL, rng.uniform(45.0, 60.0), np.array([0.0, 0.0, 25.0]), 110.0),
              Mimic("superior sagittal sinus", DENSE_VESSEL, rng.uniform(50.0, 66.0), np.array([0.0, 10.0, 30.0]), 110.0)]
    if rng.uniform() < 0.6:
        z = head.floor[2] * REF_C + 16.0
        for side in (-1.0, 1.0):
            mimics.append(Mimic("transverse sinus", DENSE_VESSEL, rng.uniform(50.0, 64.0), np.array([side * 40.0, 60.0, z]), 75.0))
    if rng.uniform() < 0.3:
        side = rng.choice([-1.0, 1.0])
        mimics.append(Mimic("hyperdense middle cerebral artery", DENSE_VESSEL, rng.uniform(55.0, 75.0),
                            np.array([side * 28.0, -7.0, -18.0]), 26.0))
    calcifications: list[Mimic] = []
    if rng.uniform() < 0.7:
        r = rng.uniform(2.0, 4.0)
        calcifications.append(Mimic("pineal calcification", CALCIFICATION, rng.uniform(150.0, 400.0),
                                    np.array([0.0, 17.0, -3.0]), r + 1.0, (r, r, r)))
    if rng.uniform() < 0.6:
        vs = head.ventricle_scale
        r = rng.uniform(2.0, 3.5)
        hu = rng.uniform(80.0, 250.0)
        for side in (-1.0, 1.0):
            centre = np.array([side * 17.0 * (0.6 + 0.4 * vs), 22.0, 8.0])
            calcifications.append(Mimic("choroid plexus calcification", CALCIFICATION, hu, centre, r + 1.0, (r, r * 1.3, r)))
    if rng.uniform() < 0.35:
        r = rng.uniform(2.0, 4.0)
        hu = rng.uniform(70.0, 150.0)
        for side in (-1.0, 1.0):
            centre = np.array([side * 19.0, -2.0, -2.0])
            calcifications.append(Mimic("basal ganglia calcification", CALCIFICATION, hu, centre, 2.0 * r + 1.0, (r, 1.8 * r, r)))
    if rng.uniform() < 0.4 or not calcifications:
        centre = np.array([0.0, rng.uniform(-25.0, 30.0), rng.uniform(28.0, 48.0)])
        calcifications.append(Mimic("falx calcification", CALCIFICATION, rng.uniform(250.0, 600.0), centre, 9.0,
                                    (0.9, rng.uniform(3.0, 7.0), rng.uniform(1.5, 3.0))))
    return mimics + calcifications


@dataclass(frozen=True, eq=False)
class Streaks:
    """Beam-hardening streaks between the petrous ridges: a dark band and rays from each ridge."""

    band_hu: float
    band_mm: float
    ray_angles: np.ndarray
    ray_hu: np.ndarray
    ray_mm: float

    @classmethod
    def sample(cls, rng: np.random.Generator) -> Streaks:
        count = int(rng.integers(3, 7))
        return cls(band_hu=-rng.uniform(15.0, 35.0), band_mm=rng.uniform(3.0, 7.0),
                   ray_angles=rng.uniform(0.0, math.pi, size=count),
                   ray_hu=rng.choice([-1.0, 1.0], size=count) * rng.uniform(8.0, 25.0, size=count),
                   ray_mm=rng.uniform(0.8, 1.8))

    def render(self, frame: HeadFrame, index: int, offset: float = 0.0) -> np.ndarray | None:
        """Additive HU pattern on the full plane, or None where the plane misses the petrous ridges."""
        head, geometry = frame.head, frame.geometry
        (cx, cy, _), axes, _ = PETROUS
        cz = head.floor[1] * REF_C + 4.0
        points, weights = [], []
        origin, _, _ = geometry.plane_points(index, offset)
        for side in (-1.0, 1.0):
            centre = head.to_patient(np.array([side * cx, cy, cz]))
            distance = float(np.dot(centre - origin, geometry.normal))
            weight = math.exp(-((distance / 8.0) ** 2))
            foot = centre - distance * geometry.normal - origin
            points.append((float(np.dot(foot, geometry.col_direction)), float(np.dot(foot, geometry.row_direction))))
            weights.append(weight)
        strength = min(weights)
        if strength < 0.05:
            return None
        rows = (np.arange(geometry.rows, dtype=np.float32) * np.float32(geometry.pixel_spacing[0]))[:, None]
        cols = (np.arange(geometry.cols, dtype=np.float32) * np.float32(geometry.pixel_spacing[1]))[None, :]
        (r1, c1), (r2, c2) = points
        length = math.hypot(r2 - r1, c2 - c1) + 1e-6
        nr, nc = -(c2 - c1) / length, (r2 - r1) / length
        along = ((rows - r1) * np.float32((r2 - r1) / length) + (cols - c1) * np.float32((c2 - c1) / length)) / length
        across = (rows - r1) * np.float32(nr) + (cols - c1) * np.float32(nc)
        out = np.float32(self.band_hu) * np.exp(-((across / np.float32(self.band_mm)) ** 2)) * ((along > 0.1) & (along < 0.9))
        for (pr, pc) in points:
            for angle, hu in zip(self.ray_angles, self.ray_hu):
                dist = np.abs((rows - pr) * np.float32(math.cos(angle)) - (cols - pc) * np.float32(math.sin(angle)))
                radial = np.sqrt((rows - pr) ** 2 + (cols - pc) ** 2)
                out += np.float32(hu) * np.exp(-((dist / np.float32(self.ray_mm)) ** 2)) * np.exp(-radial / np.float32(60.0))
        return out * np.float32(strength)
