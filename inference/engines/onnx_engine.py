"""The ONNX Runtime engine: the exported model on the CPU or CUDA execution provider.

The exported file is split at ``features`` (:func:`inference.export.split_model`) into an encoder
session run on slice batches and a sequence session run once. Sessions use every graph optimisation ONNX
Runtime has (constant folding, Conv+BatchNorm+ReLU fusion, NCHWc layout on x86).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from inference.checkpoint import ModelInfo
from inference.engines.base import DEFAULT_BATCH_SIZE, Engine
from inference.errors import BackendUnavailableError, EngineError, ExportError
from inference.export import FEATURES_NAME, INPUT_NAME, split_model
from inference.prediction import Prediction
from inference.volume import Volume

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


class OnnxRuntimeEngine(Engine):
    """Run an exported model with ONNX Runtime.

    Parameters
    ----------
    onnx_path
        Model written by :func:`inference.export.export_onnx`.
    info
        Identity of the model.
    device
        ``cpu`` or ``cuda`` (CUDA execution provider, falling back to CPU for unsupported nodes).
    batch_size
        Slices per encoder batch.
    threads
        Intra-op threads; ``None`` lets ONNX Runtime use the physical cores.
    """

    backend = "onnxruntime"

    def __init__(
        self, onnx_path: Path, info: ModelInfo, device: str = "cpu",
        batch_size: int = DEFAULT_BATCH_SIZE, threads: int | None = None,
    ) -> None:
        super().__init__(info, batch_size)
        provider = PROVIDERS.get(device.split(":")[0])
        if provider is None:
            raise BackendUnavailableError(f"device must be cpu or cuda for onnxruntime, got {device!r}")
        if provider not in ort.get_available_providers():
            raise BackendUnavailableError(
                f"onnxruntime has no {provider} here (available: {ort.get_available_providers()})"
            )
        providers = [provider] if provider == "CPUExecutionProvider" else [provider, "CPUExecutionProvider"]
        try:
            encoder, sequence = split_model(onnx.load_model(onnx_path))
            options = session_options(threads)
            self.encoder = ort.InferenceSession(encoder.SerializeToString(), options, providers=providers)
            self.sequence = ort.InferenceSession(sequence.SerializeToString(), options, providers=providers)
        except ExportError:
            raise
        except Exception as exc:  # onnx and onnxruntime raise their own exception types
            raise EngineError(f"cannot build onnxruntime sessions from {onnx_path}: {exc}") from exc
        self.provider = provider
        logger.debug("onnxruntime sessions on %s from %s", providers, onnx_path)

    @property
    def description(self) -> str:
        return f"onnxruntime:{self.provider}"

    def predict(self, volume: Volume, intracranial: np.ndarray | None = None) -> Prediction:
        """As :meth:`Engine.predict`, with torch (used here only to preprocess) on one thread.

        torch's idle OpenMP workers spin between batches and take the cores ONNX Runtime needs; on two
        cores this alone costs ONNX Runtime a third of its speed. The setting is process-wide and is
        restored on return.
        """
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return super().predict(volume, intracranial)
        finally:
            torch.set_num_threads(threads)

    def _encode(self, slices: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        features, saliency = self.encoder.run([FEATURES_NAME, "saliency"], {INPUT_NAME: slices.numpy()})
        return features, saliency

    def _sequence(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        slice_probs, study_probs = self.sequence.run(["slice_probs", "study_probs"], {FEATURES_NAME: features})
        return slice_probs, study_probs
