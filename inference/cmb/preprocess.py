"""From magnitude + wrapped phase to what both stages read: analysis grid, brain mask, high-pass phase, SWI.

Every study is brought to one analysis grid, :data:`ANALYSIS_SPACING_MM` (2 mm slices, 1 x 1 mm pixels),
so that the screening thresholds and the CNN's 21^3 patches (42 x 21 x 21 mm) mean the same for every
input. A grid finer by whole factors (0.5 mm pixels, 1 mm slices) is averaged into the larger voxel as a
complex signal, as a coarser acquisition would; other grids are interpolated linearly (real and
imaginary parts, so wrapped phase is never interpolated). Axes within 10 % of the target are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from inference.cmb.candidates import normalise
from inference.cmb.phase import homodyne_highpass, swi_composite
from inference.cmb.skullstrip import brain_mask

ANALYSIS_SPACING_MM = (2.0, 1.0, 1.0)


@dataclass
class Prepared:
    """A study on the analysis grid."""

    swi: np.ndarray                 # SWI composite / brain median (magnitude / median when no phase)
    magnitude: np.ndarray           # magnitude / brain median
    hp_phase: np.ndarray | None     # homodyne high-pass phase, radians, paramagnetic negative
    mask: np.ndarray                # brain mask
    spacing_mm: tuple[float, float, float]
    affine: np.ndarray              # (k, j, i, 1) -> patient mm on the analysis grid


def to_analysis_grid(magnitude: np.ndarray, phase: np.ndarray | None, spacing_mm: tuple[float, float, float],
                     affine: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, tuple[float, float, float],
                                                  np.ndarray]:
    """Resample magnitude and phase to :data:`ANALYSIS_SPACING_MM`; return them with spacing and affine."""
    zoom = [s / a for s, a in zip(spacing_mm, ANALYSIS_SPACING_MM)]
    zoom = [1.0 if abs(z - 1.0) < 0.1 else z for z in zoom]
    if all(z == 1.0 for z in zoom):
        return magnitude, phase, tuple(float(s) for s in spacing_mm), affine  # type: ignore[return-value]
    factors = [1.0 / z for z in zoom]
    if all(abs(f - round(f)) < 1e-3 for f in factors):
        # finer than the analysis grid by whole factors: average the complex signal into the larger voxel
        f = tuple(int(round(v)) for v in factors)
        signal = magnitude if phase is None else magnitude * np.exp(1j * phase).astype(np.complex64)
        n = [s // k for s, k in zip(signal.shape, f)]
        mean = np.zeros(n, dtype=signal.dtype)
        for dz in range(f[0]):
            for dy in range(f[1]):
                for dx in range(f[2]):
                    mean += signal[dz:n[0] * f[0]:f[0], dy:n[1] * f[1]:f[1], dx:n[2] * f[2]:f[2]]
        mean /= f[0] * f[1] * f[2]
        out_mag = np.abs(mean).astype(np.float32)
        out_phase = None if phase is None else np.angle(mean).astype(np.float32)
    elif phase is None:
        out_mag = ndimage.zoom(magnitude.astype(np.float32), zoom, order=1)
        out_phase = None
    else:
        signal = magnitude * np.exp(1j * phase)
        re = ndimage.zoom(signal.real.astype(np.float32), zoom, order=1)
        im = ndimage.zoom(signal.imag.astype(np.float32), zoom, order=1)
        out_mag = np.hypot(re, im).astype(np.float32)
        out_phase = np.arctan2(im, re).astype(np.float32)
    actual = [n_in / n_out for n_in, n_out in zip(magnitude.shape, out_mag.shape)]
    new_affine = affine.copy()
    for axis in range(3):
        new_affine[:3, axis] = affine[:3, axis] * actual[axis]
    # keep the field of view centred: voxel 0 of the new grid sits at input index (f - 1) / 2
    new_affine[:3, 3] = affine[:3, 3] + affine[:3, :3] @ ((np.asarray(actual) - 1) / 2)
    new_spacing = tuple(float(s * a) for s, a in zip(spacing_mm, actual))
    return out_mag, out_phase, new_spacing, new_affine  # type: ignore[return-value]


def prepare(magnitude: np.ndarray, phase: np.ndarray | None, spacing_mm: tuple[float, float, float],
            affine: np.ndarray, paramagnetic_sign: int = -1) -> Prepared:
    """Analysis grid, brain mask (k-means + morphology), homodyne phase and SWI composite of one study.

    ``paramagnetic_sign`` is the sign paramagnetic sources have in the input phase (-1: right-handed,
    this package's and the phantom's convention; +1: the opposite handedness, flipped here).
    """
    mag, ph, spacing, grid_affine = to_analysis_grid(magnitude.astype(np.float32), phase, spacing_mm, affine)
    mask = brain_mask(mag, spacing)
    hp = None
    swi = mag
    if ph is not None:
        hp = homodyne_highpass(mag, ph, spacing) * np.float32(-paramagnetic_sign)
        swi = swi_composite(mag, hp)
    return Prepared(swi=normalise(swi, mask), magnitude=normalise(mag, mask), hp_phase=hp, mask=mask,
                    spacing_mm=spacing, affine=grid_affine)
