"""inference.ich.resample against torch's bilinear interpolation (half-pixel centres), the reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from inference.ich.resample import resample_bilinear


@pytest.mark.parametrize("shape", [(8, 8, 512, 512), (8, 8, 96, 128), (4, 6, 33, 17)])
def test_bilinear_resampling_matches_torch(shape: tuple[int, int, int, int]) -> None:
    h, w, rows, cols = shape
    grid = np.random.default_rng(2).uniform(0.0, 1.0, (h, w)).astype(np.float32)
    reference = F.interpolate(torch.from_numpy(grid)[None, None], size=(rows, cols), mode="bilinear",
                              align_corners=False)[0, 0].numpy()
    resampled = resample_bilinear(grid, rows, cols)
    assert resampled.shape == (rows, cols) and resampled.dtype == np.float32
    assert np.allclose(resampled, reference, atol=1e-5)
