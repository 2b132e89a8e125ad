"""The analysis grid: a 0.5 mm study is averaged into 1 mm voxels as complex signal, geometry kept."""

from __future__ import annotations

import numpy as np

from inference.cmb.preprocess import to_analysis_grid


def test_half_millimetre_pixels_are_averaged_as_complex_signal():
    magnitude = np.ones((4, 8, 8), np.float32)
    phase = np.zeros((4, 8, 8), np.float32)
    phase[:, 0::2, 0::2] = np.pi / 2                          # one of four sub-voxels at +90 degrees
    affine = np.array([[0, 0, 0.5, -10], [0, 0.5, 0, -20], [2.0, 0, 0, -30], [0, 0, 0, 1]])
    mag, ph, spacing, grid_affine = to_analysis_grid(magnitude, phase, (2.0, 0.5, 0.5), affine)
    assert mag.shape == (4, 4, 4) and spacing == (2.0, 1.0, 1.0)
    assert np.allclose(mag, abs(3 + 1j) / 4) and np.allclose(ph, np.angle(3 + 1j))   # not the mean of phases
    assert np.allclose(grid_affine[:3, 3], [-9.75, -19.75, -30])                     # centre of the first block
    assert np.allclose(grid_affine[:3, :3], [[0, 0, 1], [0, 1, 0], [2, 0, 0]])


def test_a_grid_at_the_analysis_spacing_is_left_alone():
    magnitude = np.random.default_rng(0).random((3, 5, 5)).astype(np.float32)
    mag, ph, spacing, _ = to_analysis_grid(magnitude, None, (2.0, 1.05, 1.05), np.eye(4))
    assert mag is magnitude and ph is None and spacing == (2.0, 1.05, 1.05)
