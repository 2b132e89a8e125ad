"""Hemorrhage lesions of the five subtypes, drawn and rendered against the normal anatomy.

Each lesion is a 3D object in the reference head frame, so it spans several slices and tapers at its
ends. ``render`` returns the pixels the blood occupies on one plane and their HU (40-90 HU, textured):

- epidural: biconvex lens against the inner table (thickness falls off parabolically from its centre);
- subdural: crescent along the inner table (broad, thin, nearly constant thickness, tapered tips);
- subarachnoid: blood filling sulci in a convexity region and optionally the basal cisterns and fissures;
- intraparenchymal: irregular lobulated blob in brain tissue, optionally with a low-density oedema rim;
- intraventricular: blood layering in the dependent (posterior, patient supine) part of the ventricles,
  optionally a cast filling part of the ventricular system.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TypedDict

import numpy as np

from inference.ich.phantoms.anatomy import Fields, Tissue
from inference.ich.phantoms.head import REFERENCE_AXES, HeadParams, PlaneCoords
from inference.ich.phantoms.shapes import ellipsoid, random_waves, texture

logger = logging.getLogger(__name__)

SUBTYPES: tuple[str, ...] = ("epidural", "intraparenchymal", "intraventricular", "subarachnoid", "subdural")
"""Subtypes in the order of the label columns 1-5."""

ABBREVIATIONS: dict[str, str] = {
    "EDH": "epidural",
    "IPH": "intraparenchymal",
    "IVH": "intraventricular",
    "SAH": "subarachnoid",
    "SDH": "subdural",
}

BLOOD_HU = (40.0, 90.0)


@dataclass(frozen=True, eq=False)
class Lesion:
    """Base of every lesion: subtype, blood density and texture, bounding sphere (reference mm)."""

    subtype: str
    centre: np.ndarray  # reference mm; also the anchor used to keep the lesion inside the scan
    radius: float  # bounding sphere radius, reference mm
    blood_hu: float
    texture_hu: float
    waves: tuple[np.ndarray, np.ndarray] = field(repr=False)

    def blood(self, p: PlaneCoords) -> np.ndarray:
        """Textured blood density on ``p`` (HU, clipped to 40-90)."""
        hu = np.float32(self.blood_hu) + np.float32(self.texture_hu) * texture(p, *self.waves)
        clipped: np.ndarray = np.clip(hu, *BLOOD_HU)
        return clipped

    def render(self, head: HeadParams, f: Fields, p: PlaneCoords) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Blood mask, blood HU and an optional oedema mask (or None) on one cropped plane."""
        raise NotImplementedError

    def describe(self) -> dict[str, object]:
        return {"subtype": self.subtype, "centre_ref_mm": [round(float(v), 1) for v in self.centre]}


def _angle(f: Fields, direction: np.ndarray) -> np.ndarray:
    cos = f.ux * np.float32(direction[0]) + f.uy * np.float32(direction[1]) + f.uz * np.float32(direction[2])
    return np.arccos(np.clip(cos, -1.0, 1.0))


@dataclass(frozen=True, eq=False)
class ExtraAxial(Lesion):
    """Epidural (lens, ``exponent`` 1) or subdural (crescent, small exponent) collection."""

    direction: np.ndarray = field(default_factory=lambda: np.zeros(3))
    angular_radius: float = 0.3
    thickness_mm: float = 10.0
    exponent: float = 1.0

    def render(self, head: HeadParams, f: Fields, p: PlaneCoords) -> tuple[np.ndarray, np.ndarray, None]:
        ratio = _angle(f, self.direction) / np.float32(self.angular_radius)
        taper = np.clip(1.0 - ratio * ratio, 0.0, 1.0) ** np.float32(self.exponent)
        below_table = f.depth - f.skull
        mask = f.cranium & (below_table >= 0) & (below_table < np.float32(self.thickness_mm) * taper)
        return mask, self.blood(p), None

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "max_thickness_mm": round(self.thickness_mm, 1),
                "extent_mm": round(2 * self.angular_radius * 80.0, 1)}


