"""HU slices to network input: three CT windows as channels, resampled in-plane, float32.

Windows (centre/width in HU) follow the RSNA 2019 winners' three-window input: brain 40/80,
subdural 80/200, bone 600/2800. Each window maps [centre - width/2, centre + width/2] linearly onto
[0, 1] and clips outside (the linear VOI function of PS3.3 C.11.2.1.2, without its half-pixel offsets).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

INPUT_SIZE = 256


@dataclass(frozen=True)
class Window:
    """A display window in HU."""

    name: str
    center: float
    width: float


WINDOWS: tuple[Window, ...] = (
    Window("brain", 40.0, 80.0),
    Window("subdural", 80.0, 200.0),
    Window("bone", 600.0, 2800.0),
)


def apply_windows(hu: torch.Tensor, windows: tuple[Window, ...] = WINDOWS) -> torch.Tensor:
    """Window HU slices into one channel per window.

    Parameters
    ----------
    hu
        [slices, rows, cols] in HU.
    windows
        Windows to apply, in channel order.

    Returns
    -------
    torch.Tensor
        float32 [slices, len(windows), rows, cols] in [0, 1].
    """
    centers = torch.tensor([w.center for w in windows], dtype=torch.float32, device=hu.device).view(1, -1, 1, 1)
    widths = torch.tensor([w.width for w in windows], dtype=torch.float32, device=hu.device).view(1, -1, 1, 1)
    low = centers - widths / 2
    return ((hu.unsqueeze(1) - low) / widths).clamp_(0.0, 1.0)


def preprocess(hu: np.ndarray | torch.Tensor, size: int = INPUT_SIZE) -> torch.Tensor:
    """HU slices -> network input.

    The HU slices are resampled (bilinear, antialiased when shrinking) to ``size`` x ``size`` first,
    then windowed, which costs a third of resampling the three channels. Non-square images are
    stretched to the square grid; saliency maps are mapped back through the same stretch.

    Parameters
    ----------
    hu
        [slices, rows, cols] in HU (any real dtype).
    size
        Side of the square network input.

    Returns
    -------
    torch.Tensor
        float32 [slices, 3, size, size], contiguous, on the CPU.
    """
    tensor = torch.as_tensor(hu).to(torch.float32)
    if tensor.ndim != 3:
        raise ValueError(f"hu must be [slices, rows, cols], got shape {tuple(tensor.shape)}")
    if tensor.shape[1:] != (size, size):
        shrinking = tensor.shape[1] > size or tensor.shape[2] > size
        tensor = F.interpolate(
            tensor.unsqueeze(1), size=(size, size), mode="bilinear", align_corners=False, antialias=shrinking
        ).squeeze(1)
    return apply_windows(tensor).contiguous()
