"""ONNX Runtime sessions on the CPU or CUDA execution provider, with every graph optimisation it has
(constant folding, Conv+BatchNorm+ReLU fusion, NCHWc layout on x86)."""

from __future__ import annotations

import logging

import numpy as np
import onnx
import onnxruntime as ort

from inference.errors import BackendUnavailableError

logger = logging.getLogger(__name__)

PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """Options with all graph optimisations; ``threads`` intra-op threads (default: physical cores)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Without spinning, idle ORT threads do not steal the cores the next batch's preprocessing needs.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads:
        options.intra_op_num_threads = threads
    return options


def providers_for(device: str) -> list[str]:
    """Execution providers for ``cpu`` or ``cuda`` (CUDA falls back to the CPU for unsupported nodes)."""
    provider = PROVIDERS.get(device.split(":")[0])
    if provider is None:
        raise BackendUnavailableError(f"device must be cpu or cuda for onnxruntime, got {device!r}")
    if provider not in ort.get_available_providers():
        raise BackendUnavailableError(f"onnxruntime has no {provider} here (available: {ort.get_available_providers()})")
    return [provider] if provider == "CPUExecutionProvider" else [provider, "CPUExecutionProvider"]


class OnnxRuntimeSession:
    """One ONNX graph in an ``onnxruntime.InferenceSession``.

    Parameters
    ----------
    model
        The graph (a ``ModelProto`` or its serialized bytes).
    device
        ``cpu`` or ``cuda``.
    threads
        Intra-op threads; ``None`` lets ONNX Runtime use the physical cores.
    """

    def __init__(self, model: onnx.ModelProto | bytes, device: str = "cpu", threads: int | None = None) -> None:
        providers = providers_for(device)
        data = model.SerializeToString() if isinstance(model, onnx.ModelProto) else model
        self._session = ort.InferenceSession(data, session_options(threads), providers=providers)
        self.provider = providers[0]
        self.input_names = tuple(i.name for i in self._session.get_inputs())
        self.output_names = tuple(o.name for o in self._session.get_outputs())
        logger.debug("onnxruntime session on %s: %s -> %s", providers, self.input_names, self.output_names)

    @property
    def description(self) -> str:
        return f"onnxruntime:{self.provider}"

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        values = self._session.run(list(self.output_names), {name: feeds[name] for name in self.input_names})
        return dict(zip(self.output_names, values))
