"""The hemorrhage model on a runtime backend: its two sessions (encoder, sequence) built for torch, ONNX
Runtime, TensorRT or Triton, and :func:`build_predictor` choosing among them (``auto``:
:func:`inference.runtime.backends.select_backend`).

ONNX Runtime and TensorRT run the exported file (:mod:`inference.ich.export`) split at ``features``
(:func:`inference.ich.export.split_model`). TensorRT builds one FP16 engine per part: the encoder over batches of
1..``batch_size`` slices, the sequence part over 1..512. Triton serves the two models written by
:mod:`inference.ich.triton_repository` (``<prefix>_encoder``, ``<prefix>_sequence``); the model hash it serves
(configuration parameter ``model_hash``) must be the hash of the weights this node loaded, so reports never
name a model that did not compute them.
"""

from __future__ import annotations

import logging
from pathlib import Path

import onnx
import torch

from inference.errors import BackendUnavailableError, EngineError, InferenceError
from inference.ich.checkpoint import ModelInfo, load_model
from inference.ich.export import FEATURES_NAME, INPUT_NAME, MAX_SLICES, cached_onnx, split_model
from inference.ich.network import HemorrhageNet
from inference.ich.predictor import DEFAULT_BATCH_SIZE, ENCODER_OUTPUTS, SEQUENCE_OUTPUTS, Predictor
from inference.ich.triton_repository import DEFAULT_PREFIX, SEQUENCE_OPT_SLICES, model_names
from inference.runtime.backends import default_cache_dir, resolve_device, select_backend

logger = logging.getLogger(__name__)


