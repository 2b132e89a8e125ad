"""The image region the model attributes a finding to on one slice (what the SR outlines and the SEG fills).

The model gives, per slice, a class-activation map of "any hemorrhage" at the encoder's resolution
(:meth:`inference.ich.prediction.Prediction.saliency_map` resamples it to the image grid). That map is coarse
(8 x 8 for a 256 input) and spreads over skull and scalp, so it is not drawn as it is. The region rule:

1. keep the saliency inside the intracranial space only (the intracranial mask of the slice);
2. the *peak* is the most salient intracranial pixel;
3. candidate pixels are intracranial, of blood density (:data:`BLOOD_HU`, 40-100 HU: acute to subacute
   extravascular blood; clotted blood reads about 50-90 HU), the pixel and its 3 x 3 mean both
   (:data:`SMOOTHING_PIXELS`: a noisy pixel of brain alone does not count), and at least :data:`SALIENCY_FRACTION` of the peak's saliency (the neighbourhood
   the model points at);
4. the region is the largest 8-connected component of the candidates, holes filled, if it covers at least
   :data:`MIN_AREA_MM2` (smaller specks are noise, not a finding to outline);
5. its outline is the iso-line at 0.5 of the region mask traced by matplotlib's contour generator
   (``contourpy``, marching squares), closed, in DICOM image coordinates (PS3.3 C.18.6.1.2: column, row,
   origin at the top left corner of the top left pixel, so a pixel's centre is at +0.5);
6. its centre is the region's centroid (or, for a crescent whose centroid falls outside, the region pixel
   nearest to it); without a region the centre is the peak itself, so every finding still has a point.

This is the model's attribution intersected with a density rule, not a segmentation drawn or checked by a
radiologist; the SR, SEG and SC say so.
"""

from __future__ import annotations

from dataclasses import dataclass

import contourpy
import numpy as np
from scipy import ndimage

BLOOD_HU = (40.0, 100.0)
"""Hounsfield range of the candidate pixels (acute blood; brain parenchyma is 20-40 HU)."""

SMOOTHING_PIXELS = 3
"""The density is judged on the 3 x 3 mean (thin slices are noisy: single pixels of brain reach 40 HU)."""

SALIENCY_FRACTION = 0.5
"""Candidates need at least this fraction of the peak's saliency."""

MIN_AREA_MM2 = 4.0
"""Smallest region outlined (about 16 pixels at 0.5 mm); a smaller one leaves only the centre point."""

MAX_OUTLINE_POINTS = 256
"""An outline with more vertices is thinned evenly to about this many (the shape stays within a pixel)."""

_EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


@dataclass(frozen=True, eq=False)
class SliceRegion:
    """Where the model attributes a finding on one slice.

    Attributes
    ----------
    centre : tuple of float
        (column, row) in DICOM image coordinates: the region's centre, or the saliency peak without one.
    mask : numpy.ndarray or None
        bool [rows, cols]: the region's pixels; None when no region reached :data:`MIN_AREA_MM2`.
    outline : numpy.ndarray or None
        float [n, 2] closed polyline (first point repeated last), (column, row) image coordinates.
    area_mm2 : float or None
        The region's area (pixel count x Pixel Spacing); None without a region or without Pixel Spacing.
    """

    centre: tuple[float, float]
    mask: np.ndarray | None = None
    outline: np.ndarray | None = None
    area_mm2: float | None = None


