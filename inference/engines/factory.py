"""Choosing and building an engine: ``auto`` picks the fastest backend this machine has.

On a CUDA GPU: TensorRT if installed, else ONNX Runtime with the CUDA provider, else torch on CUDA.
On the CPU: ONNX Runtime, else torch.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path

import torch

from inference.checkpoint import ModelInfo, load_model
from inference.engines.base import DEFAULT_BATCH_SIZE, Engine
from inference.errors import BackendUnavailableError
from inference.network import HemorrhageNet

logger = logging.getLogger(__name__)

BACKENDS = ("torch", "onnxruntime", "tensorrt", "triton")


def default_cache_dir() -> Path:
    """Where exported ONNX files and TensorRT engines are cached: ``$XDG_CACHE_HOME/dicomnode/inference``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dicomnode" / "inference"


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _ort_has_cuda() -> bool:
    if not _installed("onnxruntime"):
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
        if _installed("tensorrt"):
            return "tensorrt"
        return "onnxruntime" if _ort_has_cuda() else "torch"
    return "onnxruntime" if _installed("onnxruntime") else "torch"


def available_backends(device: str = "cpu") -> list[str]:
    """Backends that can run on ``device`` here, fastest last."""
    found = ["torch"]
    if _installed("onnxruntime") and (device == "cpu" or _ort_has_cuda()):
        found.append("onnxruntime")
    if device.startswith("cuda") and _installed("tensorrt"):
        found.append("tensorrt")
    return found


def build_engine(
    net: HemorrhageNet, info: ModelInfo, backend: str = "auto", device: str = "auto",
    cache_dir: Path | None = None, batch_size: int = DEFAULT_BATCH_SIZE, threads: int | None = None,
    triton_url: str = "", triton_model: str = "ich",
) -> Engine:
    """An engine running ``net`` on ``backend``/``device`` (exporting to ONNX first where needed).

    Parameters
    ----------
    net, info
        The network and its identity, e.g. from :func:`inference.checkpoint.load_model`.
    backend
        ``auto``, ``torch``, ``onnxruntime`` or ``tensorrt``.
    device
        ``auto``, ``cpu`` or ``cuda``.
    cache_dir
        Folder for the exported ONNX and TensorRT engines (default :func:`default_cache_dir`).
    batch_size
        Slices per encoder batch.
    threads
        CPU threads for ONNX Runtime's intra-op pool (``None``: its default).
    triton_url, triton_model
        For ``triton``: the server's HTTP endpoint and the model-name prefix (the server picks the device).
    """
    if backend == "triton":
        from inference.engines.triton_engine import TritonEngine

        return TritonEngine(info, triton_url, triton_model, batch_size=batch_size)
    device = resolve_device(device)
    backend = select_backend(backend, device)
    cache_dir = cache_dir or default_cache_dir()
    logger.info("inference backend %s on %s (model %s %s)", backend, device, info.name, info.version)
    if backend == "tensorrt" and not device.startswith("cuda"):
        raise BackendUnavailableError(f"the tensorrt backend needs device cuda, got {device}")
    if backend == "torch":
        from inference.engines.torch_engine import TorchEngine

        return TorchEngine(net, info, device=device, batch_size=batch_size)
    from inference.export import cached_onnx

    onnx_path = cached_onnx(net, info, cache_dir)
    if backend == "onnxruntime":
        from inference.engines.onnx_engine import OnnxRuntimeEngine

        return OnnxRuntimeEngine(onnx_path, info, device=device, batch_size=batch_size, threads=threads)
    from inference.engines.tensorrt_engine import TensorRTEngine

    return TensorRTEngine(onnx_path, info, cache_dir, device=device, batch_size=batch_size)


def create_engine(
    backend: str = "auto", device: str = "auto", weights: Path | None = None, cache_dir: Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE, threads: int | None = None, triton_url: str = "", triton_model: str = "ich",
) -> Engine:
    """Load the model (``weights``, else shipped, else random init) and build its engine."""
    net, info = load_model(weights)
    return build_engine(net, info, backend, device, cache_dir, batch_size, threads, triton_url, triton_model)
