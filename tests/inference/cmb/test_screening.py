"""Stage 1: skull stripping, homodyne phase, FRST and the union of FRST + threshold/shape candidates."""

from __future__ import annotations

import numpy as np

from inference.cmb.candidates import screen
from inference.cmb.frst import frst_dark
from inference.cmb.phase import homodyne_highpass, swi_composite
from inference.cmb.skullstrip import brain_mask, kmeans_1d

SPACING = (2.0, 1.0, 1.0)


def _blob_and_vein() -> np.ndarray:
    """Bright 24x64x64 block with a dark 3 mm-radius sphere at (12, 20, 20) and a dark tube along z at
    (row 44, column 44)."""
    rng = np.random.default_rng(0)
    image = 1.0 + rng.normal(scale=0.03, size=(24, 64, 64)).astype(np.float32)
    k, j, i = np.ogrid[:24, :64, :64]
    image[((k - 12) * 2.0) ** 2 + (j - 20) ** 2 + (i - 20) ** 2 <= 9] = 0.1
    image[:, 43:46, 43:46] = 0.1
    return image


def test_kmeans_finds_three_intensity_classes():
    values = np.concatenate([np.full(100, 0.0), np.full(100, 5.0), np.full(100, 10.0)])
    assert np.allclose(kmeans_1d(values + np.random.default_rng(1).normal(scale=0.1, size=300)), [0, 5, 10],
                       atol=0.1)


def test_brain_mask_keeps_brain_and_drops_scalp(small_phantom):
    mask = brain_mask(small_phantom.magnitude, small_phantom.spacing_mm)
    k, rows, cols = (s // 2 for s in small_phantom.magnitude.shape)
    assert mask[k, rows, cols]                      # brain centre
    assert not mask[k, rows, 2:6].any()             # outside the head / scalp at the left edge
    assert not mask[k, 3, cols]
    brain_ml = mask.sum() * np.prod(small_phantom.spacing_mm) / 1000
    assert 100 < brain_ml < 200                     # 6 slices x 2 mm of a ~60 x 75 mm brain section


def test_homodyne_removes_a_smooth_background_phase():
    z, y, x = np.meshgrid(np.arange(4), np.arange(64), np.arange(64), indexing="ij")
    background = 3.0 * (x / 64.0) + 2.0 * (y / 64.0) ** 2
    hp = homodyne_highpass(np.ones((4, 64, 64), np.float32), np.angle(np.exp(1j * background)), SPACING)
    assert np.abs(hp[:, 16:48, 16:48]).max() < 0.05


def test_swi_composite_darkens_negative_phase_only():
    magnitude = np.ones((1, 1, 3), np.float32)
    swi = swi_composite(magnitude, np.array([[[-np.pi / 2, 0.0, np.pi / 2]]], np.float32))
    assert swi[0, 0, 0] == np.float32(0.5 ** 4) and swi[0, 0, 1] == swi[0, 0, 2] == 1.0


def test_frst_peaks_at_the_centre_of_a_round_dark_blob():
    image = _blob_and_vein()
    image[:, 40:50, 40:50] = image[:, 30:40, 30:40]          # remove the vein
    response = frst_dark(image, SPACING)
    peak = np.unravel_index(int(np.argmax(response)), response.shape)
    assert np.linalg.norm((np.subtract(peak, (12, 20, 20))) * SPACING) <= 2.0
    assert response[12, 20, 20] > 10 * np.median(response)


def test_screening_finds_the_blob_and_the_shape_rules_drop_the_vein():
    image = _blob_and_vein()
    candidates = screen(image, np.ones(image.shape, bool), SPACING)
    near_blob = [c for c in candidates if np.linalg.norm(np.subtract(c.voxel, (12, 20, 20)) * SPACING) <= 3]
    assert near_blob and near_blob[0].by_threshold and near_blob[0].by_frst
    assert not any(c.by_threshold and abs(c.voxel[1] - 44) <= 2 and abs(c.voxel[2] - 44) <= 2 for c in candidates)