def slice_region(
    hu: np.ndarray, saliency: np.ndarray, intracranial: np.ndarray, pixel_spacing: tuple[float, float] | None,
) -> SliceRegion | None:
    """The region of one slice by the rule of this module.

    Parameters
    ----------
    hu
        float [rows, cols] the slice in Hounsfield units.
    saliency
        float [rows, cols] the model's saliency resampled to the slice grid (any range).
    intracranial
        bool [rows, cols] the intracranial space of the slice.
    pixel_spacing
        (row spacing, column spacing) in mm (Pixel Spacing, PS3.3 C.7.6.2.1.1), or None when unknown.

    Returns
    -------
    SliceRegion or None
        None when the slice has no intracranial pixel with positive saliency (nothing to point at).
    """
    if hu.shape != saliency.shape or hu.shape != intracranial.shape:
        raise ValueError(f"hu {hu.shape}, saliency {saliency.shape} and intracranial {intracranial.shape} differ")
    inside = np.where(intracranial, saliency, -np.inf)
    peak = np.unravel_index(int(np.argmax(inside)), inside.shape)
    peak_value = float(inside[peak])
    if not np.isfinite(peak_value) or peak_value <= float(np.min(saliency)):
        return None
    peak_centre = (float(peak[1]) + 0.5, float(peak[0]) + 0.5)
    floor = float(np.min(saliency)) + SALIENCY_FRACTION * (peak_value - float(np.min(saliency)))
    candidates = intracranial & (saliency >= floor) & (hu >= BLOOD_HU[0]) & (hu <= BLOOD_HU[1])
    box = _extent(candidates, margin=SMOOTHING_PIXELS)
    if box is not None:  # the 3 x 3 mean where it matters only
        density = ndimage.uniform_filter(hu[box].astype(np.float32), size=SMOOTHING_PIXELS)  # image noise
        candidates[box] &= (density >= BLOOD_HU[0]) & (density <= BLOOD_HU[1])
    mask = _largest_component(candidates)
    pixel_area = pixel_spacing[0] * pixel_spacing[1] if pixel_spacing else None
    if mask is None or int(mask.sum()) * (pixel_area or 0.25) < MIN_AREA_MM2:
        return SliceRegion(centre=peak_centre)
    area = float(mask.sum()) * pixel_area if pixel_area else None
    return SliceRegion(centre=_centre(mask), mask=mask, outline=outline(mask), area_mm2=area)


def _extent(mask: np.ndarray, margin: int = 0) -> tuple[slice, slice] | None:
    """The bounding box of ``mask`` grown by ``margin`` pixels (clipped to the image), or None when empty."""
    rows, cols = np.nonzero(np.any(mask, axis=1))[0], np.nonzero(np.any(mask, axis=0))[0]
    if rows.size == 0:
        return None
    return (slice(max(int(rows[0]) - margin, 0), min(int(rows[-1]) + 1 + margin, mask.shape[0])),
            slice(max(int(cols[0]) - margin, 0), min(int(cols[-1]) + 1 + margin, mask.shape[1])))


def _largest_component(candidates: np.ndarray) -> np.ndarray | None:
    box = _extent(candidates)  # work on the extent only
    if box is None:
        return None
    labels, _ = ndimage.label(candidates[box], structure=_EIGHT_CONNECTED)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    mask = np.zeros(candidates.shape, dtype=bool)
    mask[box] = ndimage.binary_fill_holes(labels == int(np.argmax(sizes)))
    return mask


def _centre(mask: np.ndarray) -> tuple[float, float]:
    rows, cols = np.nonzero(mask)
    row, col = float(rows.mean()), float(cols.mean())
    if not mask[int(round(row)), int(round(col))]:
        nearest = int(np.argmin((rows - row) ** 2 + (cols - col) ** 2))
        row, col = float(rows[nearest]), float(cols[nearest])
    return col + 0.5, row + 0.5


def outline(mask: np.ndarray) -> np.ndarray:
    """The closed outer boundary of ``mask`` as float [n, 2] (column, row) DICOM image coordinates.

    The 0.5 iso-line of the mask (marching squares) passes half-way between a region pixel's centre and
    its outside neighbour's, i.e. along the pixel edges' mid-points; the longest closed line is the outer
    boundary of a hole-free region.
    """
    padded = np.pad(mask.astype(np.float64), 1)
    lines = [np.asarray(line) for line in contourpy.contour_generator(z=padded, name="serial").lines(0.5)]
    line = max(lines, key=len)
    points = np.asarray(line, dtype=np.float64) - 1.0 + 0.5  # undo the padding; pixel centres at +0.5
    if len(points) > MAX_OUTLINE_POINTS:
        step = int(np.ceil(len(points) / MAX_OUTLINE_POINTS))
        points = points[::step]
    if not np.array_equal(points[0], points[-1]):
        points = np.vstack([points, points[:1]])
    return points
