"""Normal head anatomy on one plane: scalp, skull (tables and diploe), skull base, brain and CSF spaces.

Everything is analytic in the reference head frame (see :mod:`inference.ich.phantoms.head`): the skull is a
star-shaped, slightly egg-shaped ellipsoidal shell whose depth below the outer surface is measured along
the ray from the head centre; the cranial cavity is closed below by a stepped skull base (anterior,
middle and posterior fossae); grey matter lines the surface and the sulci (a folded pattern from random
plane waves); ventricles, deep grey nuclei and basal cisterns are unions of ellipsoids.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from inference.ich.phantoms.head import HeadParams, Plane, PlaneCoords
from inference.ich.phantoms.shapes import ellipsoid, sigmoid

logger = logging.getLogger(__name__)

REF_C = 75.0
"""Reference cranio-caudal semi-axis (mm): skull-base heights are fractions of it."""

# (centre, axes, yaw) in reference mm; the sign of x is applied for paired structures.
LATERAL_VENTRICLE_PARTS = (
    ((7.5, -6.0, 14.0), (5.0, 29.0, 8.0), 6.0),  # frontal horn and body
    ((17.0, 22.0, 7.0), (6.0, 13.0, 8.5), -28.0),  # atrium and occipital horn
    ((27.0, -2.0, -16.0), (3.0, 14.0, 4.0), 12.0),  # temporal horn
)
MIDLINE_VENTRICLES = (
    ((0.0, 6.0, -6.0), (1.8, 12.0, 8.0)),  # third ventricle
    ((0.0, 33.0, -46.0), (6.0, 4.0, 7.0)),  # fourth ventricle
)
DEEP_GREY = (
    ((12.0, -14.0, 8.0), (5.0, 8.0, 8.0), 0.0),  # caudate head
    ((21.0, -2.0, -2.0), (6.0, 14.0, 9.0), 15.0),  # lentiform nucleus
    ((10.0, 11.0, -1.0), (8.0, 11.0, 9.0), 0.0),  # thalamus
)
PETROUS = ((29.0, 6.0, 0.0), (26.0, 6.0, 7.0), -45.0)
"""Petrous ridge, centred 4 mm above the middle-fossa floor (z is added at run time)."""


class Tissue(IntEnum):
    """Tissue codes of :attr:`PhantomStudy.tissue`."""

    AIR = 0
    SOFT = 1
    FAT = 2
    BONE = 3
    DIPLOE = 4
    CSF = 5
    GREY = 6
    WHITE = 7
    VENTRICLE = 8
    DEEP_GREY = 9


Painter = Callable[[np.ndarray, Tissue, float | np.ndarray], None]
"""``put(mask, tissue, hu)`` of :func:`head_fields`: paints a tissue and its HU (a number or a per-pixel array)."""


@dataclass(eq=False)
class Fields:
    """Per-pixel quantities of one plane that lesions and mimics are placed with."""

    depth: np.ndarray  # mm below the outer skull surface (negative outside the skull)
    skull: np.ndarray  # local skull thickness in mm; the inner table ends at depth == skull
    above_floor: np.ndarray  # reference mm above the skull base
    cranium: np.ndarray  # inside the cranial cavity
    brain_depth: np.ndarray  # mm below the brain surface (negative in the extra-axial CSF)
    ux: np.ndarray  # unit direction from the head centre (ellipsoid-normalised)
    uy: np.ndarray
    uz: np.ndarray
    sulci: np.ndarray  # sulcal CSF
    cisterns: np.ndarray  # basal cisterns, sylvian and interhemispheric fissures
    tissue: np.ndarray  # Tissue codes, uint8
    hu: np.ndarray  # float32 HU of the normal anatomy

    def sub(self, box: tuple[slice, slice]) -> Fields:
        return Fields(*(getattr(self, name)[box] for name in self.__dataclass_fields__))


def floor_height(head: HeadParams, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Reference z (mm) of the skull base under each point: anterior, middle and posterior fossae.

    The fossae are steps from front to back, each a bowl rising towards the sides.
    """
    ant, mid, post = (np.float32(v * REF_C) for v in head.floor)
    steps = ant + (mid - ant) * sigmoid((y + 35.0) / 4.0) + (post - mid) * sigmoid((y - 8.0) / 4.0)
    return steps + np.float32(14.0) * (x / np.float32(60.0)) ** 2


def _shell(head: HeadParams, p: PlaneCoords) -> tuple[np.ndarray, ...]:
    """Depth below the outer skull surface along the ray from the centre, and the ray direction."""
    a, b, c = (np.float32(v) for v in head.axes)
    knee = np.float32(-0.45) * c
    lz = np.where(p.lz < knee, knee + (p.lz - knee) * np.float32(0.5), p.lz)
    qx, qy, qz = p.lx / a, p.ly / b, lz / c
    rho = np.sqrt(qx * qx + qy * qy + qz * qz) + np.float32(1e-6)
    ux, uy, uz = qx / rho, qy / rho, qz / rho
    lin = head.shape_linear.astype(np.float32)
    quad = head.shape_quadratic.astype(np.float32)
    h = lin[0] * ux + lin[1] * uy + lin[2] * uz
    u = (ux, uy, uz)
    for i in range(3):
        for j in range(3):
            h += quad[i, j] * u[i] * u[j]
    radius = np.sqrt(p.lx * p.lx + p.ly * p.ly + lz * lz)
    depth = radius * ((np.float32(1.0) + h) / rho - np.float32(1.0))
    return depth, ux, uy, uz


