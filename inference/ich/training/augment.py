"""Augmentation of HU series before windowing: one random draw per series, applied to all its slices.

Geometric: left-right flip, rotation, zoom (real scans are often cropped tighter than the phantoms' field
of view) and shift. Intensity: HU offset and gain, blur or extra noise. "Pre-windowed": with probability
``prewindowed`` the series is clipped to the brain window and quantised to 8 bits, as an exported PNG
slice is (see :func:`inference.ich.training.sources.png_to_hu`), so the encoder also learns from the input
such slices give.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from inference.ich.training.sources import PNG_WINDOW, png_to_hu

AIR_HU = -1024.0


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random transforms; ``enabled=False`` returns the input unchanged."""

    enabled: bool = True
    flip: float = 0.5
    rotate_degrees: float = 10.0
    zoom: tuple[float, float] = (0.9, 1.3)
    shift: float = 0.06
    hu_offset: float = 6.0
    hu_gain: float = 0.05
    blur: float = 0.25
    noise: float = 0.15
    prewindowed: float = 0.2


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = max(1, int(math.ceil(2.5 * sigma)))
    grid = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-(grid**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    x = x.unsqueeze(1)
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="replicate"), kernel.view(1, 1, 1, -1))
    x = F.conv2d(F.pad(x, (0, 0, radius, radius), mode="replicate"), kernel.view(1, 1, -1, 1))
    return x.squeeze(1)


def augment_series(hu: torch.Tensor, rng: np.random.Generator, config: AugmentConfig = AugmentConfig()) -> torch.Tensor:
    """Randomly transform a series.

    Parameters
    ----------
    hu
        float32 [slices, rows, cols] in HU, on any device (the result stays there; the noise is drawn on the
        CPU so that a seed gives the same draws everywhere).
    rng
        Source of the random draws (seeded by the trainer, so runs repeat).
    config
        Ranges.

    Returns
    -------
    torch.Tensor
        float32 [slices, rows, cols] in HU, same shape.
    """
    if not config.enabled:
        return hu
    x = hu.to(torch.float32)
    angle = math.radians(rng.uniform(-config.rotate_degrees, config.rotate_degrees))
    zoom = rng.uniform(*config.zoom)
    flip = -1.0 if rng.uniform() < config.flip else 1.0
    tx, ty = rng.uniform(-config.shift, config.shift, size=2)
    cos, sin = math.cos(angle) / zoom, math.sin(angle) / zoom
    theta = torch.tensor([[flip * cos, -sin, tx], [flip * sin, cos, ty]], dtype=torch.float32, device=x.device)
    grid = F.affine_grid(theta.expand(x.shape[0], 2, 3), [x.shape[0], 1, *x.shape[1:]], align_corners=False)
    x = F.grid_sample((x - AIR_HU).unsqueeze(1), grid, mode="bilinear", padding_mode="zeros",
                      align_corners=False).squeeze(1) + AIR_HU
    x = x * (1.0 + rng.uniform(-config.hu_gain, config.hu_gain)) + rng.uniform(-config.hu_offset, config.hu_offset)
    if rng.uniform() < config.blur:
        x = _gaussian_blur(x, rng.uniform(0.5, 1.5))
    elif rng.uniform() < config.noise:
        gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
        x = x + torch.randn(x.shape, generator=gen).to(x.device) * rng.uniform(2.0, 6.0)
    if rng.uniform() < config.prewindowed:
        centre, width = PNG_WINDOW
        gray = ((x - (centre - width / 2)) / width * 255.0).clamp(0, 255).round()
        x = torch.from_numpy(png_to_hu(gray.cpu().numpy())).to(x.device)
    return x.contiguous()
