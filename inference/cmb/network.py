"""Stage 2 of the CMB detector: a small 3D residual CNN that scores one 21^3 two-channel candidate patch.

Liu et al. (2019, NeuroImage 198:271) separate true microbleeds from mimics with deep residual networks
(He et al. 2016, CVPR) on 3D patches of the SWI and the high-pass filtered phase; the phase channel lets
the network tell paramagnetic microbleeds from diamagnetic calcifications by the sign of their dipole
pattern. This network: a 3^3 stem at 21^3, three residual blocks (two 3^3 convolutions with batch
normalisation and an identity or strided 1^3 shortcut) at 11^3, 6^3 and 6^3, global average pooling and a
linear logit (small enough to train on two CPU cores). Channels: 0 = SWI (or magnitude) / brain median,
1 = high-pass phase / pi.
"""

from __future__ import annotations

import torch
from torch import nn

PATCH = 21
CHANNELS = 2


class ResidualBlock3d(nn.Module):
    """Two 3^3 convolutions with batch norm and a shortcut (strided 1^3 convolution when shapes change)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm3d(c_out)
        self.conv2 = nn.Conv3d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm3d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv3d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm3d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + self.shortcut(x))


class CmbResNet3d(nn.Module):
    """Patch classifier: ``(N, 2, 21, 21, 21)`` -> ``(N,)`` logits of "true microbleed"."""

    def __init__(self, width: int = 12) -> None:
        super().__init__()
        self.width = width
        self.stem = nn.Sequential(nn.Conv3d(CHANNELS, width, 3, padding=1, bias=False), nn.BatchNorm3d(width),
                                  nn.ReLU())
        self.stages = nn.Sequential(ResidualBlock3d(width, 2 * width, 2), ResidualBlock3d(2 * width, 4 * width, 2),
                                    ResidualBlock3d(4 * width, 4 * width, 1))
        self.head = nn.Linear(4 * width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.stages(self.stem(x))
        logits: torch.Tensor = self.head(y.mean(dim=(2, 3, 4))).squeeze(1)
        return logits
