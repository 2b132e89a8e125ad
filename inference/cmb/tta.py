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

import numpy as np
import torch
from torch import nn

SYMMETRIES = (1, 8)
RESCORE_FROM = 0.003


def symmetric_views(x: torch.Tensor, n: int) -> list[torch.Tensor]:
    """The first ``n`` in-plane symmetric views of patches ``(N, C, k, j, i)``, the identity first."""
    if n not in SYMMETRIES:
        raise ValueError(f"symmetries: {n} not one of {SYMMETRIES}")
    views = []
    for turn in range(4):
        rotated = torch.rot90(x, turn, dims=(3, 4))
        views += [rotated, torch.flip(rotated, dims=(4,))]
    return views[:n]


def augmented_probabilities(network: nn.Module, x: torch.Tensor, n: int,
                            rescore_from: float = RESCORE_FROM) -> np.ndarray:
    """Sigmoid probability of ``network`` on the patches ``x``: the mean over ``n`` symmetric views for
    patches whose plain probability is at least ``rescore_from``, the plain probability for the others."""
    with torch.inference_mode():
        probabilities = torch.sigmoid(network(x))
        rows = torch.nonzero(probabilities >= rescore_from).flatten()
        if n > 1 and len(rows):
            total = probabilities[rows].clone()
            for view in symmetric_views(x[rows], n)[1:]:
                total += torch.sigmoid(network(view))
            probabilities[rows] = total / n
        return probabilities.numpy()
