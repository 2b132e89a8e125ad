"""Tissue and susceptibility maps of a synthetic head on a fine grid (the object the SWI phantom images).

The head is drawn in patient millimetres (LPS: +x left, +y posterior, +z head) around the brain centre and
sampled on a fine grid whose axes are ``[z, y, x]`` with B0 along +z. Every voxel carries a tissue label;
the physics in :mod:`inference.cmb.phantom.physics` turns labels into proton density, T1, T2* and
susceptibility. Lesions and veins are drawn as geometric sources only: their appearance on magnitude and
phase (blooming, dipole pattern, through-slice continuity of veins) is left to the physics.

Compartments follow the CMB rating scales (MARS, Gregoire et al. 2009, Neurology 73:1759): *lobar*
(cortex and subcortical white matter), *deep* (basal ganglia, thalamus, internal capsule, periventricular
white matter) and *infratentorial* (brainstem, cerebellum). The same normalised-ellipsoid definitions are
used by :func:`inference.cmb.location.classify_location`, so on phantoms the location truth is by
construction; on real brains it is a geometric approximation of an atlas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from inference.cmb.location import LocationClass, normalised_location


class Tissue(IntEnum):
    """Tissue labels of the fine grid."""

    AIR = 0
    SCALP = 1
    BONE = 2
    CSF = 3
    GREY = 4
    WHITE = 5
    DEEP_GREY = 6
    VEIN = 7
    MICROBLEED = 8
    CALCIFICATION = 9
    SINUS_AIR = 10


@dataclass(frozen=True)
class Grid:
    """A regular grid: ``shape`` ``[z, y, x]``, ``spacing`` in mm, ``origin`` = patient mm of voxel 0."""

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]

    def axes_mm(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Patient coordinates (z, y, x) of voxel centres along each axis."""
        return tuple(  # type: ignore[return-value]
            self.origin[i] + self.spacing[i] * np.arange(self.shape[i], dtype=np.float32) for i in range(3))


@dataclass(frozen=True)
class Lesion:
    """A spherical susceptibility source: a microbleed (paramagnetic) or a calcification (diamagnetic)."""

    kind: str                      # "microbleed" | "calcification"
    centre_mm: tuple[float, float, float]   # patient (x, y, z)
    diameter_mm: float
    chi_ppm: float
    location: LocationClass


@dataclass(frozen=True)
class Vein:
    """A tube of deoxygenated blood along a polyline of patient (x, y, z) points."""

    points_mm: np.ndarray          # (n, 3)
    radius_mm: float
    chi_ppm: float


@dataclass
class HeadModel:
    """Geometry of one synthetic head: brain ellipsoid semi-axes, lesions, veins, sinuses."""

    brain_axes_mm: tuple[float, float, float]           # (x, y, z) semi-axes
    lesions: list[Lesion] = field(default_factory=list)
    veins: list[Vein] = field(default_factory=list)
    sinuses: list[tuple[tuple[float, float, float], tuple[float, float, float]]] = field(default_factory=list)
    deep_chi_ppm: float = 0.06


def _ellipsoid(x: np.ndarray, y: np.ndarray, z: np.ndarray, centre: tuple[float, float, float],
               axes: tuple[float, float, float]) -> np.ndarray:
    return (((x - centre[0]) / axes[0]) ** 2 + ((y - centre[1]) / axes[1]) ** 2
            + ((z - centre[2]) / axes[2]) ** 2)


def _tube_mask(grid: Grid, points: np.ndarray, radius: float) -> tuple[tuple[slice, ...], np.ndarray]:
    """Voxels within ``radius`` of a polyline, as a bounding-box slice and a boolean mask inside it."""
    zs, ys, xs = grid.axes_mm()
    lo = points.min(axis=0) - radius - 1.0
    hi = points.max(axis=0) + radius + 1.0
    box = []
    for axis, coords, (a, b) in zip((0, 1, 2), (zs, ys, xs), ((lo[2], hi[2]), (lo[1], hi[1]), (lo[0], hi[0]))):
        i0 = int(np.clip(np.searchsorted(coords, a), 0, grid.shape[axis]))
        i1 = int(np.clip(np.searchsorted(coords, b), 0, grid.shape[axis]))
        box.append(slice(i0, max(i0, i1)))
    z, y, x = np.meshgrid(zs[box[0]], ys[box[1]], xs[box[2]], indexing="ij")
    best = np.full(z.shape, np.inf, dtype=np.float32)
    for a, b in zip(points[:-1], points[1:]):
        d = b - a
        length2 = float(d @ d) or 1e-9
        t = np.clip(((x - a[0]) * d[0] + (y - a[1]) * d[1] + (z - a[2]) * d[2]) / length2, 0.0, 1.0)
        dist2 = (x - a[0] - t * d[0]) ** 2 + (y - a[1] - t * d[1]) ** 2 + (z - a[2] - t * d[2]) ** 2
        np.minimum(best, dist2, out=best)
    return tuple(box), best <= radius * radius


