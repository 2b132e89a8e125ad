"""Test-time augmentation of the CMB patch classifier: the mean probability over patch symmetries.

On the analysis grid (1 x 1 mm pixels) the eight in-plane flips and transposes (the dihedral group of
the square) map a patch onto one the physics allows: the dipole field of a sphere is symmetric about B0,
the slice normal of an axial acquisition, and a flip moves voxels without changing their values, so the
sign of paramagnetic phase is kept. The classifier was trained with these
(:func:`inference.cmb.training.augment`). Only candidates that the plain view does not already reject
(probability >= :data:`RESCORE_FROM`, the largest of 1e-4, 1e-3, 3e-3, 1e-2 that changed no validation
result against averaging every candidate; a quarter of the validation candidates reach it) are scored in
the other seven views.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

SYMMETRIES = (1, 8)
RESCORE_FROM = 0.003

Scorer = Callable[[np.ndarray], np.ndarray]
"""Patches ``(N, 2, 21, 21, 21)`` float32 -> probabilities ``(N,)`` (a runtime session, or the network in training)."""


def symmetric_views(x: np.ndarray, n: int) -> list[np.ndarray]:
    """The first ``n`` in-plane symmetric views of patches ``(N, C, k, j, i)``, the identity first (contiguous)."""
    if n not in SYMMETRIES:
        raise ValueError(f"symmetries: {n} not one of {SYMMETRIES}")
    views = []
    for turn in range(4):
        rotated = np.rot90(x, turn, axes=(3, 4))
        views += [np.ascontiguousarray(rotated), np.ascontiguousarray(np.flip(rotated, axis=4))]
    return views[:n]


def augmented_probabilities(score: Scorer, x: np.ndarray, n: int, rescore_from: float = RESCORE_FROM) -> np.ndarray:
    """``score`` of the patches ``x``: the mean over ``n`` symmetric views for patches whose plain probability
    is at least ``rescore_from``, the plain probability for the others."""
    probabilities = np.array(score(x), dtype=np.float32)
    rows = np.flatnonzero(probabilities >= rescore_from)
    if n > 1 and len(rows):
        total = probabilities[rows].copy()
        for view in symmetric_views(x[rows], n)[1:]:
            total += score(view)
        probabilities[rows] = total / n
    return probabilities
