"""Image formation effects: in-plane partial-volume blur and correlated, bone-dependent quantum noise.

Partial volume across the slice thickness comes from averaging sub-planes (see
:mod:`inference.ich.phantoms.study`); here the in-plane point spread is a Gaussian of about 0.4 mm, and the
noise is Gaussian, spatially correlated like a CT reconstruction kernel's, with a standard deviation that
rises with the amount of bone in the slice (photon starvation and beam hardening at the skull base).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

PSF_MM = 0.4
"""Standard deviation of the in-plane point spread function (mm)."""


def blur(hu: np.ndarray, pixel_mm: float) -> np.ndarray:
    """Partial-volume blur of one plane with a Gaussian of :data:`PSF_MM` (at least 0.5 pixel)."""
    sigma = max(0.5, PSF_MM / pixel_mm)
    blurred: np.ndarray = ndimage.gaussian_filter(hu, sigma=sigma, mode="nearest")
    return blurred


def noise_sigma(base_sigma: float, bone_fraction: float) -> float:
    """Noise standard deviation (HU) of a slice whose head area is ``bone_fraction`` bone."""
    return base_sigma * (1.0 + 1.2 * min(max(bone_fraction, 0.0), 0.6))


def correlated_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float, pixel_mm: float) -> np.ndarray:
    """Gaussian noise of standard deviation ``sigma`` correlated over about 0.6 mm."""
    white = rng.standard_normal(shape, dtype=np.float32)
    corr = max(0.5, 0.6 / pixel_mm)
    smooth: NDArray[np.float32] = ndimage.gaussian_filter(white, sigma=corr, mode="wrap")
    # A Gaussian filter of width s divides the standard deviation of white noise by 2 s sqrt(pi).
    return smooth * np.float32(sigma * 2.0 * corr * np.sqrt(np.pi))