def label_map(model: HeadModel, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Rasterise the head on ``grid``.

    Returns
    -------
    labels : np.ndarray
        uint8 ``[z, y, x]`` of :class:`Tissue` values.
    chi : np.ndarray
        float32 ``[z, y, x]`` susceptibility in ppm relative to white matter; lesion, vein, deep-grey and air
        values come from ``model``, bone is -2 ppm.
    """
    zs, ys, xs = grid.axes_mm()
    z, y, x = np.meshgrid(zs, ys, xs, indexing="ij", sparse=True)
    ax, ay, az = model.brain_axes_mm
    brain_r = _ellipsoid(x, y, z, (0.0, 0.0, 0.0), (ax, ay, az))
    labels = np.full(grid.shape, Tissue.AIR, dtype=np.uint8)
    labels[_ellipsoid(x, y, z, (0, 0, 0), (ax + 14, ay + 14, az + 14)) <= 1] = Tissue.SCALP
    labels[_ellipsoid(x, y, z, (0, 0, 0), (ax + 9, ay + 9, az + 9)) <= 1] = Tissue.BONE
    labels[_ellipsoid(x, y, z, (0, 0, 0), (ax + 2.5, ay + 2.5, az + 2.5)) <= 1] = Tissue.CSF
    labels[brain_r <= 1] = Tissue.GREY
    inner = _ellipsoid(x, y, z, (0, 0, 0), (ax - 3.5, ay - 3.5, az - 3.5)) <= 1
    labels[inner] = Tissue.WHITE
    for side in (-1.0, 1.0):   # lentiform nuclei and thalami
        labels[_ellipsoid(x, y, z, (side * 0.28 * ax, -0.08 * ay, 0.05 * az),
                          (0.12 * ax, 0.16 * ay, 0.14 * az)) <= 1] = Tissue.DEEP_GREY
        labels[_ellipsoid(x, y, z, (side * 0.12 * ax, 0.12 * ay, 0.02 * az),
                          (0.09 * ax, 0.12 * ay, 0.11 * az)) <= 1] = Tissue.DEEP_GREY
        labels[_ellipsoid(x, y, z, (side * 0.13 * ax, -0.02 * ay, 0.22 * az),
                          (0.05 * ax, 0.25 * ay, 0.08 * az)) <= 1] = Tissue.CSF   # lateral ventricle
    chi = np.zeros(grid.shape, dtype=np.float32)
    chi[labels == Tissue.DEEP_GREY] = model.deep_chi_ppm
    chi[labels == Tissue.GREY] = 0.02
    chi[labels == Tissue.CSF] = -0.03
    chi[labels == Tissue.BONE] = -2.0
    chi[labels == Tissue.AIR] = 0.0           # outside the head: shimmed away, no source
    for centre, axes in model.sinuses:
        sinus = _ellipsoid(x, y, z, centre, axes) <= 1
        labels[sinus] = Tissue.SINUS_AIR
        chi[sinus] = 9.4                      # air relative to tissue
    for vein in model.veins:
        box, mask = _tube_mask(grid, vein.points_mm, vein.radius_mm)
        inside = mask & (labels[box] != Tissue.SINUS_AIR)
        labels[box][inside] = Tissue.VEIN
        chi[box][inside] = vein.chi_ppm
    for lesion in model.lesions:
        cx, cy, cz = lesion.centre_mm
        r = lesion.diameter_mm / 2
        box, mask = _tube_mask(grid, np.array([[cx, cy, cz], [cx, cy, cz]], dtype=np.float32), r)
        tissue = Tissue.MICROBLEED if lesion.kind == "microbleed" else Tissue.CALCIFICATION
        labels[box][mask] = tissue
        chi[box][mask] = lesion.chi_ppm
    return labels, chi


def place_in_compartment(rng: np.random.Generator, axes: tuple[float, float, float],
                         location: LocationClass) -> tuple[float, float, float]:
    """A random patient (x, y, z) inside the brain whose location class is ``location`` (rejection sampling)."""
    ax, ay, az = axes
    for _ in range(10_000):
        u = rng.uniform(-0.92, 0.92, size=3)
        point = (float(u[0] * ax), float(u[1] * ay), float(u[2] * az))
        # keep a margin from compartment borders, so that a fitted brain ellipsoid agrees with the truth
        probes = [u, u * 0.9, u * 1.1, u + (0, 0.07, 0), u - (0, 0.07, 0), u + (0, 0, 0.07), u - (0, 0, 0.07)]
        if np.linalg.norm(u) < 0.85 and all(normalised_location(p) is location for p in probes):
            return point
    raise RuntimeError(f"no point found for {location}")


def random_vein(rng: np.random.Generator, axes: tuple[float, float, float], z_range: tuple[float, float],
                ) -> Vein:
    """A smooth random vein: a medullary vein running towards the ventricles, or a cortical vein.

    Directions are drawn uniformly on the sphere, so some veins run along B0 (dark, round in each slice,
    continuous over many slices) and others across it (dipole phase pattern); all are 20-70 mm long.
    """
    ax, ay, az = axes
    z_lo, z_hi = z_range
    length = rng.uniform(20, 70)
    direction = rng.normal(size=3)
    if rng.random() < 0.35:
        direction[2] = rng.choice((-1, 1)) * rng.uniform(2.0, 4.0)    # many veins run head-foot
    direction /= np.linalg.norm(direction)
    start = np.array([rng.uniform(-0.7, 0.7) * ax, rng.uniform(-0.7, 0.7) * ay,
                      rng.uniform(max(-0.6 * az, z_lo), min(0.7 * az, z_hi))])
    n = 8
    points = [start]
    for _ in range(n):
        direction = direction + rng.normal(scale=0.15, size=3)
        direction /= np.linalg.norm(direction)
        points.append(points[-1] + direction * length / n)
    pts = np.array(points, dtype=np.float32)
    inside = (pts[:, 0] / ax) ** 2 + (pts[:, 1] / ay) ** 2 + (pts[:, 2] / az) ** 2 < 0.95
    keep = pts[: max(2, int(np.argmin(inside)) if not inside.all() else len(pts))]
    return Vein(points_mm=keep, radius_mm=float(rng.uniform(0.5, 1.4)), chi_ppm=float(rng.uniform(0.3, 0.5)))
