"""Stage 1 of the CMB detector: candidate screening meant to miss nothing.

Two detectors run inside the brain mask on the SWI composite (magnitude x phase mask), normalised to
the median brain intensity, and the union of their findings goes on to the classifier (Liu et al. 2019,
NeuroImage 198:271 use the 3D FRST; the threshold + shape branch follows the CMB screening of
Bian et al. 2013, NeuroImage Clin 2:282 and Kuijf et al. 2012, NeuroImage 59:2266):

- **FRST**: local maxima (within ``merge_mm``) of the 3D fast radial symmetry transform
  (:func:`inference.cmb.frst.frst_dark`, radii 1-5 mm) above ``frst_threshold``;
- **threshold + shape**: voxels darker than ``dark_ratio`` times their local background (Gaussian-weighted
  mean of the brain, sigma ``background_mm``), grouped into 26-connected components (of this dark mask
  and of its 3 x 3 in-plane opening, which detaches microbleeds from touching veins), kept when
  ``min_volume_mm3 <= volume <= max_volume_mm3`` (a sphere of 10 mm holds 524 mm^3), the extent across
  slices is at most ``max_z_extent_mm`` (veins run on over many slices) and the in-plane elongation
  (ratio of principal axes) is at most ``max_elongation``; the candidate point is the darkness-weighted
  centroid.

Points closer than ``merge_mm`` are merged (the one found by both detectors, then the darker, wins).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from inference.cmb.frst import frst_dark


@dataclass(frozen=True)
class ScreeningParams:
    """Thresholds of the screening stage (chosen on training phantoms for <= 2 % misses)."""

    frst_threshold: float = 0.004
    dark_ratio: float = 0.55
    background_mm: float = 6.0
    min_volume_mm3: float = 4.0
    max_volume_mm3: float = 700.0
    max_z_extent_mm: float = 14.0
    max_elongation: float = 4.0
    merge_mm: float = 3.0
    max_candidates: int = 400


@dataclass(frozen=True)
class Candidate:
    """One screened point: voxel ``[k, j, i]``, which detectors found it, and its screening features."""

    voxel: tuple[int, int, int]
    by_frst: bool
    by_threshold: bool
    frst: float
    darkness: float          # 1 - (intensity / local background) at the point


def normalise(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Image divided by its median inside the mask."""
    median = float(np.median(image[mask])) if mask.any() else 1.0
    return (image / (median or 1.0)).astype(np.float32)


def local_background(image: np.ndarray, mask: np.ndarray, spacing_mm: tuple[float, float, float],
                     sigma_mm: float) -> np.ndarray:
    """Gaussian-weighted mean of the image over the mask (normalised convolution)."""
    sigma = [sigma_mm / s for s in spacing_mm]
    num = ndimage.gaussian_filter(np.where(mask, image, 0).astype(np.float32), sigma)
    den = ndimage.gaussian_filter(mask.astype(np.float32), sigma)
    return np.where(den > 1e-3, num / np.maximum(den, 1e-3), 1.0).astype(np.float32)


def _threshold_points(ratio: np.ndarray, mask: np.ndarray, spacing: tuple[float, float, float],
                      p: ScreeningParams) -> list[tuple[int, int, int]]:
    dark = (ratio < p.dark_ratio) & mask
    # the components of the dark mask, and of its in-plane opening: the opening cuts the thin veins that
    # touch a microbleed and would otherwise fail the shape rules together with it
    opened = ndimage.binary_opening(dark, structure=np.ones((1, 3, 3), dtype=bool))
    points: list[tuple[int, int, int]] = []
    for part in (dark, opened):
        points += _component_points(part, ratio, spacing, p)
    return points


def _component_points(dark: np.ndarray, ratio: np.ndarray, spacing: tuple[float, float, float],
                      p: ScreeningParams) -> list[tuple[int, int, int]]:
    labels, n = ndimage.label(dark, structure=np.ones((3, 3, 3), dtype=bool))
    voxel_mm3 = float(np.prod(spacing))
    points = []
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        comp = labels[box] == index
        volume = comp.sum() * voxel_mm3
        z_extent = (box[0].stop - box[0].start) * spacing[0]
        if not (p.min_volume_mm3 <= volume <= p.max_volume_mm3) or z_extent > p.max_z_extent_mm:
            continue
        coords = np.argwhere(comp)[:, 1:] * np.asarray(spacing[1:])
        if len(coords) > 2:
            eig = np.linalg.eigvalsh(np.cov(coords.T) + np.eye(2) * spacing[1] ** 2 / 12)
            if np.sqrt(eig[-1] / eig[0]) > p.max_elongation:
                continue
        weight = np.where(comp, 1.0 - ratio[box], 0.0)
        centre = ndimage.center_of_mass(weight)
        points.append(tuple(int(round(c)) + s.start for c, s in zip(centre, box)))
    return points


def screen(swi: np.ndarray, mask: np.ndarray, spacing_mm: tuple[float, float, float],
           params: ScreeningParams | None = None) -> list[Candidate]:
    """Candidate microbleeds ``[k, j, i]`` of an SWI (or magnitude) volume inside ``mask``."""
    p = params or ScreeningParams()
    image = normalise(swi, mask)
    ratio = image / np.maximum(local_background(image, mask, spacing_mm, p.background_mm), 1e-3)
    response = frst_dark(image, spacing_mm, mask)
    footprint = [max(1, int(round(p.merge_mm / s))) * 2 + 1 for s in spacing_mm]
    peaks = (response == ndimage.maximum_filter(response, size=footprint)) & (response > p.frst_threshold) & mask
    frst_points = [(int(q[0]), int(q[1]), int(q[2])) for q in np.argwhere(peaks)]
    thr_points = _threshold_points(ratio, mask, spacing_mm, p)
    scale = np.asarray(spacing_mm)
    found: list[tuple[tuple[int, int, int], bool, bool]] = (
        [(q, False, True) for q in thr_points] + [(q, True, False) for q in frst_points])
    found.sort(key=lambda item: ratio[item[0]])
    kept: list[list[Any]] = []
    for point, f, t in found:
        for entry in kept:
            if np.linalg.norm((np.subtract(point, entry[0])) * scale) <= p.merge_mm + 1e-6:
                entry[1] |= f
                entry[2] |= t
                break
        else:
            kept.append([point, f, t])
    kept.sort(key=lambda e: (not (e[1] and e[2]), ratio[e[0]]))
    return [Candidate(voxel=tuple(e[0]), by_frst=e[1], by_threshold=e[2], frst=float(response[e[0]]),
                      darkness=float(1.0 - ratio[e[0]])) for e in kept[: p.max_candidates]]
