"""Bone is not blood: the model's output restricted to the intracranial space.

Applied by every predictor (:meth:`inference.ich.predictor.Predictor.predict`) and by the evaluation path
(:func:`inference.ich.evaluation.predict.run_series`), so thresholds chosen on validation data see what the
node reports:

1. **Slice gate**: each slice's probabilities are multiplied by ``clip((A - 5) / (25 - 5), 0, 1)``, ``A``
   its intracranial area in cm^2 (:data:`GATE_CM2`). A slice with no closed skull ring around a brain
   (the vertex cap, below the foramen magnum) gets 0; a slice with 25 cm^2 of brain or more keeps its value.
2. **Study from brain slices**: each study probability is at most the highest gated slice probability of
   its class, so a finding cannot rest on slices with little or no brain alone.
3. **Saliency inside the skull**: each cell of a saliency map is multiplied by the intracranial share of
   the image area under it, and :class:`~inference.ich.prediction.Prediction` keeps the mask, so the map
   drawn at full resolution is zero outside the intracranial space.

The mask is :func:`inference.ich.intracranial.intracranial_mask`, computed on planes at most
:data:`MASK_PLANE_GAP_MM` apart (every slice of a thick series, every fourth of a 0.625 mm one) and copied to
the slices between them: the intracranial outline changes little over 2.5 mm, and the mask costs about
10-30 ms a plane.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from inference.ich.intracranial import intracranial_area_cm2, intracranial_mask

GATE_CM2 = (5.0, 25.0)
"""Intracranial area (cm^2) below which a slice carries nothing, and from which it carries its full value."""

MASK_PLANE_GAP_MM = 2.5


def series_intracranial_mask(hu: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    """bool [N, rows, cols] intracranial mask of a series, on planes at most :data:`MASK_PLANE_GAP_MM` apart."""
    n = hu.shape[0]
    step = max(1, int(MASK_PLANE_GAP_MM // max(float(spacing[0]), 1e-3)))
    planes = list(range(0, n, step))
    if planes[-1] != n - 1:
        planes.append(n - 1)
    computed = intracranial_mask(np.asarray(hu)[planes], spacing)
    nearest = np.abs(np.arange(n)[:, None] - np.array(planes)[None, :]).argmin(axis=1)
    mask: np.ndarray = computed[nearest]
    return mask


def slice_gate(mask: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    """float32 [N] weight of each slice from its intracranial area (rule 1)."""
    area = intracranial_area_cm2(mask, spacing)
    low, high = GATE_CM2
    return np.clip((area - low) / (high - low), 0.0, 1.0).astype(np.float32)


def saliency_share(mask: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """float32 [N, h, w]: intracranial share of each saliency cell (the image stretched to the grid).

    When the grid divides the matrix (512 or 256 over an 8 x 8 grid) the cells are counted on the boolean
    mask directly, without a float copy of the series; otherwise torch's adaptive average pooling."""
    n, rows, cols = mask.shape
    h, w = grid
    if rows % h == 0 and cols % w == 0:
        counts = np.count_nonzero(np.asarray(mask, dtype=bool).reshape(n, h, rows // h, w, cols // w), axis=(2, 4))
        share: np.ndarray = (counts / np.float32(rows // h * cols // w)).astype(np.float32)
        return share
    tensor = torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))[:, None]
    return F.adaptive_avg_pool2d(tensor, grid)[:, 0].numpy()


def restrict_to_brain(slice_probs: np.ndarray, study_probs: np.ndarray, saliency: np.ndarray | None,
                      mask: np.ndarray, spacing: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Apply rules 1-3 of the module docstring.

    Parameters
    ----------
    slice_probs, study_probs
        [N, 6] and [6] probabilities.
    saliency
        [N, h, w] maps, or None.
    mask
        bool [N, rows, cols] intracranial mask of the series.
    spacing
        (slice, row, column) spacing in mm of ``mask``.

    Returns
    -------
    tuple
        Gated slice probabilities, study probabilities, saliency (float32).
    """
    if mask.shape[0] != slice_probs.shape[0]:
        raise ValueError(f"mask has {mask.shape[0]} slices for {slice_probs.shape[0]} slice predictions")
    gate = slice_gate(mask, spacing)
    gated = (slice_probs * gate[:, None]).astype(np.float32)
    study = np.minimum(study_probs, gated.max(axis=0)).astype(np.float32)
    if saliency is not None:
        saliency = (saliency * saliency_share(mask, saliency.shape[1:])).astype(np.float32)
    return gated, study, saliency
