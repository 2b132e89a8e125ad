"""The intracranial space of a head CT: the soft tissue enclosed by the skull, slice by slice.

Rule (HU thresholds and morphology, no learning), applied to each axial slice on a grid of about
:data:`WORK_PIXEL_MM` mm (block means) so that its cost does not depend on the matrix, then brought back to
the full matrix: its interior whole, a band of one work pixel either side of its edge cut to soft tissue
(so the edge follows the inner table at full resolution):

1. bone = HU >= :data:`BONE_HU` (cortical and most cancellous bone, dense calcification);
2. the bone is closed with a disc, bridging sutures, thin temporal squama and partial-volume gaps, so the
   skull ring is whole; this is done with each radius in :data:`CLOSING_MM` and the results are united (a
   small radius keeps the inner table exact over the vault, larger ones close the skull base, where the
   thin walls of the middle cranial fossa and the air cells leave gaps);
3. what the closed ring encloses (hole filling) minus the ring itself, restricted to soft tissue
   (:data:`SOFT_TISSUE_HU`), is a candidate; holes inside it (a calcified falx, pineal or choroid plexus)
   are filled back in;
4. an opening with a disc of :data:`NECK_MM` mm cuts the narrow necks (the orbital fissures) that join the
   middle cranial fossa to an orbit, so that each part is judged on its own;
5. each enclosed region is kept when it is big enough (:data:`MIN_REGION_CM2`), lies deep in the head
   (more than half of it at least :data:`MIN_DEPTH_MM` from the skin, the edge of HU > :data:`HEAD_HU`; this
   drops the temporalis that the zygomatic arch encloses) and reads like brain and CSF rather than an
   orbit: at most :data:`MAX_FAT_FRACTION` of it below :data:`FAT_HU` and more than half of it at least
   :data:`MIN_MEDIAN_HU` (median rules, counted without sorting; they differ from a median only when the two
   middle values straddle the limit).

A slice whose skull ring is open (the vertex cap, below the foramen magnum, a craniectomy) has no enclosed
region and so an empty mask: nothing there can be called intracranial. That is intended: such slices must
not carry a finding on their own. The mask is the intracranial *space* (brain, CSF, blood, the inner
side of the dura); extra-axial blood against the inner table is inside it.

Speed: a volume is processed as one stack (in-plane structures, so every step still acts slice by slice),
cropped to the head's box; only the edge band of the mask is read at full resolution
(``benchmarks/intracranial.py`` times it against an earlier version and counts differing voxels).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

BONE_HU = 250.0
CLOSING_MM = (3.0, 6.0, 10.0)
SOFT_TISSUE_HU = (-30.0, 150.0)
FAT_HU = -30.0
MAX_FAT_FRACTION = 0.15
MIN_MEDIAN_HU = 5.0
MIN_REGION_CM2 = 4.0
NECK_MM = 2.0
HEAD_HU = -300.0
MIN_DEPTH_MM = 15.0
WORK_PIXEL_MM = 2.0
BOX_MARGIN_BLOCKS = 3


_CROSS = np.pad(ndimage.generate_binary_structure(2, 1)[None], ((1, 1), (0, 0), (0, 0)))
"""4-connectivity within a slice, none across slices (scipy's 2D default, on a stack)."""


def _disc(radius: int) -> np.ndarray:
    y, x = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    return np.asarray(x * x + y * y <= radius * radius)[None]


def _work_factor(pixel_spacing_mm: Sequence[float]) -> int:
    """Integer down-sampling factor that brings the finer pixel side to about WORK_PIXEL_MM."""
    return max(1, int(round(WORK_PIXEL_MM / max(min(float(pixel_spacing_mm[0]), float(pixel_spacing_mm[1])), 1e-3))))


def _block_mean(stack: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return stack
    n, rows, cols = stack.shape[0], (stack.shape[1] // factor) * factor, (stack.shape[2] // factor) * factor
    trimmed = stack[:, :rows, :cols]
    return np.asarray(trimmed.reshape(n, rows // factor, factor, cols // factor, factor).mean(axis=(2, 4)))


def _row_distance(features: np.ndarray) -> np.ndarray:
    """float32 distance (pixels) along each row to the nearest feature (True) of that row; inf where none."""
    columns = np.arange(features.shape[-1], dtype=np.float32)
    previous = np.maximum.accumulate(np.where(features, columns, -np.inf), axis=-1)
    following = np.minimum.accumulate(np.where(features, columns, np.inf)[..., ::-1], axis=-1)[..., ::-1]
    return np.asarray(np.minimum(columns - previous, following - columns), dtype=np.float32)


def _planar_edt(mask: np.ndarray, pixel_mm: float, reach_mm: float) -> np.ndarray:
    """In-plane Euclidean distance (mm) of each voxel of a [slices, rows, cols] stack to the nearest False,
    exact up to ``reach_mm`` and inf beyond (all the callers compare it with a limit within reach).

    ``d^2(y, x) = min over |dy| <= reach of dy^2 + r(y + dy, x)^2``, ``r`` the distance along the row: the
    same float64 values as :func:`scipy.ndimage.distance_transform_edt` times ``pixel_mm`` within reach, at
    a fraction of its cost for the short reaches used here.
    """
    row = _row_distance(~mask) ** 2
    reach = int(np.ceil(reach_mm / pixel_mm))  # rows a feature within reach_mm can be on (one spare is harmless)
    best = row.copy()
    for dy in range(1, reach + 1):
        best[:, dy:] = np.minimum(best[:, dy:], row[:, :-dy] + dy * dy)
        best[:, :-dy] = np.minimum(best[:, :-dy], row[:, dy:] + dy * dy)
    distance = np.sqrt(best.astype(np.float64)) * pixel_mm
    distance[distance > reach_mm] = np.inf
    return distance


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """``mask`` with its holes filled in each slice (what 4-connected background cannot reach from the slice's edge):
    one labelling of the background, as :func:`scipy.ndimage.binary_fill_holes` slice by slice."""
    background, _ = ndimage.label(~mask, structure=_CROSS)
    edge = np.concatenate([background[:, 0].ravel(), background[:, -1].ravel(), background[:, :, 0].ravel(),
                           background[:, :, -1].ravel()])
    outside = np.zeros(int(background.max()) + 1, dtype=bool)
    outside[edge] = True
    return np.asarray(mask | ~outside[background], dtype=bool)


def _enclosed_regions(hu: np.ndarray, pixel_mm: float) -> np.ndarray:
    bone = hu >= BONE_HU
    margin = int(np.ceil(max(CLOSING_MM) / pixel_mm)) + 2
    pad = ((0, 0), (margin, margin), (margin, margin))
    distance_to_bone = _planar_edt(~np.pad(bone, pad), pixel_mm, max(CLOSING_MM))
    soft = (hu >= SOFT_TISSUE_HU[0]) & (hu <= SOFT_TISSUE_HU[1])
    enclosed = np.zeros(hu.shape, dtype=bool)
    for closing_mm in CLOSING_MM:
        grown = distance_to_bone <= closing_mm
        ring = (_planar_edt(grown, pixel_mm, closing_mm) > closing_mm)[:, margin:-margin, margin:-margin]
        enclosed |= _fill_holes(ring) & ~ring
    head = _fill_holes(hu > HEAD_HU)
    depth = _planar_edt(head, pixel_mm, MIN_DEPTH_MM)
    return _plausible_regions(hu, enclosed & soft, depth, pixel_mm)


def _plausible_regions(hu: np.ndarray, enclosed: np.ndarray, depth: np.ndarray, pixel_mm: float) -> np.ndarray:
    inside = _fill_holes(enclosed)
    neck = max(1, int(round(NECK_MM / pixel_mm)))
    opened = ndimage.binary_opening(inside, structure=_disc(neck))
    labels, count = ndimage.label(opened, structure=_CROSS)
    if count == 0:
        return np.asarray(opened, dtype=bool)
    flat = labels.ravel()
    size = np.bincount(flat, minlength=count + 1)

    def share(condition: np.ndarray) -> np.ndarray:
        return np.bincount(flat, weights=condition.ravel(), minlength=count + 1) / np.maximum(size, 1)

    min_pixels = MIN_REGION_CM2 * 100.0 / (pixel_mm * pixel_mm)
    keep = ((size >= min_pixels) & (share(depth >= MIN_DEPTH_MM) > 0.5) & (share(hu < FAT_HU) <= MAX_FAT_FRACTION)
            & (share(hu >= MIN_MEDIAN_HU) > 0.5))
    keep[0] = False
    return np.asarray(inside & ndimage.binary_dilation(keep[labels], structure=_disc(neck + 1)), dtype=bool)


def intracranial_slice_mask(hu: np.ndarray, pixel_spacing_mm: Sequence[float]) -> np.ndarray:
    """The intracranial space of one axial slice.

    Parameters
    ----------
    hu
        [rows, cols] Hounsfield units.
    pixel_spacing_mm
        (between rows, between columns) in mm, as Pixel Spacing (0028,0030).

    Returns
    -------
    numpy.ndarray
        bool [rows, cols]; empty where the slice has no closed skull ring.
    """
    mask: np.ndarray = intracranial_mask(np.asarray(hu)[None], (1.0, *pixel_spacing_mm))[0]
    return mask


def _refined(mask_small: np.ndarray, hu: np.ndarray, factor: int) -> np.ndarray:
    """The work-grid mask on the full matrix: its interior whole, its edge band cut to soft tissue.

    The edge band is one work pixel either side of the coarse boundary, so the full-resolution edge
    follows the inner table; dense calcifications in the interior stay inside. Only the band's blocks of
    the full matrix are read. ``hu`` covers whole blocks (``factor`` times the shape of ``mask_small``).
    """
    n, rows, cols = mask_small.shape
    interior = ndimage.binary_erosion(mask_small, structure=_CROSS)
    k, i, j = np.nonzero(ndimage.binary_dilation(mask_small, structure=_CROSS) & ~interior)
    out = np.empty(hu.shape, dtype=bool)
    out.reshape(n, rows, factor, cols, factor)[...] = interior[:, :, None, :, None]
    offsets = np.arange(factor)
    at = (k[:, None, None], (i * factor)[:, None, None] + offsets[None, :, None],
          (j * factor)[:, None, None] + offsets[None, None, :])
    edge = hu[at]
    out[at] = (edge >= SOFT_TISSUE_HU[0]) & (edge <= SOFT_TISSUE_HU[1])
    return out


def intracranial_mask(hu: np.ndarray, spacing_mm: Sequence[float]) -> np.ndarray:
    """The intracranial space of a volume, slice by slice (see the module docstring).

    All slices are processed as one stack with in-plane structures and distance transforms, so the result
    is that of each slice on its own (:func:`intracranial_slice_mask`).

    Parameters
    ----------
    hu
        [slices, rows, cols] Hounsfield units (e.g. :attr:`inference.ich.volume.Volume.hu`).
    spacing_mm
        (between slices, between rows, between columns) in mm (:attr:`inference.ich.volume.Volume.spacing`).

    Returns
    -------
    numpy.ndarray
        bool [slices, rows, cols].
    """
    image = np.asarray(hu, dtype=np.float32)
    factor = _work_factor((spacing_mm[1], spacing_mm[2]))
    pixel_mm = min(float(spacing_mm[1]), float(spacing_mm[2])) * factor
    rows, cols = _head_box(image, factor)
    small_box = (slice(None), slice(rows.start // factor, rows.stop // factor), slice(cols.start // factor, cols.stop // factor))
    mask_small = _enclosed_regions(_block_mean(image, factor)[small_box], pixel_mm)
    full = np.zeros(image.shape, dtype=bool)
    full[:, rows, cols] = mask_small if factor == 1 else _refined(mask_small, image[:, rows, cols], factor)
    return full


def _head_box(image: np.ndarray, factor: int) -> tuple[slice, slice]:
    """Rows and columns of the work-grid blocks that hold the head (HU > :data:`HEAD_HU` on any slice), with
    :data:`BOX_MARGIN_BLOCKS` blocks of air around: nothing outside can be intracranial or change the mask
    inside (the skull ring's closing stays within the head's box, the crop's edge is air like the matrix's)."""
    head: np.ndarray = np.any(image > HEAD_HU, axis=0)
    spans = []
    for axis, size in ((1, image.shape[1]), (0, image.shape[2])):
        found = np.flatnonzero(head.any(axis=axis))
        blocks = size // factor
        if found.size == 0:
            spans.append(slice(0, blocks * factor))
            continue
        first = max(0, int(found[0]) // factor - BOX_MARGIN_BLOCKS)
        last = min(blocks, int(found[-1]) // factor + 1 + BOX_MARGIN_BLOCKS)
        spans.append(slice(first * factor, last * factor))
    return spans[0], spans[1]


def intracranial_area_cm2(mask: np.ndarray, spacing_mm: Sequence[float]) -> np.ndarray:
    """Intracranial area of each slice in cm^2 (float [slices]); ``spacing_mm`` as for :func:`intracranial_mask`."""
    pixels = np.asarray(mask, dtype=bool).sum(axis=(1, 2))
    return np.asarray(pixels * (float(spacing_mm[1]) * float(spacing_mm[2]) / 100.0), dtype=np.float64)