def head_fields(head: HeadParams, plane: Plane, diploe_waves: tuple[np.ndarray, np.ndarray] | None = None) -> Fields:
    """Evaluate the normal anatomy of one plane.

    Parameters
    ----------
    head : HeadParams
        The sampled head.
    plane : Plane
        Pixel coordinates of the plane.
    diploe_waves : tuple of numpy.ndarray or None
        Optional plane waves (see :func:`~inference.ich.phantoms.shapes.random_waves`) texturing the
        trabecular bone of the diploe.
    """
    p = plane.coords
    depth, ux, uy, uz = _shell(head, p)
    skull = np.float32(head.skull_mm) + np.float32(head.skull_occipital_extra_mm) * np.clip(uy, 0.0, 1.0)
    above_floor = p.z - floor_height(head, p.x, p.y)
    inside = depth >= skull
    cranium = inside & (above_floor > 0)
    gap = np.float32(head.csf_gap_mm)
    brain_depth = np.minimum(depth - skull, above_floor) - gap

    hu = np.full(p.x.shape, -1000.0, dtype=np.float32)
    tissue = np.zeros(p.x.shape, dtype=np.uint8)

    def put(mask: np.ndarray, code: Tissue, value: float | np.ndarray) -> None:
        tissue[mask] = code
        hu[mask] = value[mask] if isinstance(value, np.ndarray) else value

    scalp = (depth < 0) & (depth >= -head.scalp_mm)
    put(scalp, Tissue.SOFT, head.soft_hu)
    put(scalp & (depth < -1.2) & (depth > -head.scalp_mm + 1.2), Tissue.FAT, head.fat_hu)
    bone = (depth >= 0) & ~inside
    put(bone, Tissue.BONE, head.table_hu)
    diploe = bone & (depth > 0.3 * skull) & (depth < 0.68 * skull)
    tissue[diploe] = Tissue.DIPLOE
    hu[diploe] = head.diploe_hu
    if diploe_waves is not None and diploe.any():
        hu[diploe] += np.float32(45.0) * _texture_at(p, diploe, *diploe_waves)
    below = inside & ~cranium
    put(below, Tissue.SOFT, head.soft_hu)
    put(below & (above_floor > -4.5), Tissue.BONE, head.table_hu)

    put(cranium, Tissue.CSF, head.csf_hu)
    brain = cranium & (brain_depth >= 0)
    put(brain, Tissue.WHITE, head.white_hu)
    hw = np.float32(head.sulcal_halfwidth)
    sd = np.float32(head.sulcal_depth_mm)
    band = brain & (brain_depth < sd + head.cortex_mm)
    dist = np.full(p.x.shape, np.inf, dtype=np.float32)
    dist[band] = _sulcal_distance(head, p.x[band], p.y[band], p.z[band])
    cortical = (brain_depth < head.cortex_mm) | (dist < hw + head.cortex_mm)
    put(brain & cortical, Tissue.GREY, head.grey_hu)
    sulci = brain & (dist < hw * (1.0 - 0.6 * brain_depth / sd)) & (brain_depth < sd)
    cisterns = np.zeros_like(cranium)
    fissure = cranium & (np.abs(p.x) < 0.8 + 0.4 * gap) & (brain_depth < 45.0) & (p.z > -12.0)
    cisterns |= fissure
    _deep_structures(head, plane, put, cisterns, brain)
    put(sulci, Tissue.CSF, head.csf_hu)
    put(cisterns & cranium, Tissue.CSF, head.csf_hu)
    ventricles = _ventricles(head, plane)
    put(ventricles & cranium, Tissue.VENTRICLE, head.csf_hu)
    _skull_base_bones(head, plane, put, inside)

    near_table = (tissue == Tissue.GREY) | (tissue == Tissue.WHITE)
    hu[near_table] += np.float32(head.cupping_hu) * np.exp(-(depth[near_table] - skull[near_table]) / np.float32(head.cupping_mm))
    return Fields(depth, skull, above_floor, cranium, brain_depth, ux, uy, uz, sulci, cisterns & cranium, tissue, hu)


