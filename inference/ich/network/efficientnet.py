"""EfficientNet-B0-style slice encoder in plain torch (Tan & Le 2019): MBConv blocks (inverted
residual with depthwise convolution) with squeeze-and-excitation, SiLU activations, B0's stage table.

Used with the optional multi-head self-attention after the BiLSTM, it forms the
EfficientNet-B0 + BiLSTM + attention hybrid named in the design.
"""

from __future__ import annotations

import torch
from torch import nn

# (expansion, output channels, repeats, first stride, kernel size) of EfficientNet-B0.
B0_STAGES: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 16, 1, 1, 3),
    (6, 24, 2, 2, 3),
    (6, 40, 2, 2, 5),
    (6, 80, 3, 2, 3),
    (6, 112, 3, 1, 5),
    (6, 192, 4, 2, 5),
    (6, 320, 1, 1, 3),
)


def _conv_bn_act(in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_ch),
    ]
    if act:
        layers.append(nn.SiLU(inplace=True))
    return nn.Sequential(*layers)


class SqueezeExcitation(nn.Module):
    """Channel attention: global average pool -> reduce -> SiLU -> expand -> sigmoid gate."""

    def __init__(self, channels: int, reduced: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, reduced, 1)
        self.expand = nn.Conv2d(reduced, channels, 1)
        self.act = nn.SiLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = x.mean(dim=(2, 3), keepdim=True)
        return x * torch.sigmoid(self.expand(self.act(self.reduce(scale))))


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expand, depthwise kxk, squeeze-excitation (0.25), 1x1 project."""

    def __init__(self, in_ch: int, out_ch: int, expansion: int, stride: int, kernel: int) -> None:
        super().__init__()
        hidden = in_ch * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(_conv_bn_act(in_ch, hidden, 1))
        layers += [
            _conv_bn_act(hidden, hidden, kernel, stride=stride, groups=hidden),
            SqueezeExcitation(hidden, max(1, in_ch // 4)),
            _conv_bn_act(hidden, out_ch, 1, act=False),
        ]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.block(x)
        return out + x if self.residual else out


class EfficientNetB0Encoder(nn.Module):
    """Slices [B, 3, H, W] -> last feature map [B, head_channels, H/32, W/32].

    Parameters
    ----------
    in_channels
        Input channels (the three CT windows).
    head_channels
        Filters of the final 1x1 convolution, i.e. the feature size (1280 in EfficientNet-B0).
    """

    def __init__(self, in_channels: int = 3, head_channels: int = 1280) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv_bn_act(in_channels, 32, 3, stride=2)]
        previous = 32
        for expansion, out_ch, repeats, stride, kernel in B0_STAGES:
            for index in range(repeats):
                layers.append(MBConv(previous, out_ch, expansion, stride if index == 0 else 1, kernel))
                previous = out_ch
        layers.append(_conv_bn_act(previous, head_channels, 1))
        self.features = nn.Sequential(*layers)
        self.out_channels = head_channels
        self.stride = 32

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features: torch.Tensor = self.features(x)
        return features