class _TorchEncoder(torch.nn.Module):
    """slices -> (features, saliency), the saliency from the float32 feature map."""

    def __init__(self, net: HemorrhageNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, slices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features, feature_map = self.net.encode(slices)
        return features, self.net.saliency(feature_map.float())


class _TorchSequence(torch.nn.Module):
    """features -> (slice probabilities, study probabilities), the sigmoid in float32."""

    def __init__(self, net: HemorrhageNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        slice_logits, study_logits = self.net.sequence(features)
        return torch.sigmoid(slice_logits.float()), torch.sigmoid(study_logits.float())


def torch_predictor(net: HemorrhageNet, info: ModelInfo, device: str = "cpu",
                    batch_size: int = DEFAULT_BATCH_SIZE) -> Predictor:
    """Eager torch on ``cpu`` or ``cuda`` (fp16 autocast on CUDA)."""
    from inference.runtime.torch_session import TorchSession

    encoder = TorchSession(_TorchEncoder(net), (INPUT_NAME,), ENCODER_OUTPUTS, device)
    sequence = TorchSession(_TorchSequence(net), (FEATURES_NAME,), SEQUENCE_OUTPUTS, device)
    return Predictor(info, encoder, sequence, batch_size)


def onnxruntime_predictor(onnx_path: Path, info: ModelInfo, device: str = "cpu",
                          batch_size: int = DEFAULT_BATCH_SIZE, threads: int | None = None) -> Predictor:
    """The exported model in two ONNX Runtime sessions on the CPU or CUDA provider."""
    from inference.runtime.onnxruntime_session import OnnxRuntimeSession, providers_for

    providers_for(device)
    try:
        encoder_model, sequence_model = split_model(onnx.load_model(onnx_path))
        encoder = OnnxRuntimeSession(encoder_model, device, threads)
        sequence = OnnxRuntimeSession(sequence_model, device, threads)
    except InferenceError:
        raise
    except Exception as exc:  # onnx and onnxruntime raise their own exception types
        raise EngineError(f"cannot build onnxruntime sessions from {onnx_path}: {exc}") from exc
    return Predictor(info, encoder, sequence, batch_size, single_thread_torch=True)


def tensorrt_predictor(onnx_path: Path, info: ModelInfo, cache_dir: Path, device: str = "cuda",
                       batch_size: int = DEFAULT_BATCH_SIZE) -> Predictor:
    """The exported model as two cached TensorRT FP16 engines on a CUDA GPU."""
    from inference.runtime.tensorrt_session import TensorRTSession, import_tensorrt

    import_tensorrt()
    if not torch.cuda.is_available():
        raise BackendUnavailableError("the tensorrt backend needs a CUDA GPU; torch.cuda.is_available() is False")
    encoder_model, sequence_model = split_model(onnx.load_model(onnx_path))
    encoder = TensorRTSession(encoder_model, "encoder", (1, batch_size, batch_size), cache_dir, info.name,
                              info.model_hash, device)
    sequence = TensorRTSession(sequence_model, "sequence", (1, SEQUENCE_OPT_SLICES, MAX_SLICES), cache_dir,
                               info.name, info.model_hash, device)
    return Predictor(info, encoder, sequence, batch_size)


def triton_predictor(info: ModelInfo, url: str, prefix: str = DEFAULT_PREFIX, batch_size: int = DEFAULT_BATCH_SIZE,
                     timeout: float | None = None) -> Predictor:
    """The two models ``<prefix>_encoder`` and ``<prefix>_sequence`` on a Triton server; the server picks the
    device, this node preprocesses."""
    from inference.runtime.triton_session import DEFAULT_TIMEOUT, TritonSession

    wait = DEFAULT_TIMEOUT if timeout is None else timeout
    encoder_name, sequence_name = model_names(prefix)
    encoder = TritonSession(url, encoder_name, (INPUT_NAME,), ENCODER_OUTPUTS, wait)
    sequence = TritonSession(url, sequence_name, (FEATURES_NAME,), SEQUENCE_OUTPUTS, wait)
    served_hash = encoder.served.parameters.get("model_hash", "")
    if not served_hash:
        logger.warning("Triton model %s carries no model_hash; cannot confirm it runs %s", encoder.name, info.model_hash[:12])
    elif served_hash != info.model_hash:
        raise BackendUnavailableError(
            f"Triton at {url} serves model hash {served_hash[:12]}, this node loaded {info.name} "
            f"{info.version} with hash {info.model_hash[:12]}: regenerate the model repository "
            "(python -m inference.ich.triton_repository) from these weights"
        )
    logger.info("Triton at %s serves %s and %s (%s)", url, encoder.name, sequence.name, encoder.served.platform)
    return Predictor(info, encoder, sequence, batch_size, description=f"triton:{encoder.address}/{prefix}")


def build_predictor(
    net: HemorrhageNet, info: ModelInfo, backend: str = "auto", device: str = "auto",
    cache_dir: Path | None = None, batch_size: int = DEFAULT_BATCH_SIZE, threads: int | None = None,
    triton_url: str = "", triton_model: str = DEFAULT_PREFIX,
) -> Predictor:
    """A predictor running ``net`` on ``backend``/``device`` (exporting to ONNX first where needed).

    Parameters
    ----------
    net, info
        The network and its identity, e.g. from :func:`inference.ich.checkpoint.load_model`.
    backend
        ``auto``, ``torch``, ``onnxruntime``, ``tensorrt`` or ``triton``.
    device
        ``auto``, ``cpu`` or ``cuda``.
    cache_dir
        Folder for the exported ONNX and TensorRT engines (default
        :func:`inference.runtime.backends.default_cache_dir`).
    batch_size
        Slices per encoder batch.
    threads
        CPU threads for ONNX Runtime's intra-op pool (``None``: its default).
    triton_url, triton_model
        For ``triton``: the server's HTTP endpoint and the model-name prefix (the server picks the device).
    """
    if backend == "triton":
        return triton_predictor(info, triton_url, triton_model, batch_size=batch_size)
    device = resolve_device(device)
    backend = select_backend(backend, device)
    cache_dir = cache_dir or default_cache_dir()
    logger.info("inference backend %s on %s (model %s %s)", backend, device, info.name, info.version)
    if backend == "tensorrt" and not device.startswith("cuda"):
        raise BackendUnavailableError(f"the tensorrt backend needs device cuda, got {device}")
    if backend == "torch":
        return torch_predictor(net, info, device=device, batch_size=batch_size)
    onnx_path = cached_onnx(net, info, cache_dir)
    if backend == "onnxruntime":
        return onnxruntime_predictor(onnx_path, info, device=device, batch_size=batch_size, threads=threads)
    return tensorrt_predictor(onnx_path, info, cache_dir, device=device, batch_size=batch_size)


def create_predictor(
    backend: str = "auto", device: str = "auto", weights: Path | None = None, cache_dir: Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE, threads: int | None = None, triton_url: str = "",
    triton_model: str = DEFAULT_PREFIX,
) -> Predictor:
    """Load the model (``weights``, else shipped, else random init) and build its predictor."""
    net, info = load_model(weights)
    return build_predictor(net, info, backend, device, cache_dir, batch_size, threads, triton_url, triton_model)