@dataclass(frozen=True, eq=False)
class Subarachnoid(Lesion):
    """Blood in the sulci of a convexity region, and in the basal cisterns and fissures if ``basal``."""

    direction: np.ndarray = field(default_factory=lambda: np.zeros(3))
    angular_radius: float = 0.5
    basal: bool = False

    def render(self, head: HeadParams, f: Fields, p: PlaneCoords) -> tuple[np.ndarray, np.ndarray, None]:
        mask = f.sulci & (_angle(f, self.direction) < np.float32(self.angular_radius))
        if self.basal:
            near_base = ellipsoid(p, (0.0, 2.0, -26.0), (50.0, 45.0, 26.0)) <= 1.0
            mask |= f.cisterns & near_base
        return mask, self.blood(p), None

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "basal": self.basal, "extent_mm": round(2 * self.angular_radius * 80.0, 1)}


@dataclass(frozen=True, eq=False)
class Parenchymal(Lesion):
    """Irregular blob in brain tissue with an optional oedema rim (``rim_mm`` 0 for none)."""

    axes: np.ndarray = field(default_factory=lambda: np.ones(3))
    irregularity: float = 0.2
    shape_waves: tuple[np.ndarray, np.ndarray] = field(default=(np.zeros((1, 3)), np.zeros(1)), repr=False)
    rim_mm: float = 0.0

    def render(self, head: HeadParams, f: Fields, p: PlaneCoords) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        r = np.sqrt(ellipsoid(p, self.centre, self.axes))
        r = r / (np.float32(1.0) + np.float32(self.irregularity) * texture(p, *self.shape_waves))
        brain = (f.tissue == Tissue.GREY) | (f.tissue == Tissue.WHITE) | (f.tissue == Tissue.DEEP_GREY)
        mask = (r <= 1.0) & brain
        rim = None
        if self.rim_mm > 0:
            rim = (r > 1.0) & (r <= 1.0 + self.rim_mm / float(np.mean(self.axes))) & brain
        return mask, self.blood(p), rim

    def describe(self) -> dict[str, object]:
        volume = 4.0 / 3.0 * math.pi * float(np.prod(self.axes)) / 1000.0
        return {**super().describe(), "approx_volume_ml": round(volume, 1), "oedema_rim_mm": round(self.rim_mm, 1)}


@dataclass(frozen=True, eq=False)
class Ventricular(Lesion):
    """Blood below a horizontal fluid level (patient y) in the ventricles, plus an optional cast."""

    level_patient_y: float = 0.0
    cast_centre: np.ndarray | None = None
    cast_radius: float = 0.0

    def render(self, head: HeadParams, f: Fields, p: PlaneCoords) -> tuple[np.ndarray, np.ndarray, None]:
        ventricle = f.tissue == Tissue.VENTRICLE
        mask = ventricle & (p.patient_y > np.float32(self.level_patient_y))
        if self.cast_centre is not None:
            r = self.cast_radius
            mask |= ventricle & (ellipsoid(p, self.cast_centre, (r, r, r)) <= 1.0)
        return mask, self.blood(p), None

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "cast": self.cast_centre is not None}


def _direction(rng: np.random.Generator, z_range: tuple[float, float]) -> np.ndarray:
    """Random unit direction (ellipsoid-normalised) with its z component in ``z_range``."""
    uz = rng.uniform(*z_range)
    azimuth = rng.uniform(0.0, 2.0 * math.pi)
    horizontal = math.sqrt(max(0.0, 1.0 - uz * uz))
    return np.array([horizontal * math.cos(azimuth), horizontal * math.sin(azimuth), uz])


def _table_point(head: HeadParams, direction: np.ndarray, below_table_mm: float) -> np.ndarray:
    """Reference point ``below_table_mm`` under the inner table along ``direction``."""
    surface = direction * REFERENCE_AXES
    depth = head.skull_mm + below_table_mm
    return surface * (1.0 - depth / float(np.linalg.norm(direction * head.axes)))


class BloodDraw(TypedDict):
    """The :class:`Lesion` fields every subtype draws the same way (see :func:`_blood`)."""

    blood_hu: float
    texture_hu: float
    waves: tuple[np.ndarray, np.ndarray]


