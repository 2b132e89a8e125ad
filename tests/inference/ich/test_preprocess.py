"""Windowing and resampling of HU slices into the network input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.ich.preprocess import WINDOWS, apply_windows, preprocess


def test_windows_are_brain_subdural_bone():
    assert [(w.name, w.center, w.width) for w in WINDOWS] == [
        ("brain", 40, 80), ("subdural", 80, 200), ("bone", 600, 2800),
    ]


@pytest.mark.parametrize(
    ("hu", "expected"),
    [
        (-1000.0, [0.0, 0.0, 0.0]),
        (0.0, [0.0, 0.1, 0.8 / 2.8]),
        (40.0, [0.5, 0.3, 0.84 / 2.8]),
        (80.0, [1.0, 0.5, 0.88 / 2.8]),
        (2000.0, [1.0, 1.0, 1.0]),
    ],
)
def test_window_values(hu, expected):
    channels = apply_windows(torch.full((1, 2, 2), hu))
    assert channels.shape == (1, 3, 2, 2)
    np.testing.assert_allclose(channels[0, :, 0, 0].numpy(), expected, atol=1e-6)


def test_preprocess_resamples_to_square_float32():
    hu = np.random.default_rng(0).normal(40, 20, size=(3, 100, 80)).astype(np.int16)
    out = preprocess(hu, size=64)
    assert out.shape == (3, 3, 64, 64)
    assert out.dtype == torch.float32
    assert out.is_contiguous()
    assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0


def test_preprocess_keeps_constant_images_constant_and_left_right():
    hu = np.zeros((1, 128, 128), dtype=np.float32)
    hu[:, :, 64:] = 80.0  # right half bright in the brain window
    out = preprocess(hu, size=32)[0, 0].numpy()
    assert out[:, :15].max() == 0.0
    assert out[:, 17:].min() == pytest.approx(1.0)


def test_preprocess_rejects_a_2d_array():
    with pytest.raises(ValueError, match=r"\[slices, rows, cols\]"):
        preprocess(np.zeros((64, 64)))
