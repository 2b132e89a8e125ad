"""The TensorRT engine: FP16 engines built from the exported ONNX, cached on disk.

The exported model is split at ``features`` like for ONNX Runtime; each part becomes one TensorRT engine
with one optimisation profile: the encoder over batches of 1..``batch_size`` slices, the sequence part over
1..512 slices. Serialized engines are cached in ``cache_dir`` under a key made of the model hash, the
TensorRT version and the GPU name (plus part and profile), and are deserialized without rebuilding when
the key matches. Buffers are torch CUDA tensors, so no pycuda is needed.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from inference.checkpoint import ModelInfo
from inference.engines.base import DEFAULT_BATCH_SIZE, Engine
from inference.errors import BackendUnavailableError, EngineError
from inference.export import FEATURES_NAME, INPUT_NAME, MAX_SLICES, split_model

logger = logging.getLogger(__name__)

WORKSPACE_BYTES = 1 << 30
SEQUENCE_OPT_SLICES = 64


def _import_tensorrt() -> Any:
    try:
        import tensorrt
    except ImportError as exc:
        raise BackendUnavailableError("the tensorrt backend needs the 'tensorrt' Python package") from exc
    return tensorrt


def cache_key(model_hash: str, trt_version: str, gpu_name: str, part: str, profile: tuple[int, int, int]) -> str:
    """Key of one cached engine: model hash + TensorRT version + GPU name (+ part and profile)."""
    text = "|".join([model_hash, trt_version, gpu_name, part, ",".join(map(str, profile)), "fp16"])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class _TrtPart:
    """One deserialized engine with its execution context and torch-allocated I/O."""

    def __init__(self, trt: Any, engine: Any, input_name: str) -> None:
        self.engine = engine
        self.context = engine.create_execution_context()
        self.input_name = input_name
        self.output_names = [
            name for name in (engine.get_tensor_name(i) for i in range(engine.num_io_tensors))
            if engine.get_tensor_mode(name) == trt.TensorIOMode.OUTPUT
        ]

    def run(self, data: torch.Tensor) -> dict[str, torch.Tensor]:
        data = data.contiguous()
        if not self.context.set_input_shape(self.input_name, tuple(data.shape)):
            raise EngineError(f"TensorRT rejected input {self.input_name} of shape {tuple(data.shape)} (outside its profile)")
        self.context.set_tensor_address(self.input_name, data.data_ptr())
        outputs = {}
        for name in self.output_names:
            out = torch.empty(tuple(self.context.get_tensor_shape(name)), dtype=torch.float32, device=data.device)
            self.context.set_tensor_address(name, out.data_ptr())
            outputs[name] = out
        stream = torch.cuda.current_stream(data.device)
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise EngineError("TensorRT execute_async_v3 failed")
        stream.synchronize()
        return outputs


class TensorRTEngine(Engine):
    """Run the exported model with TensorRT (FP16) on a CUDA GPU.

    Parameters
    ----------
    onnx_path
        Model written by :func:`inference.export.export_onnx`.
    info
        Identity of the model (its hash keys the engine cache).
    cache_dir
        Folder of serialized engines.
    device
        ``cuda`` or ``cuda:N``.
    batch_size
        Slices per encoder batch (the encoder profile's maximum).
    """

    backend = "tensorrt"

    def __init__(
        self, onnx_path: Path, info: ModelInfo, cache_dir: Path, device: str = "cuda",
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        super().__init__(info, batch_size)
        trt = _import_tensorrt()
        if not torch.cuda.is_available():
            raise BackendUnavailableError("the tensorrt backend needs a CUDA GPU; torch.cuda.is_available() is False")
        self.device = torch.device(device if device.startswith("cuda") else "cuda")
        self.gpu_name = torch.cuda.get_device_name(self.device)
        self.trt_version = str(trt.__version__)
        self.cache_dir = cache_dir
        self.built: list[str] = []
        self._logger = trt.Logger(trt.Logger.WARNING)
        encoder_model, sequence_model = split_model(onnx.load_model(onnx_path))
        with torch.cuda.device(self.device):
            self.encoder = self._part(trt, encoder_model, "encoder", INPUT_NAME, (1, batch_size, batch_size))
            self.sequence = self._part(trt, sequence_model, "sequence", FEATURES_NAME, (1, SEQUENCE_OPT_SLICES, MAX_SLICES))

    @property
    def description(self) -> str:
        return f"tensorrt:{self.gpu_name}:fp16"

    def engine_path(self, part: str, profile: tuple[int, int, int]) -> Path:
        key = cache_key(self.info.model_hash, self.trt_version, self.gpu_name, part, profile)
        return self.cache_dir / f"{self.info.name}-{part}-{key}.engine"

    def _part(self, trt: Any, model: onnx.ModelProto, part: str, input_name: str, profile: tuple[int, int, int]) -> _TrtPart:
        path = self.engine_path(part, profile)
        runtime = trt.Runtime(self._logger)
        if path.is_file():
            engine = runtime.deserialize_cuda_engine(path.read_bytes())
            if engine is not None:
                logger.info("loaded cached TensorRT %s engine %s", part, path)
                return _TrtPart(trt, engine, input_name)
            logger.warning("cached TensorRT engine %s does not deserialize; rebuilding", path)
        serialized = self._build(trt, model, input_name, profile, part)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(serialized)
        tmp.replace(path)
        self.built.append(part)
        engine = runtime.deserialize_cuda_engine(serialized)
        if engine is None:
            raise EngineError(f"TensorRT could not deserialize the {part} engine it just built")
        return _TrtPart(trt, engine, input_name)

    def _build(self, trt: Any, model: onnx.ModelProto, input_name: str, profile: tuple[int, int, int], part: str) -> bytes:
        logger.info("building TensorRT %s engine (FP16, profile %s) on %s; this takes minutes", part, profile, self.gpu_name)
        builder = trt.Builder(self._logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, self._logger)
        if not parser.parse(model.SerializeToString()):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise EngineError(f"TensorRT cannot parse the {part} ONNX graph: {errors}")
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
        config.set_flag(trt.BuilderFlag.FP16)
        rest = tuple(dim.dim_value for dim in model.graph.input[0].type.tensor_type.shape.dim[1:])
        optimisation = builder.create_optimization_profile()
        optimisation.set_shape(input_name, *((count, *rest) for count in profile))
        config.add_optimization_profile(optimisation)
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise EngineError(f"TensorRT failed to build the {part} engine (see its log above)")
        return bytes(serialized)

    def _encode(self, slices: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        out = self.encoder.run(slices.to(self.device, non_blocking=True))
        return out[FEATURES_NAME].cpu().numpy(), out["saliency"].cpu().numpy()

    def _sequence(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if features.shape[0] > MAX_SLICES:
            raise EngineError(f"the TensorRT sequence engine is profiled for 1..{MAX_SLICES} slices, got {features.shape[0]}")
        out = self.sequence.run(torch.from_numpy(features).to(self.device))
        return out["slice_probs"].cpu().numpy(), out["study_probs"].cpu().numpy()