def _blood(rng: np.random.Generator, low: float, high: float) -> BloodDraw:
    return {"blood_hu": rng.uniform(low, high), "texture_hu": rng.uniform(3.0, 10.0),
            "waves": random_waves(rng, 4, (4.0, 12.0))}


def sample_lesion(subtype: str, rng: np.random.Generator, head: HeadParams) -> Lesion:
    """Draw one lesion of ``subtype`` (a full name from :data:`SUBTYPES`) for ``head``."""
    if subtype == "epidural":
        direction = _direction(rng, (-0.2, 0.7))
        thickness = rng.uniform(8.0, 22.0)
        angular = rng.uniform(0.22, 0.4)
        return ExtraAxial(subtype, _table_point(head, direction, thickness / 2), angular * 95.0 + thickness + 10.0,
                          **_blood(rng, 55.0, 80.0), direction=direction, angular_radius=angular,
                          thickness_mm=thickness, exponent=1.0)
    if subtype == "subdural":
        direction = _direction(rng, (-0.1, 0.6))
        thickness = rng.uniform(4.0, 14.0)
        angular = rng.uniform(0.55, 0.95)
        return ExtraAxial(subtype, _table_point(head, direction, thickness / 2), angular * 95.0 + thickness + 10.0,
                          **_blood(rng, 48.0, 78.0), direction=direction, angular_radius=angular,
                          thickness_mm=thickness, exponent=rng.uniform(0.2, 0.4))
    if subtype == "subarachnoid":
        basal = bool(rng.uniform() < 0.6)
        direction = _direction(rng, (-0.2, 0.7))
        angular = rng.uniform(0.45, 0.9)
        centre = np.array([0.0, 2.0, -24.0]) if basal else _table_point(head, direction, 8.0)
        return Subarachnoid(subtype, centre, 120.0 if basal else angular * 95.0 + 25.0,
                            **_blood(rng, 45.0, 70.0), direction=direction, angular_radius=angular, basal=basal)
    if subtype == "intraparenchymal":
        sites = [(22.0, -2.0, 0.0), (11.0, 10.0, 0.0), (35.0, -30.0, 25.0), (30.0, 30.0, 25.0),
                 (25.0, -45.0, 5.0), (18.0, 42.0, -48.0)]
        site = np.array(sites[int(rng.integers(len(sites)))]) * np.array([rng.choice([-1.0, 1.0]), 1.0, 1.0])
        centre = site + rng.normal(0.0, 3.0, size=3)
        size = rng.uniform(6.0, 20.0) * (0.6 if site[2] < -30 else 1.0)
        axes = size * rng.uniform(0.75, 1.3, size=3)
        rim = rng.uniform(2.0, 6.0) if rng.uniform() < 0.6 else 0.0
        return Parenchymal(subtype, centre, float(np.max(axes)) * 1.6 + rim + 2.0, **_blood(rng, 55.0, 85.0),
                           axes=axes, irregularity=rng.uniform(0.1, 0.3),
                           shape_waves=random_waves(rng, 3, (size * 0.8, size * 1.6)), rim_mm=rim)
    if subtype == "intraventricular":
        vs = head.ventricle_scale
        side = rng.choice([-1.0, 1.0])
        atrium = np.array([side * 17.0 * (0.6 + 0.4 * vs), 22.0 + 11.0 * math.sqrt(vs), 7.0])
        layer = rng.uniform(3.0, 9.0)
        level = float(head.to_patient(atrium)[1]) - layer
        cast_centre, cast_radius = None, 0.0
        if rng.uniform() < 0.4:
            options = [(0.0, 6.0, -6.0), (0.0, 33.0, -46.0), (side * 8.0, -10.0, 14.0)]
            cast_centre = np.array(options[int(rng.integers(len(options)))])
            cast_radius = rng.uniform(8.0, 16.0)
        return Ventricular(subtype, np.array([0.0, 15.0, 5.0]), 75.0, **_blood(rng, 50.0, 80.0),
                           level_patient_y=level, cast_centre=cast_centre, cast_radius=cast_radius)
    raise ValueError(f"unknown hemorrhage subtype {subtype!r}; expected one of {', '.join(SUBTYPES)}")
