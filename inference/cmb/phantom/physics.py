"""Gradient-echo physics of the SWI phantom: dipole field, spoiled-GRE signal, voxel averaging, noise.

1. Field. The field perturbation along B0 (patient z, axis 0 of the arrays) of a susceptibility
   distribution is the convolution with the unit dipole; in k-space
   ``dB/B0 = F^-1[ (1/3 - kz^2 / |k|^2) F[chi] ]`` (Salomir et al. 2003, Concepts Magn Reson B 19:26;
   Marques and Bowtell 2005, Concepts Magn Reson B 25:65), with the k = 0 term set to zero (the mean field
   is absorbed by the scanner's frequency adjustment). The grid is zero-padded by ``pad_mm`` on every side
   to limit wrap-around of the dipole field.
2. Signal. Spoiled GRE steady state ``S = PD sin(a) (1 - E1) / (1 - cos(a) E1) exp(-TE R2*)`` with
   ``E1 = exp(-TR / T1)`` (Ernst), times ``exp(-i gamma dB TE)``: in this right-handed convention a
   paramagnetic source (chi > 0, dB > 0 at its centre) gives *negative* phase at its centre and a
   diamagnetic one positive phase.
3. Voxel. Each acquired voxel is the complex mean of the fine-grid voxels it contains, so intravoxel
   dephasing (blooming of microbleeds and veins) and the dipole phase pattern arise by themselves.
4. Noise. Circular complex Gaussian noise, sigma chosen from the white-matter SNR; a smooth background phase
   (receiver offset plus a residual shim field) is added before wrapping to (-pi, pi].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.cmb.phantom.anatomy import Tissue

GAMMA_HZ_PER_T = 42.577e6


@dataclass(frozen=True)
class Sequence:
    """Acquisition parameters (defaults: 3T SWI of Liu et al. 2019, NeuroImage 198:271)."""

    field_t: float = 3.0
    tr_s: float = 0.027
    te_s: float = 0.020
    flip_deg: float = 15.0


# proton density, T1 (s), T2* (s) per tissue at 3T (Wansapura et al. 1999; Peters et al. 2007 for T2*)
TISSUE_PROPERTIES: dict[Tissue, tuple[float, float, float]] = {
    Tissue.AIR: (0.0, 1.0, 1.0),
    Tissue.SCALP: (0.9, 0.4, 0.030),
    Tissue.BONE: (0.08, 0.3, 0.002),
    Tissue.CSF: (1.0, 4.2, 0.200),
    Tissue.GREY: (0.82, 1.35, 0.052),
    Tissue.WHITE: (0.70, 0.85, 0.045),
    Tissue.DEEP_GREY: (0.78, 1.20, 0.033),
    Tissue.VEIN: (0.85, 1.60, 0.012),
    Tissue.MICROBLEED: (0.60, 1.00, 0.006),
    Tissue.CALCIFICATION: (0.25, 1.00, 0.010),
    Tissue.SINUS_AIR: (0.0, 1.0, 1.0),
}


def dipole_field(chi_ppm: np.ndarray, spacing_mm: tuple[float, float, float], pad_mm: float = 16.0,
                 ) -> np.ndarray:
    """Relative field perturbation ``dB / B0`` in ppm of a susceptibility map ``[z, y, x]`` (B0 along z)."""
    pads = [int(np.ceil(pad_mm / s)) for s in spacing_mm]
    padded = np.pad(chi_ppm.astype(np.float32), [(p, p) for p in pads])
    shape = padded.shape
    kz = np.fft.fftfreq(shape[0], d=spacing_mm[0]).astype(np.float32)[:, None, None]
    ky = np.fft.fftfreq(shape[1], d=spacing_mm[1]).astype(np.float32)[None, :, None]
    kx = np.fft.rfftfreq(shape[2], d=spacing_mm[2]).astype(np.float32)[None, None, :]
    k2 = kz * kz + ky * ky + kx * kx
    k2[0, 0, 0] = 1.0
    kernel = np.float32(1.0 / 3.0) - kz * kz / k2
    kernel[0, 0, 0] = 0.0
    spectrum = np.fft.rfftn(padded)
    spectrum *= kernel
    field = np.fft.irfftn(spectrum, s=shape, axes=(0, 1, 2)).astype(np.float32)
    return field[pads[0]:pads[0] + chi_ppm.shape[0], pads[1]:pads[1] + chi_ppm.shape[1],
                 pads[2]:pads[2] + chi_ppm.shape[2]]


def tissue_signal(labels: np.ndarray, seq: Sequence) -> np.ndarray:
    """Real spoiled-GRE signal amplitude per fine voxel from its tissue label (no phase)."""
    alpha = np.radians(seq.flip_deg)
    lut = np.zeros(max(int(t) for t in Tissue) + 1, dtype=np.float32)
    for tissue, (pd, t1, t2s) in TISSUE_PROPERTIES.items():
        e1 = np.exp(-seq.tr_s / t1)
        lut[tissue] = pd * np.sin(alpha) * (1 - e1) / (1 - np.cos(alpha) * e1) * np.exp(-seq.te_s / t2s)
    signal: np.ndarray = lut[labels]
    return signal


def block_mean(fine: np.ndarray, factors: tuple[int, int, int]) -> np.ndarray:
    """Mean over non-overlapping blocks of ``factors`` voxels (the acquired voxel)."""
    fz, fy, fx = factors
    nz, ny, nx = (s // f for s, f in zip(fine.shape, factors))
    view = fine[: nz * fz, : ny * fy, : nx * fx].reshape(nz, fz, ny, fy, nx, fx)
    mean: np.ndarray = view.mean(axis=(1, 3, 5))
    return mean


def acquire(labels: np.ndarray, field_ppm: np.ndarray, factors: tuple[int, int, int], seq: Sequence,
            rng: np.random.Generator, snr_white: float, background_phase: np.ndarray) -> np.ndarray:
    """Complex acquired image ``[z, y, x]``: fine-grid GRE signal, voxel-averaged, with background and noise.

    ``background_phase`` is on the acquired grid (radians); ``snr_white`` is the white-matter signal over the
    noise standard deviation of each of the real and imaginary parts.
    """
    omega_te = 2 * np.pi * GAMMA_HZ_PER_T * seq.field_t * 1e-6 * seq.te_s     # radians per ppm at TE
    fine = tissue_signal(labels, seq) * np.exp(-1j * np.float32(omega_te) * field_ppm).astype(np.complex64)
    image = block_mean(fine, factors).astype(np.complex64)
    white = float(tissue_signal(np.array([Tissue.WHITE], dtype=np.uint8), seq)[0])
    sigma = white / snr_white
    noise = rng.normal(scale=sigma, size=(2, *image.shape)).astype(np.float32)
    image = image * np.exp(1j * background_phase).astype(np.complex64) + (noise[0] + 1j * noise[1])
    acquired: np.ndarray = image.astype(np.complex64)
    return acquired


def smooth_background_phase(shape: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    """Receiver phase offset plus a residual second-order shim field across the field of view (radians)."""
    z, y, x = np.meshgrid(*(np.linspace(-1, 1, n, dtype=np.float32) for n in shape), indexing="ij",
                          sparse=True)
    c = rng.uniform(-1, 1, size=7)
    phase: np.ndarray = (
        np.float32(rng.uniform(-np.pi, np.pi)) + np.float32(2.5 * c[0]) * x + np.float32(2.5 * c[1]) * y
        + np.float32(1.5 * c[2]) * z + np.float32(2.0 * c[3]) * x * y + np.float32(2.0 * c[4]) * x * x
        + np.float32(2.0 * c[5]) * y * y + np.float32(1.5 * c[6]) * z * z).astype(np.float32)
    return phase
