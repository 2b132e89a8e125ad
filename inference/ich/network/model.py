"""The hemorrhage network: 2D slice encoder -> two BiLSTM layers -> slice head and study head.

Seeds: Patel et al. 2019 (CNN + 2 BiLSTM), the RSNA 2019 winners (2D CNN + bidirectional RNN over slice
embeddings), EfficientNet-B0 + BiLSTM + multi-head attention (the ``attention_heads`` option).

Saliency is a class activation map (CAM, Zhou et al. 2016) rather than Grad-CAM, so that it is part of
the exported graph and works in every engine: an auxiliary linear classifier (``cam_head``) reads the
globally pooled encoder features; applied as a 1x1 convolution to the encoder's last feature map it gives
a map whose spatial mean equals the auxiliary logit. Training adds a slice-level loss on
:meth:`HemorrhageNet.aux_logits` so that the map localises the finding.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from inference.ich.labels import ANY_INDEX, LABELS
from inference.ich.network.efficientnet import EfficientNetB0Encoder
from inference.ich.network.vgg import VGGEncoder

ENCODERS = ("vgg", "efficientnet_b0")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a :class:`HemorrhageNet`; stored in the weights' JSON sidecar."""

    encoder: str = "vgg"
    lstm_hidden: int = 256
    lstm_layers: int = 2
    attention_heads: int = 0
    input_size: int = 256
    encoder_width: int = 32
    """Filters of the first VGG unit (doubling per unit: 32 gives a 512-d feature); ignored by efficientnet_b0."""

    def __post_init__(self) -> None:
        if self.encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, got {self.encoder!r}")
        if self.encoder_width < 2:
            raise ValueError(f"encoder_width must be at least 2, got {self.encoder_width}")
        if self.attention_heads < 0 or (self.attention_heads and (2 * self.lstm_hidden) % self.attention_heads):
            raise ValueError(
                f"attention_heads must be 0 or divide 2 * lstm_hidden = {2 * self.lstm_hidden}, "
                f"got {self.attention_heads}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        return cls(**known)


def build_encoder(name: str, width: int = 32) -> VGGEncoder | EfficientNetB0Encoder:
    """The slice encoder called ``name`` (one of :data:`ENCODERS`); ``width`` sets the VGG's first unit."""
    if name == "vgg":
        return VGGEncoder(stem_channels=max(1, width // 2), widths=tuple(width * 2**i for i in range(5)))
    if name == "efficientnet_b0":
        return EfficientNetB0Encoder()
    raise ValueError(f"encoder must be one of {ENCODERS}, got {name!r}")


class HemorrhageNet(nn.Module):
    """Slice-sequence classifier for intracranial hemorrhage.

    The encoder runs on slice batches (:meth:`encode`), the sequence part once on all slice features
    (:meth:`sequence`), so a long series never holds all encoder activations at once.
    """

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config or ModelConfig()
        self.encoder = build_encoder(self.config.encoder, self.config.encoder_width)
        features = self.encoder.out_channels
        classes = len(LABELS)
        self.cam_head = nn.Linear(features, classes)
        self.lstm = nn.LSTM(
            features, self.config.lstm_hidden, num_layers=self.config.lstm_layers,
            batch_first=True, bidirectional=True,
        )
        sequence_width = 2 * self.config.lstm_hidden
        self.attention: nn.MultiheadAttention | None = None
        self.attention_norm: nn.LayerNorm | None = None
        if self.config.attention_heads:
            self.attention = nn.MultiheadAttention(sequence_width, self.config.attention_heads, batch_first=True)
            self.attention_norm = nn.LayerNorm(sequence_width)
        self.slice_head = nn.Linear(sequence_width, classes)
        self.study_head = nn.Linear(2 * sequence_width, classes)

    @property
    def feature_size(self) -> int:
        return int(self.encoder.out_channels)

    def encode(self, slices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Slices [B, 3, H, W] -> (pooled features [B, F], last feature map [B, F, h, w])."""
        feature_map = self.encoder(slices)
        return feature_map.mean(dim=(2, 3)), feature_map

    def aux_logits(self, features: torch.Tensor) -> torch.Tensor:
        """Auxiliary per-slice logits [B, 6] from pooled features alone (the CAM classifier)."""
        logits: torch.Tensor = self.cam_head(features)
        return logits

    def saliency(self, feature_map: torch.Tensor) -> torch.Tensor:
        """CAM of the "any" class [B, h, w], rectified and scaled to [0, 1] per slice."""
        weight = self.cam_head.weight[ANY_INDEX].view(1, -1, 1, 1)
        cam = torch.relu((feature_map * weight).sum(dim=1) + self.cam_head.bias[ANY_INDEX])
        peak = cam.amax(dim=(1, 2), keepdim=True)
        return cam / (peak + 1e-6)

    def sequence(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Slice features [N, F] (foot to head) -> (slice logits [N, 6], study logits [6])."""
        hidden, _ = self.lstm(features.unsqueeze(0))
        if self.attention is not None and self.attention_norm is not None:
            attended, _ = self.attention(hidden, hidden, hidden, need_weights=False)
            hidden = self.attention_norm(hidden + attended)
        hidden = hidden.squeeze(0)
        pooled = torch.cat([hidden.mean(dim=0), hidden.amax(dim=0)])
        return self.slice_head(hidden), self.study_head(pooled)

    def forward(self, slices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Slices [N, 3, H, W] of one series -> (slice logits [N, 6], study logits [6]); for training."""
        features, _ = self.encode(slices)
        return self.sequence(features)


class EncoderGraph(nn.Module):
    """Exported part 1: slices [B, 3, H, W] -> (features [B, F], saliency [B, h, w])."""

    def __init__(self, net: HemorrhageNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, slices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features, feature_map = self.net.encode(slices)
        return features, self.net.saliency(feature_map)


class SequenceGraph(nn.Module):
    """Exported part 2: features [N, F] -> (slice probabilities [N, 6], study probabilities [6])."""

    def __init__(self, net: HemorrhageNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        slice_logits, study_logits = self.net.sequence(features)
        return torch.sigmoid(slice_logits), torch.sigmoid(study_logits)
