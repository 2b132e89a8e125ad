"""Choosing a backend: ``auto`` picks the fastest one this machine has.

On a CUDA GPU: TensorRT if installed, else ONNX Runtime with the CUDA provider, else torch on CUDA.
On the CPU: ONNX Runtime, else torch. ``triton`` runs remotely and is never chosen by ``auto``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import torch

from inference.errors import BackendUnavailableError

BACKENDS = ("torch", "onnxruntime", "tensorrt", "triton")


def default_cache_dir() -> Path:
    """Where exported ONNX files and TensorRT engines are cached: ``$XDG_CACHE_HOME/dicomnode/inference``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dicomnode" / "inference"


def installed(module: str) -> bool:
    """Whether ``module`` can be imported here (without importing it)."""
    return importlib.util.find_spec(module) is not None


def ort_has_cuda() -> bool:
    """Whether the installed ONNX Runtime has the CUDA execution provider."""
    if not installed("onnxruntime"):
        return False
    import onnxruntime

    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


def resolve_device(device: str = "auto") -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BackendUnavailableError(f"device {device!r} requested but torch.cuda.is_available() is False")
    if device != "cpu" and not device.startswith("cuda"):
        raise BackendUnavailableError(f"device must be auto, cpu or cuda, got {device!r}")
    return device


def select_backend(backend: str = "auto", device: str = "cpu") -> str:
    """The backend to use for ``backend`` (``auto`` or one of :data:`BACKENDS`) on ``device``."""
    if backend not in ("auto", *BACKENDS):
        raise BackendUnavailableError(f"backend must be auto or one of {BACKENDS}, got {backend!r}")
    if backend != "auto":
        return backend
    if device.startswith("cuda"):
        if installed("tensorrt"):
            return "tensorrt"
        return "onnxruntime" if ort_has_cuda() else "torch"
    return "onnxruntime" if installed("onnxruntime") else "torch"


def available_backends(device: str = "cpu") -> list[str]:
    """Backends that can run on ``device`` here, fastest last."""
    found = ["torch"]
    if installed("onnxruntime") and (device == "cpu" or ort_has_cuda()):
        found.append("onnxruntime")
    if device.startswith("cuda") and installed("tensorrt"):
        found.append("tensorrt")
    return found
