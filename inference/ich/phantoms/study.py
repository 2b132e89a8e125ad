"""Deterministic generation of one synthetic head-CT study with hemorrhage labels.

``generate_study(seed, ...)`` draws, from independent streams of ``numpy.random.SeedSequence(seed)``:
the head, the scan (slice count, thickness, gantry tilt, field of view), the lesions, the look-alikes and
the noise; then renders each slice as the mean of sub-planes across the slice thickness (partial volume
along z), adds streaks, in-plane blur and noise, and derives the labels from the blood it drew.

A slice is positive for a subtype when at least :data:`MIN_AREA_MM2` of it is that blood (more than half
a voxel's thickness); the "any" column is the OR of the subtypes, the study labels the OR over slices.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np

from inference.ich.labels import LABELS
from inference.ich.phantoms.anatomy import Tissue, head_fields
from inference.ich.phantoms.geometry import Geometry, make_geometry
from inference.ich.phantoms.head import HeadFrame, HeadParams, Plane, sample_head
from inference.ich.phantoms.lesions import ABBREVIATIONS, SUBTYPES, Lesion, sample_lesion
from inference.ich.phantoms.mimics import STREAK, Mimic, Streaks, sample_mimics
from inference.ich.phantoms.noise import blur, correlated_noise, noise_sigma
from inference.ich.phantoms.shapes import random_waves

logger = logging.getLogger(__name__)

MIN_AREA_MM2 = 8.0
SUB_PLANES = 2
THICKNESSES = (2.5, 3.0, 3.75, 5.0)
SUBTYPE_WEIGHTS = np.array([0.1, 0.25, 0.15, 0.25, 0.25])
"""Relative frequency of epidural, intraparenchymal, intraventricular, subarachnoid, subdural."""
REQUESTS = ("random", "any", "none", *ABBREVIATIONS)
HU_RANGE = (-1024, 3071)


@dataclass(frozen=True, eq=False)
class PhantomStudy:
    """A rendered phantom: HU volume, labels, geometry and what was drawn.

    Attributes
    ----------
    seed : int
        The seed it was generated from.
    request : str
        The subtype request: random, any, none or an abbreviation (EDH, SDH, SAH, IPH, IVH).
    hu : numpy.ndarray
        int16 [slices, rows, cols], Hounsfield units, slices foot to head.
    slice_labels : numpy.ndarray
        uint8 [slices, 6] in the order of :data:`inference.ich.labels.LABELS`.
    study_labels : numpy.ndarray
        uint8 [6].
    geometry : Geometry
        Pixel spacing, thickness, tilt, orientation and positions.
    tissue : numpy.ndarray
        uint8 [slices, rows, cols] :class:`~inference.ich.phantoms.anatomy.Tissue` codes of the mid-slice anatomy.
    lesion_mask : numpy.ndarray
        uint8 [slices, rows, cols], bit ``i`` set where subtype ``SUBTYPES[i]`` fills more than half of the voxel.
    mimic_mask : numpy.ndarray
        uint8 [slices, rows, cols], bits of :mod:`inference.ich.phantoms.mimics`.
    lesions, mimics : tuple of dict
        Descriptions of the lesions and look-alikes drawn.
    """

    seed: int
    request: str
    hu: np.ndarray
    slice_labels: np.ndarray
    study_labels: np.ndarray
    geometry: Geometry
    tissue: np.ndarray
    lesion_mask: np.ndarray
    mimic_mask: np.ndarray
    lesions: tuple[dict[str, object], ...]
    mimics: tuple[dict[str, object], ...]

    classes: tuple[str, ...] = LABELS

    @property
    def n_slices(self) -> int:
        return int(self.hu.shape[0])


def resolve_request(request: str | None, rng: np.random.Generator) -> list[str]:
    """Subtypes (full names) to draw for a request; ``random`` is negative half of the time."""
    request = "random" if request is None else request
    if request in ABBREVIATIONS.values():
        return [request]
    if request.upper() in ABBREVIATIONS:
        return [ABBREVIATIONS[request.upper()]]
    if request == "none":
        return []
    if request == "random":
        if rng.uniform() < 0.5:
            return []
    elif request != "any":
        raise ValueError(f"subtype must be one of {', '.join(REQUESTS)} or a subtype name, got {request!r}")
    count = int(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1]))
    chosen = rng.choice(len(SUBTYPES), size=count, replace=False, p=SUBTYPE_WEIGHTS / SUBTYPE_WEIGHTS.sum())
    return [SUBTYPES[i] for i in sorted(chosen)]


def _scan_geometry(rng: np.random.Generator, head: HeadParams, n_slices: int | None, size: int,
                   gantry_tilt: float | None) -> Geometry:
    n = int(rng.integers(20, 61)) if n_slices is None else int(n_slices)
    coverage = rng.uniform(125.0, 150.0)
    thickness = min(THICKNESSES, key=lambda t: abs(t - coverage / n))
    tilt = (0.0 if rng.uniform() < 0.5 else rng.uniform(8.0, 25.0)) if gantry_tilt is None else float(gantry_tilt)
    fov = max(rng.uniform(220.0, 250.0), 2.0 * (float(np.max(head.axes)) + head.scalp_mm + 18.0))
    normal = np.array([0.0, math.sin(math.radians(tilt)), math.cos(math.radians(tilt))])
    middle = float(normal @ head.centre) + 0.1 * head.axes[2] + rng.uniform(-5.0, 5.0)
    first_z = (middle - (n - 1) * thickness / 2.0) / math.cos(math.radians(tilt))
    return make_geometry(n, size, fov, thickness, tilt, first_z)


def _place(subtype: str, rng: np.random.Generator, head: HeadParams, frame: HeadFrame) -> Lesion:
    """Draw a lesion whose anchor lies inside the scanned range (best of a few tries otherwise)."""
    n = frame.geometry.n_slices
    low, high = (1.5, n - 2.5) if n >= 6 else (0.0, n - 1.0)

    def miss(lesion: Lesion) -> float:
        index = frame.index_of(lesion.centre)
        return max(low - index, index - high, 0.0)

    best = sample_lesion(subtype, rng, head)
    best_miss = miss(best)
    for _ in range(39):
        if best_miss == 0.0:
            break
        lesion = sample_lesion(subtype, rng, head)
        lesion_miss = miss(lesion)
        if lesion_miss < best_miss:
            best, best_miss = lesion, lesion_miss
    return best


def generate_study(seed: int, subtype: str | None = None, n_slices: int | None = None, size: int = 512,
                   gantry_tilt: float | None = None) -> PhantomStudy:
    """Generate one phantom study, the same for the same arguments.

    Parameters
    ----------
    seed : int
        Non-negative seed.
    subtype : str or None
        ``random`` (default: negative half of the time), ``any`` (at least one bleed), ``none``
        (negative), an abbreviation EDH/SDH/SAH/IPH/IVH or a subtype name (only that subtype).
    n_slices : int or None
        Number of slices (random 20-60 when None); the thickness (2.5-5 mm) follows from it.
    size : int
        Rows and columns (512 or smaller).
    gantry_tilt : float or None
        Degrees; random (0 half of the time, else 8-25) when None.
    """
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    start = time.perf_counter()
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)]
    head_rng, scan_rng, lesion_rng, mimic_rng, noise_rng = streams
    head = sample_head(head_rng)
    diploe_waves = random_waves(head_rng, 4, (2.0, 6.0))
    geometry = _scan_geometry(scan_rng, head, n_slices, size, gantry_tilt)
    frame = HeadFrame(geometry, head)
    mimics = sample_mimics(mimic_rng, head)
    streaks = Streaks.sample(mimic_rng)
    base_sigma = float(noise_rng.uniform(2.5, 5.0))
    wanted = resolve_request(subtype, lesion_rng)
    request = "random" if subtype is None else subtype

    for attempt in range(4):
        lesions = [_place(name, lesion_rng, head, frame) for name in wanted]
        hu, tissue, lesion_mask, mimic_mask = _render(frame, lesions, mimics, streaks, diploe_waves, base_sigma, noise_rng)
        slice_labels = _labels(lesion_mask, geometry)
        missing = [name for name in wanted if not slice_labels[:, 1 + SUBTYPES.index(name)].any()]
        if not missing:
            break
        logger.info("phantom seed %d: %s not visible on attempt %d, drawing again", seed, ", ".join(missing), attempt)
    study_labels = slice_labels.max(axis=0)
    logger.debug("phantom seed %d rendered in %.2f s", seed, time.perf_counter() - start)
    return PhantomStudy(
        seed=seed, request=request, hu=hu, slice_labels=slice_labels, study_labels=study_labels,
        geometry=geometry, tissue=tissue, lesion_mask=lesion_mask, mimic_mask=mimic_mask,
        lesions=tuple(lesion.describe() for lesion in lesions), mimics=tuple(m.describe() for m in mimics),
    )


def _labels(lesion_mask: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Per-slice labels [slices, 6] from the lesion bit mask."""
    min_pixels = MIN_AREA_MM2 / geometry.pixel_area_mm2()
    labels = np.zeros((lesion_mask.shape[0], len(LABELS)), dtype=np.uint8)
    for i, name in enumerate(SUBTYPES):
        area = ((lesion_mask >> i) & 1).reshape(lesion_mask.shape[0], -1).sum(axis=1)
        labels[:, LABELS.index(name)] = area >= min_pixels
    labels[:, LABELS.index("any")] = labels[:, 1:].max(axis=1)
    return labels


