"""The torch engine: eager PyTorch on CPU, or CUDA with fp16 autocast."""

from __future__ import annotations

import logging

import numpy as np
import torch

from inference.checkpoint import ModelInfo
from inference.engines.base import DEFAULT_BATCH_SIZE, Engine
from inference.errors import BackendUnavailableError
from inference.network import HemorrhageNet

logger = logging.getLogger(__name__)


class TorchEngine(Engine):
    """Run :class:`HemorrhageNet` in eager mode.

    Parameters
    ----------
    net, info
        The network and its identity.
    device
        ``cpu`` or ``cuda`` (``cuda:N`` too); CUDA runs the encoder under fp16 autocast.
    batch_size
        Slices per encoder batch.
    """

    backend = "torch"

    def __init__(self, net: HemorrhageNet, info: ModelInfo, device: str = "cpu", batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        super().__init__(info, batch_size)
        self.device = torch.device(device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise BackendUnavailableError(f"device {device!r} requested for the torch engine but CUDA is not available")
        if self.device.type not in ("cpu", "cuda"):
            raise BackendUnavailableError(f"device must be cpu or cuda for the torch engine, got {device!r}")
        self.net = net.eval().to(self.device)
        self.fp16 = self.device.type == "cuda"

    @property
    def description(self) -> str:
        return f"torch:{self.device}" + (":fp16" if self.fp16 else "")

    def _autocast(self) -> torch.autocast:
        return torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=self.fp16)

    def _encode(self, slices: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode(), self._autocast():
            features, feature_map = self.net.encode(slices.to(self.device, non_blocking=True))
            saliency = self.net.saliency(feature_map.float())
        return features.float().cpu().numpy(), saliency.cpu().numpy()

    def _sequence(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode(), self._autocast():
            slice_logits, study_logits = self.net.sequence(torch.from_numpy(features).to(self.device))
        return torch.sigmoid(slice_logits.float()).cpu().numpy(), torch.sigmoid(study_logits.float()).cpu().numpy()
