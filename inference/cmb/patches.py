"""Candidate patches: 21^3 voxels around each candidate, two channels (SWI or magnitude, high-pass phase).

Channel 0 is the SWI composite (or, for magnitude-only input, the magnitude) divided by the brain median;
channel 1 the homodyne high-pass phase divided by pi (zeros for magnitude-only input). Volumes are padded
with the brain-median level (1) and zero phase, so candidates near the edge of the field of view get
full-size patches.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inference.cmb.network import PATCH


def extract_patches(image: np.ndarray, hp_phase: np.ndarray | None, centres: Sequence[tuple[int, int, int]],
                    size: int = PATCH) -> np.ndarray:
    """Patches ``(N, 2, size, size, size)`` float32 centred at ``centres`` (voxels ``[k, j, i]``; odd size)."""
    half = size // 2
    padded_image = np.pad(image.astype(np.float32), half, mode="constant", constant_values=1.0)
    padded_phase = (np.zeros_like(padded_image) if hp_phase is None
                    else np.pad(hp_phase.astype(np.float32) / np.float32(np.pi), half, mode="constant"))
    out = np.empty((len(centres), 2, size, size, size), dtype=np.float32)
    for n, (k, j, i) in enumerate(centres):
        box = (slice(k, k + size), slice(j, j + size), slice(i, i + size))
        out[n, 0] = padded_image[box]
        out[n, 1] = padded_phase[box]
    return out
