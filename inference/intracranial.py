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
   (median distance from the skin, the edge of HU > :data:`HEAD_HU`, at least :data:`MIN_DEPTH_MM`; this
   drops the temporalis that the zygomatic arch encloses) and reads like brain and CSF rather than an
   orbit: at most :data:`MAX_FAT_FRACTION` of it below :data:`FAT_HU` and a median of at least
   :data:`MIN_MEDIAN_HU`.

A slice whose skull ring is open (the vertex cap, below the foramen magnum, a craniectomy) has no enclosed
region and so an empty mask: nothing there can be called intracranial. That is intended: such slices must
not carry a finding on their own. The mask is the intracranial *space* (brain, CSF, blood, the inner
side of the dura); extra-axial blood against the inner table is inside it.
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


def _disc(radius: int) -> np.ndarray:
    y, x = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    return np.asarray(x * x + y * y <= radius * radius)


def _work_factor(pixel_spacing_mm: Sequence[float]) -> int:
    """Integer down-sampling factor that brings the finer pixel side to about WORK_PIXEL_MM."""
    return max(1, int(round(WORK_PIXEL_MM / max(min(float(pixel_spacing_mm[0]), float(pixel_spacing_mm[1])), 1e-3))))


def _block_mean(image: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return image
    rows, cols = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    trimmed = image[:rows, :cols]
    return np.asarray(trimmed.reshape(rows // factor, factor, cols // factor, factor).mean(axis=(1, 3)))


def _enclosed_regions(hu: np.ndarray, pixel_mm: float) -> np.ndarray:
    bone = hu >= BONE_HU
    margin = int(np.ceil(max(CLOSING_MM) / pixel_mm)) + 2
    distance_to_bone = ndimage.distance_transform_edt(~np.pad(bone, margin)) * pixel_mm
    soft = (hu >= SOFT_TISSUE_HU[0]) & (hu <= SOFT_TISSUE_HU[1])
    enclosed = np.zeros(hu.shape, dtype=bool)
    for closing_mm in CLOSING_MM:
        grown = distance_to_bone <= closing_mm
        ring = (ndimage.distance_transform_edt(grown) * pixel_mm > closing_mm)[margin:-margin, margin:-margin]
        enclosed |= ndimage.binary_fill_holes(ring) & ~ring
    head = ndimage.binary_fill_holes(hu > HEAD_HU)
    depth = ndimage.distance_transform_edt(head) * pixel_mm
    return _plausible_regions(hu, enclosed & soft, depth, pixel_mm)


def _plausible_regions(hu: np.ndarray, enclosed: np.ndarray, depth: np.ndarray, pixel_mm: float) -> np.ndarray:
    inside = ndimage.binary_fill_holes(enclosed)
    neck = max(1, int(round(NECK_MM / pixel_mm)))
    opened = ndimage.binary_opening(inside, structure=_disc(neck))
    labels, count = ndimage.label(opened)
    if count == 0:
        return np.asarray(opened, dtype=bool)
    min_pixels = MIN_REGION_CM2 * 100.0 / (pixel_mm * pixel_mm)
    keep = np.zeros(count + 1, dtype=bool)
    for index, region in enumerate(ndimage.find_objects(labels), start=1):
        if region is None:
            continue
        inside_region = labels[region] == index
        values = hu[region][inside_region]
        if values.size < min_pixels or np.median(depth[region][inside_region]) < MIN_DEPTH_MM:
            continue
        if np.mean(values < FAT_HU) > MAX_FAT_FRACTION or np.median(values) < MIN_MEDIAN_HU:
            continue
        keep[index] = True
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
    image = np.asarray(hu, dtype=np.float32)
    factor = _work_factor(pixel_spacing_mm)
    small = _block_mean(image, factor)
    pixel_mm = float(min(pixel_spacing_mm)) * factor
    mask_small = _enclosed_regions(small, pixel_mm)
    if factor == 1:
        return mask_small
    return _refined(mask_small, image, factor)


def _upsampled(mask: np.ndarray, factor: int, shape: tuple[int, ...]) -> np.ndarray:
    full = np.zeros(shape, dtype=bool)
    grown = np.repeat(np.repeat(mask, factor, axis=0), factor, axis=1)
    full[: grown.shape[0], : grown.shape[1]] = grown
    return full


def _refined(mask_small: np.ndarray, hu: np.ndarray, factor: int) -> np.ndarray:
    """The work-grid mask on the full matrix: its interior whole, its edge band cut to soft tissue.

    The edge band is one work pixel either side of the coarse boundary, so the full-resolution edge
    follows the inner table; dense calcifications in the interior stay inside.
    """
    if not mask_small.any():
        return _upsampled(mask_small, factor, hu.shape)
    outer = _upsampled(ndimage.binary_dilation(mask_small), factor, hu.shape)
    interior = _upsampled(ndimage.binary_erosion(mask_small), factor, hu.shape)
    soft = (hu >= SOFT_TISSUE_HU[0]) & (hu <= SOFT_TISSUE_HU[1])
    return outer & (interior | soft)


def intracranial_mask(hu: np.ndarray, spacing_mm: Sequence[float]) -> np.ndarray:
    """The intracranial space of a volume, slice by slice (see the module docstring).

    Parameters
    ----------
    hu
        [slices, rows, cols] Hounsfield units (e.g. :attr:`inference.volume.Volume.hu`).
    spacing_mm
        (between slices, between rows, between columns) in mm (:attr:`inference.volume.Volume.spacing`).

    Returns
    -------
    numpy.ndarray
        bool [slices, rows, cols].
    """
    pixel = (float(spacing_mm[1]), float(spacing_mm[2]))
    return np.stack([intracranial_slice_mask(plane, pixel) for plane in np.asarray(hu)])


def intracranial_area_cm2(mask: np.ndarray, spacing_mm: Sequence[float]) -> np.ndarray:
    """Intracranial area of each slice in cm^2 (float [slices]); ``spacing_mm`` as for :func:`intracranial_mask`."""
    pixels = np.asarray(mask, dtype=bool).sum(axis=(1, 2))
    return np.asarray(pixels * (float(spacing_mm[1]) * float(spacing_mm[2]) / 100.0), dtype=np.float64)
