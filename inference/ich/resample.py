"""Bilinear resampling of a coarse map (the saliency grid) to an image's matrix, without torch.

Half-pixel centres, edges clamped: the same values as ``torch.nn.functional.interpolate(mode="bilinear",
align_corners=False)``, computed as two small separable products, a fraction of a torch call per slice.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=8)
def _bilinear_weights(size_out: int, size_in: int) -> np.ndarray:
    """[size_out, size_in] weights of bilinear resampling with half-pixel centres (``align_corners=False``)."""
    source = np.maximum((np.arange(size_out) + 0.5) * size_in / size_out - 0.5, 0.0)
    low = np.minimum(np.floor(source).astype(int), size_in - 1)
    high = np.minimum(low + 1, size_in - 1)
    fraction = source - low
    weights = np.zeros((size_out, size_in), dtype=np.float32)
    np.add.at(weights, (np.arange(size_out), low), 1.0 - fraction)
    np.add.at(weights, (np.arange(size_out), high), fraction)
    return weights


def resample_bilinear(grid: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """The 2D ``grid`` resampled to ``rows`` x ``cols`` (float32)."""
    values = np.asarray(grid, dtype=np.float32)
    weights_rows = _bilinear_weights(rows, values.shape[0])
    weights_cols = _bilinear_weights(cols, values.shape[1])
    # einsum's own loops, not BLAS: a BLAS call leaves its threads spinning against the scipy work that follows
    by_rows = np.einsum("ij,jk->ik", weights_rows, values)
    return np.asarray(np.einsum("ik,lk->il", by_rows, weights_cols), dtype=np.float32)
