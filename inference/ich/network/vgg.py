"""VGG-style slice encoder after Patel et al. 2019: units of two 3x3 convolutions and a max pooling,
filters doubling from unit to unit, ending in a 512-channel feature map.

Width/speed choice: a stride-2 convolution stem followed by 2x2 max pooling brings the 256x256 input to
64x64 before the first unit (as ResNet's stem does), and the units start at 32 filters. The five units
(32, 64, 128, 256, 512) run at 64, 32, 16, 8 and 8 pixels (no pooling after the fourth), so the first four
units cost about the same, the last four times as much, and the last feature map is 8x8 for the saliency
maps. A slice costs about 0.9 GFLOP (7.9 M parameters in the whole network), so that a 40-slice study
runs end to end in well under 2 s on two CPU cores.
"""

from __future__ import annotations

import torch
from torch import nn


def _conv_bn_relu(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class VGGEncoder(nn.Module):
    """Slices [B, 3, H, W] -> last feature map [B, 512, H/32, W/32].

    Parameters
    ----------
    in_channels
        Input channels (the three CT windows).
    stem_channels
        Filters of the stride-2 stem convolution.
    widths
        Filters of each unit; each doubles the previous one, the last is the feature size.
    """

    def __init__(
        self, in_channels: int = 3, stem_channels: int = 16, widths: tuple[int, ...] = (32, 64, 128, 256, 512)
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv_bn_relu(in_channels, stem_channels, stride=2), nn.MaxPool2d(2)]
        previous = stem_channels
        for index, width in enumerate(widths):
            layers += [_conv_bn_relu(previous, width), _conv_bn_relu(width, width)]
            if index < len(widths) - 2:
                layers.append(nn.MaxPool2d(2))
            previous = width
        self.features = nn.Sequential(*layers)
        self.out_channels = widths[-1]
        self.stride = 4 * 2 ** max(0, len(widths) - 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features: torch.Tensor = self.features(x)
        return features
