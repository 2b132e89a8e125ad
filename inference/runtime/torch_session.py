"""Torch sessions: an ``nn.Module`` in eager mode on the CPU, or on CUDA under fp16 autocast."""

from __future__ import annotations

import numpy as np
import torch

from inference.errors import BackendUnavailableError


class TorchSession:
    """Run ``module(*inputs)`` -> one tensor or a tuple, named by ``output_names``.

    Parameters
    ----------
    module
        Called with one tensor per input name, in that order.
    input_names, output_names
        The names of its positional inputs and of its outputs, in order.
    device
        ``cpu`` or ``cuda`` (``cuda:N`` too); CUDA runs under fp16 autocast. Outputs come back as float32.
    """

    def __init__(self, module: torch.nn.Module, input_names: tuple[str, ...], output_names: tuple[str, ...],
                 device: str = "cpu") -> None:
        self.device = torch.device(device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise BackendUnavailableError(f"device {device!r} requested for the torch engine but CUDA is not available")
        if self.device.type not in ("cpu", "cuda"):
            raise BackendUnavailableError(f"device must be cpu or cuda for the torch engine, got {device!r}")
        self.module = module.eval().to(self.device)
        self.fp16 = self.device.type == "cuda"
        self.input_names, self.output_names = input_names, output_names

    @property
    def description(self) -> str:
        return f"torch:{self.device}" + (":fp16" if self.fp16 else "")

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        tensors = [torch.from_numpy(feeds[name]).to(self.device, non_blocking=True) for name in self.input_names]
        with torch.inference_mode(), torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=self.fp16):
            result = self.module(*tensors)
        values = result if isinstance(result, tuple) else (result,)
        if len(values) != len(self.output_names):
            raise ValueError(f"module returned {len(values)} outputs, expected {self.output_names}")
        return {name: value.float().cpu().numpy() for name, value in zip(self.output_names, values)}
