"""Small vectorised shape and texture primitives evaluated on :class:`PlaneCoords` (reference mm)."""

from __future__ import annotations

import math

import numpy as np

from inference.ich.phantoms.head import PlaneCoords


def ellipsoid(
    p: PlaneCoords, centre: tuple[float, float, float] | np.ndarray, axes: tuple[float, float, float] | np.ndarray, yaw_deg: float = 0.0
) -> np.ndarray:
    """Squared normalised distance to an ellipsoid centre (<= 1 inside), optionally turned about z.

    ``yaw_deg`` turns the ellipsoid's first axis from +x towards +y.
    """
    dx = p.x - np.float32(centre[0])
    dy = p.y - np.float32(centre[1])
    dz = p.z - np.float32(centre[2])
    if yaw_deg:
        c, s = np.float32(math.cos(math.radians(yaw_deg))), np.float32(math.sin(math.radians(yaw_deg)))
        dx, dy = c * dx + s * dy, -s * dx + c * dy
    distance: np.ndarray = (dx / np.float32(axes[0])) ** 2 + (dy / np.float32(axes[1])) ** 2 + (dz / np.float32(axes[2])) ** 2
    return distance


def random_waves(
    rng: np.random.Generator, count: int, wavelength_mm: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Random plane waves for :func:`texture`: wave vectors [count, 3] (rad/mm) and phases [count]."""
    directions = rng.normal(size=(count, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    lengths = rng.uniform(wavelength_mm[0], wavelength_mm[1], size=(count, 1))
    return (2.0 * math.pi * directions / lengths).astype(np.float32), rng.uniform(0.0, 2.0 * math.pi, size=count).astype(np.float32)


def texture(p: PlaneCoords, k: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Smooth solid texture in [-1, 1]: the mean of cosine plane waves (reference coordinates)."""
    out = np.zeros_like(p.x)
    for (kx, ky, kz), ph in zip(k.astype(np.float32), phase.astype(np.float32)):
        out += np.cos(kx * p.x + ky * p.y + kz * p.z + ph)
    return out / np.float32(len(phase))


def sigmoid(value: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(value, dtype=np.float32)))


def paste(target: np.ndarray, box: tuple[slice, slice] | None, mask: np.ndarray, value: np.ndarray | float) -> None:
    """Write ``value`` where ``mask`` is true into ``target[box]`` (``value`` may be an array the size of the box)."""
    if box is None:
        return
    region = target[box]
    if isinstance(value, np.ndarray):
        region[mask] = value[mask]
    else:
        region[mask] = value