def _texture_at(p: PlaneCoords, mask: np.ndarray, k: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """:func:`~inference.ich.phantoms.shapes.texture` evaluated on the pixels of ``mask`` only (1-D)."""
    x, y, z = p.x[mask], p.y[mask], p.z[mask]
    out = np.zeros_like(x)
    for (kx, ky, kz), ph in zip(k.astype(np.float32), phase.astype(np.float32)):
        out += np.cos(kx * x + ky * y + kz * z + ph)
    mean: np.ndarray = out / np.float32(len(phase))
    return mean


def _sulcal_distance(head: HeadParams, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Approximate distance (mm) to the zero set of the folding field: |g| / |grad g|."""
    g = np.zeros_like(x)
    gx, gy, gz = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
    for (kx, ky, kz), ph in zip(head.sulcal_k.astype(np.float32), head.sulcal_phase.astype(np.float32)):
        arg = kx * x + ky * y + kz * z + ph
        g += np.cos(arg)
        s = np.sin(arg)
        gx -= kx * s
        gy -= ky * s
        gz -= kz * s
    distance: np.ndarray = np.abs(g) / (np.sqrt(gx * gx + gy * gy + gz * gz) + np.float32(1e-3))
    return distance


def _ventricles(head: HeadParams, plane: Plane) -> np.ndarray:
    """Lateral, third and fourth ventricles (union of ellipsoids, widened with atrophy)."""
    vs = head.ventricle_scale
    mask = np.zeros(plane.shape, dtype=bool)
    parts = [((sx * cx * (0.6 + 0.4 * vs), cy, cz), (ax * vs, ay * vs**0.5, az * vs), sx * yaw)
             for (cx, cy, cz), (ax, ay, az), yaw in LATERAL_VENTRICLE_PARTS for sx in (-1.0, 1.0)]
    parts += [(centre, (ax * vs, ay, az * vs**0.5), 0.0) for centre, (ax, ay, az) in MIDLINE_VENTRICLES]
    for centre, axes, yaw in parts:
        found = plane.region(centre, max(axes))
        if found is not None:
            box, sub = found
            mask[box] |= ellipsoid(sub, centre, axes, yaw) <= 1.0
    return mask


def _deep_structures(head: HeadParams, plane: Plane, put: Painter, cisterns: np.ndarray, brain: np.ndarray) -> None:
    """Deep grey nuclei (painted) and basal cisterns and sylvian fissures (added to ``cisterns``)."""
    deep = np.zeros(plane.shape, dtype=bool)
    for (cx, cy, cz), axes, yaw in DEEP_GREY:
        for sx in (-1.0, 1.0):
            centre = (sx * cx, cy, cz)
            found = plane.region(centre, max(axes))
            if found is not None:
                box, sub = found
                deep[box] |= ellipsoid(sub, centre, axes, sx * yaw) <= 1.0
    put(deep & brain, Tissue.DEEP_GREY, head.deep_grey_hu)
    widen = 1.0 + 0.25 * head.csf_gap_mm
    found = plane.region((0.0, 8.0, -26.0), 34.0)
    if found is not None:
        box, p = found
        ring = ellipsoid(p, (0.0, 10.0, -25.0), (12.0 * widen, 10.0 * widen, 9.0))
        cistern = (ring <= 1.0) & (ellipsoid(p, (0.0, 10.0, -25.0), (11.0, 9.0, 30.0)) > 1.0)
        cistern |= ellipsoid(p, (0.0, -9.0, -26.0), (10.0 * widen, 6.5 * widen, 5.0)) <= 1.0  # suprasellar
        cistern |= ellipsoid(p, (0.0, 23.0, -15.0), (6.0 * widen, 4.0 * widen, 6.0)) <= 1.0  # quadrigeminal
        cistern |= ellipsoid(p, (0.0, 0.0, -42.0), (10.0, 4.0 * widen, 9.0)) <= 1.0  # prepontine
        cistern |= ellipsoid(p, (0.0, 50.0, -52.0), (12.0, 7.0 * widen, 6.0)) <= 1.0  # cisterna magna
        cisterns[box] |= cistern
    for sx in (-1.0, 1.0):
        found = plane.region((sx * 38.0, -10.0, -12.0), 32.0)
        if found is not None:
            box, p = found
            # a cleft through (sx*18, -4) running laterally and forwards, 2-4 mm wide
            nx, ny = np.float32(0.28), np.float32(0.96)
            dist = np.abs(nx * (p.x - sx * 18.0) * sx + ny * (p.y + 4.0))
            cleft = (dist < 1.0 * widen) & (sx * p.x > 20.0) & (sx * p.x < 48.0) & (p.z > -24.0) & (p.z < -4.0)
            cisterns[box] |= cleft


def _skull_base_bones(head: HeadParams, plane: Plane, put: Painter, inside: np.ndarray) -> None:
    """Petrous ridges (dense bone across the skull base) and an air-filled sphenoid sinus."""
    (cx, cy, _), axes, yaw = PETROUS
    cz = head.floor[1] * REF_C + 4.0
    for sx in (-1.0, 1.0):
        centre = (sx * cx, cy, cz)
        found = plane.region(centre, max(axes))
        if found is not None:
            box, sub = found
            mask = np.zeros(plane.shape, dtype=bool)
            mask[box] = ellipsoid(sub, centre, axes, sx * yaw) <= 1.0
            put(mask & inside, Tissue.BONE, head.table_hu)
    centre = (0.0, -18.0, head.floor[1] * REF_C - 16.0)
    found = plane.region(centre, 12.0)
    if found is not None:
        box, sub = found
        mask = np.zeros(plane.shape, dtype=bool)
        mask[box] = ellipsoid(sub, centre, (11.0, 10.0, 8.0)) <= 1.0
        put(mask & inside, Tissue.AIR, -950.0)
