"""Compartments of a real head CT: skull, brain parenchyma, CSF spaces (sulci, fissures, cisterns), ventricles.

HU thresholds and morphology only, on HU smoothed in-plane (Gaussian, sigma 0.8 mm) so that noise does not
split tissue classes. Inside the intracranial mask (:func:`inference.ich.intracranial.intracranial_mask`):

- **skull**: any voxel outside the mask above :data:`BONE_HU` (unsmoothed HU: the calvarium, the skull base).
- **CSF**: :data:`CSF_HU` (-20 to 17 HU); **parenchyma**: 17 to :data:`BRAIN_HU_MAX` (58 HU). What is left
  inside the mask (vessels, calcification, partial volume with bone, fat) is ``OTHER``.
- **ventricles**: CSF deeper than :data:`VENTRICLE_DEPTH_MM` (18 mm) from the inner table within its
  slice (a 2D distance, so the first and last slices of a partial head do not count as surface), opened
  in-plane by one voxel, in 3D-connected pieces of at least :data:`VENTRICLE_MIN_ML` within :data:`VENTRICLE_MAX_LATERAL`
  of the head's width from the midline. Deep sulci of an atrophic brain can pass this rule; the
  insertion of intraventricular blood only needs a CSF space deep in the brain.
- **sulcal CSF**: CSF that is not ventricle (convexity sulci, Sylvian and interhemispheric fissures,
  basal cisterns).

The depth below the inner table (Euclidean distance transform of the mask, in mm, with the volume's
spacing) and the midline column (the mask's centroid) are kept: lesion insertion places each subtype with
them (:mod:`inference.ich.realct.lesions`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

OUTSIDE, SKULL, PARENCHYMA, SULCAL_CSF, VENTRICLE, OTHER = range(6)
COMPARTMENTS = {"outside": OUTSIDE, "skull": SKULL, "parenchyma": PARENCHYMA, "sulcal_csf": SULCAL_CSF,
                "ventricle": VENTRICLE, "other": OTHER}
"""Compartment name -> code in :attr:`Compartments.labels`."""

BONE_HU = 300.0
CSF_HU = (-20.0, 17.0)
BRAIN_HU_MAX = 58.0
SMOOTH_SIGMA_MM = 0.8
VENTRICLE_DEPTH_MM = 18.0
VENTRICLE_MIN_ML = 0.3
VENTRICLE_MAX_LATERAL = 0.22
"""Largest distance of a ventricle piece's centroid from the midline, as a fraction of the head's width."""


@dataclass(frozen=True, eq=False)
class Compartments:
    """Segmentation of one volume.

    Attributes
    ----------
    labels : numpy.ndarray
        uint8 [z, y, x], codes of :data:`COMPARTMENTS`.
    intracranial : numpy.ndarray
        bool [z, y, x], the intracranial mask the segmentation was made in.
    depth_mm : numpy.ndarray
        float32 [z, y, x], distance below the inner table (0 outside the mask).
    smooth_hu : numpy.ndarray
        float32 [z, y, x], the smoothed HU the thresholds were applied to.
    midline_x : float
        Column of the midline (the mask's centroid).
    spacing : tuple of float
        (slice, row, column) spacing in mm.
    """

    labels: np.ndarray
    intracranial: np.ndarray
    depth_mm: np.ndarray
    smooth_hu: np.ndarray
    midline_x: float
    spacing: tuple[float, float, float]

    def fraction(self, name: str) -> float:
        """Share of the intracranial voxels in compartment ``name``."""
        total = max(1, int(self.intracranial.sum()))
        return float((self.labels[self.intracranial] == COMPARTMENTS[name]).sum()) / total

    def volume_ml(self, name: str) -> float:
        """Volume of compartment ``name`` in ml."""
        return float((self.labels == COMPARTMENTS[name]).sum()) * float(np.prod(self.spacing)) / 1000.0


def segment(hu: np.ndarray, spacing: tuple[float, float, float], intracranial: np.ndarray) -> Compartments:
    """Segment ``hu`` into the compartments of the module docstring.

    Parameters
    ----------
    hu
        float32 [z, y, x] in HU (a cadaver already corrected by
        :func:`inference.ich.realct.loaders.correct_postmortem_brain`).
    spacing
        (slice, row, column) spacing in mm.
    intracranial
        bool [z, y, x] intracranial mask of the same volume.
    """
    if hu.shape != intracranial.shape:
        raise ValueError(f"hu {hu.shape} and intracranial {intracranial.shape} must have one shape")
    sigma = (0.0, SMOOTH_SIGMA_MM / spacing[1], SMOOTH_SIGMA_MM / spacing[2])
    smooth = ndi.gaussian_filter(hu.astype(np.float32), sigma)
    labels = np.full(hu.shape, OUTSIDE, np.uint8)
    labels[intracranial] = OTHER
    csf = intracranial & (smooth >= CSF_HU[0]) & (smooth < CSF_HU[1])
    labels[intracranial & (smooth >= CSF_HU[1]) & (smooth <= BRAIN_HU_MAX)] = PARENCHYMA
    labels[csf] = SULCAL_CSF
    labels[(hu > BONE_HU) & ~intracranial] = SKULL
    depth = ndi.distance_transform_edt(intracranial, sampling=spacing).astype(np.float32)
    columns = np.nonzero(intracranial)[2]
    midline = float(columns.mean()) if columns.size else hu.shape[2] / 2
    width = float(np.ptp(columns)) if columns.size else float(hu.shape[2])
    depth_2d = np.stack([ndi.distance_transform_edt(plane, sampling=spacing[1:]) for plane in intracranial])
    labels[_ventricles(csf & (depth_2d > VENTRICLE_DEPTH_MM), spacing, midline, width)] = VENTRICLE
    return Compartments(labels, intracranial, depth, smooth, midline, spacing)


def _ventricles(deep_csf: np.ndarray, spacing: tuple[float, float, float], midline: float,
                width: float) -> np.ndarray:
    in_plane = np.zeros((3, 3, 3), bool)
    in_plane[1] = ndi.generate_binary_structure(2, 1)
    opened: np.ndarray = ndi.binary_opening(deep_csf, structure=in_plane)
    pieces, count = ndi.label(opened)
    if count == 0:
        return opened
    voxel_ml = float(np.prod(spacing)) / 1000.0
    index = np.arange(1, count + 1)
    sizes = ndi.sum(opened, pieces, index) * voxel_ml
    centroids = np.array(ndi.center_of_mass(opened, pieces, index)).reshape(-1, 3)
    keep = index[(sizes >= VENTRICLE_MIN_ML) & (np.abs(centroids[:, 2] - midline) <= VENTRICLE_MAX_LATERAL * width)]
    return np.isin(pieces, keep)
