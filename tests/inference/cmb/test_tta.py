"""Test-time augmentation of the patch classifier: which views it takes and that a symmetric patch scores as itself."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.cmb.detector import load_model
from inference.cmb.network import PATCH, CmbResNet3d
from inference.cmb.phantom.physics import dipole_field
from inference.cmb.tta import augmented_probabilities, symmetric_views


def _microbleed_patch() -> np.ndarray:
    """(1, 2, 21, 21, 21) patch of a paramagnetic sphere at the centre: dark SWI, its dipole phase (radians / pi)."""
    k, j, i = np.mgrid[:PATCH, :PATCH, :PATCH] - PATCH // 2
    sphere = ((2.0 * k) ** 2 + j ** 2 + i ** 2) <= 2.5 ** 2
    field_ppm = dipole_field(sphere.astype(np.float32) * 1.5, (2.0, 1.0, 1.0))
    phase = -2 * np.pi * 42.58 * 3.0 * 0.020 * field_ppm          # -gamma dB TE at 3 T, TE 20 ms
    swi = np.where(sphere, 0.2, 1.0) * np.exp(-np.abs(phase))
    return np.stack([swi, phase / np.pi]).astype(np.float32)[None]


def scorer(network: torch.nn.Module):
    """The network's sigmoid probability as a scorer of numpy patches."""
    def run(patches: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return torch.sigmoid(network(torch.from_numpy(patches))).numpy()
    return run


def test_views_are_the_in_plane_symmetries_and_keep_slices_and_values():
    x = np.random.default_rng(1).normal(size=(3, 2, 5, 7, 7)).astype(np.float32)
    views = symmetric_views(x, 8)
    assert np.array_equal(views[0], x)
    assert len({v.tobytes() for v in views}) == 8
    for v in views:
        assert v.shape == x.shape and v.flags.c_contiguous
        # each slice stays at its place with the same values: only in-plane positions move, no sign changes
        assert np.array_equal(np.sort(v.reshape(3, 2, 5, -1), axis=3), np.sort(x.reshape(3, 2, 5, -1), axis=3))


def test_unknown_number_of_views_is_refused():
    with pytest.raises(ValueError):
        symmetric_views(np.zeros((1, 2, 3, 3, 3), np.float32), 4)


def test_a_microbleed_dipole_is_invariant_and_keeps_its_phase_sign():
    x = _microbleed_patch()
    centre = x[0, 1, PATCH // 2, PATCH // 2, PATCH // 2]
    assert centre < 0                                   # paramagnetic: negative phase, the detector's convention
    for v in symmetric_views(x, 8):
        assert np.allclose(v, x, atol=1e-5)
        assert v[0, 1, PATCH // 2, PATCH // 2, PATCH // 2] == centre


def test_the_augmented_score_of_a_symmetric_patch_is_the_plain_score():
    score = scorer(load_model().network)
    x = _microbleed_patch()
    plain = score(x)
    assert np.allclose(augmented_probabilities(score, x, 8, rescore_from=0.0), plain, atol=1e-5)
    assert np.allclose(augmented_probabilities(score, x, 1), plain, atol=0)


def test_the_augmented_score_is_the_mean_over_views_above_the_rescoring_cut():
    torch.manual_seed(0)
    network = CmbResNet3d(8).eval()          # untrained: scores near 0.5 that differ between views
    score = scorer(network)
    x = np.random.default_rng(0).normal(1.0, 0.3, (2, 2, PATCH, PATCH, PATCH)).astype(np.float32)
    each = np.stack([score(v) for v in symmetric_views(x, 8)])
    assert np.allclose(augmented_probabilities(score, x, 8, rescore_from=0.0), each.mean(axis=0), atol=1e-6)
    assert not np.allclose(each[0], each.mean(axis=0), atol=1e-4)   # the views do differ on an asymmetric patch
    cut = float(each[0].max()) + 1e-3                                # both below the cut: plain scores kept
    assert np.array_equal(augmented_probabilities(score, x, 8, rescore_from=cut), each[0])
    mixed = augmented_probabilities(score, x, 8, rescore_from=float(each[0].mean()))
    low, high = int(np.argmin(each[0])), int(np.argmax(each[0]))
    assert mixed[low] == each[0][low] and np.isclose(mixed[high], each[:, high].mean(), atol=1e-6)