def _render(frame: HeadFrame, lesions: list[Lesion], mimics: list[Mimic], streaks: Streaks,
            diploe_waves: tuple[np.ndarray, np.ndarray], base_sigma: float,
            noise_rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    geometry, head = frame.geometry, frame.head
    shape = (geometry.n_slices, geometry.rows, geometry.cols)
    hu_out = np.empty(shape, dtype=np.int16)
    tissue_out = np.empty(shape, dtype=np.uint8)
    lesion_out = np.zeros(shape, dtype=np.uint8)
    mimic_out = np.zeros(shape, dtype=np.uint8)
    offsets = [((i + 0.5) / SUB_PLANES - 0.5) * geometry.slice_thickness for i in range(SUB_PLANES)]
    pixel_mm = geometry.pixel_spacing[0]
    for k in range(geometry.n_slices):
        acc = np.zeros(shape[1:], dtype=np.float32)
        fractions = np.zeros((len(SUBTYPES), *shape[1:]), dtype=np.float32)
        for i, offset in enumerate(offsets):
            plane = Plane.of(frame, k, offset)
            fields = head_fields(head, plane, diploe_waves)
            hu = fields.hu
            if i == SUB_PLANES // 2:
                tissue_out[k] = fields.tissue
            for mimic in mimics:
                found = plane.region(mimic.centre, mimic.radius)
                if found is not None:
                    box, coords = found
                    mask = mimic.render(head, fields.sub(box), coords)
                    hu[box][mask] = mimic.hu
                    mimic_out[k][box][mask] |= mimic.bit
            for lesion in lesions:
                found = plane.region(lesion.centre, lesion.radius)
                if found is None:
                    continue
                box, coords = found
                mask, blood, rim = lesion.render(head, fields.sub(box), coords)
                if rim is not None:
                    hu[box][rim] = np.float32(head.white_hu - 9.0)
                hu[box][mask] = blood[mask]
                fractions[SUBTYPES.index(lesion.subtype)][box][mask] += 1.0 / SUB_PLANES
            acc += hu
        acc /= np.float32(SUB_PLANES)
        pattern = streaks.render(frame, k)
        if pattern is not None:
            inside = acc > -300.0
            acc[inside] += pattern[inside]
            mimic_out[k][inside & (np.abs(pattern) > 5.0)] |= STREAK
        for i in range(len(SUBTYPES)):
            lesion_out[k][fractions[i] > 0.5] |= np.uint8(1 << i)
        head_area = max(1, int(np.count_nonzero(tissue_out[k])))
        bone = np.count_nonzero((tissue_out[k] == Tissue.BONE) | (tissue_out[k] == Tissue.DIPLOE))
        sigma = noise_sigma(base_sigma, bone / head_area)
        image = blur(acc, pixel_mm) + correlated_noise(noise_rng, shape[1:], sigma, pixel_mm)
        hu_out[k] = np.clip(np.rint(image), *HU_RANGE).astype(np.int16)
    return hu_out, tissue_out, lesion_out, mimic_out
