"""Brain mask of a magnitude/SWI volume by k-means intensity clustering and morphology.

The two-stage CMB detector of Liu et al. (2019, NeuroImage 198:271) strips the skull before screening.
Here (after the k-means + morphology approach of the CMB literature, e.g. Afzal et al. 2021):

1. smooth the magnitude (Gaussian, 1 mm) and cluster its intensities into three classes with 1D k-means
   (Lloyd's algorithm, centres initialised at the 10th/50th/90th percentiles): background and bone,
   CSF and dark tissue, brain and scalp;
2. keep voxels brighter than the midpoint of the two upper centres, erode by ``erode_mm`` to cut the
   thin bridges between brain and scalp, keep the largest 3D connected component, dilate it back;
3. close with a ``close_mm`` ball and fill holes slice by slice, so that dark lesions and veins inside the
   brain stay inside the mask. The end slices are repeated during morphology, so a brain that fills the
   first or last slice (partial coverage) is not eroded away there.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def kmeans_1d(values: np.ndarray, k: int = 3, iterations: int = 30) -> np.ndarray:
    """Sorted cluster centres of 1D values by Lloyd's algorithm."""
    centres = np.percentile(values, np.linspace(10, 90, k)).astype(np.float64)
    for _ in range(iterations):
        assign = np.argmin(np.abs(values[:, None] - centres[None, :]), axis=1)
        updated = np.array([values[assign == c].mean() if np.any(assign == c) else centres[c] for c in range(k)])
        if np.allclose(updated, centres):
            break
        centres = updated
    return np.sort(centres)


def _ball(radius_vox: tuple[float, float, float]) -> np.ndarray:
    r = [max(0, int(np.floor(v))) for v in radius_vox]
    z, y, x = np.ogrid[-r[0]:r[0] + 1, -r[1]:r[1] + 1, -r[2]:r[2] + 1]
    rz, ry, rx = (max(v, 0.5) for v in radius_vox)
    return (z / rz) ** 2 + (y / ry) ** 2 + (x / rx) ** 2 <= 1.0


def brain_mask(magnitude: np.ndarray, spacing_mm: tuple[float, float, float], erode_mm: float = 3.0,
               close_mm: float = 4.0) -> np.ndarray:
    """Boolean brain mask ``[k, j, i]`` of a magnitude or SWI volume (see the module docstring)."""
    sigma = [1.0 / s for s in spacing_mm]
    smooth = ndimage.gaussian_filter(magnitude.astype(np.float32), sigma)
    sample = smooth[:: max(1, smooth.shape[0] // 24), ::2, ::2].ravel()
    centres = kmeans_1d(sample[sample > np.percentile(sample, 1)])
    threshold = (centres[1] + centres[2]) / 2
    # repeat the end slices so that morphology does not eat a brain that fills the first or last slice
    pad = int(np.ceil(max(erode_mm, close_mm) / spacing_mm[0])) + 1
    foreground = np.pad(smooth > threshold, ((pad, pad), (0, 0), (0, 0)), mode="edge")
    erode = _ball((erode_mm / spacing_mm[0], erode_mm / spacing_mm[1], erode_mm / spacing_mm[2]))
    core = ndimage.binary_erosion(foreground, erode)
    labels, n = ndimage.label(core)
    if n == 0:
        return np.zeros(magnitude.shape, dtype=bool)
    sizes = ndimage.sum_labels(np.ones_like(labels), labels, index=np.arange(1, n + 1))
    largest = labels == (int(np.argmax(sizes)) + 1)
    mask: np.ndarray = ndimage.binary_dilation(largest, erode)
    mask = ndimage.binary_closing(mask, _ball((close_mm / spacing_mm[0], close_mm / spacing_mm[1],
                                               close_mm / spacing_mm[2])))
    mask = mask[pad:-pad]
    for k in range(mask.shape[0]):
        mask[k] = ndimage.binary_fill_holes(mask[k])
    return mask
