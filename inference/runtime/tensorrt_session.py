"""TensorRT sessions: an FP16 engine built from an ONNX graph with one optimisation profile, cached on disk.

Serialized engines are cached in ``cache_dir`` under a key made of the model hash, the TensorRT version and
the GPU name (plus part and profile), and are deserialized without rebuilding when the key matches. Buffers
are torch CUDA tensors, so no pycuda is needed.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from inference.errors import BackendUnavailableError, EngineError

logger = logging.getLogger(__name__)

WORKSPACE_BYTES = 1 << 30


def import_tensorrt() -> Any:
    """The ``tensorrt`` module, or :class:`BackendUnavailableError` naming it."""
    try:
        import tensorrt
    except ImportError as exc:
        raise BackendUnavailableError("the tensorrt backend needs the 'tensorrt' Python package") from exc
    return tensorrt


def cache_key(model_hash: str, trt_version: str, gpu_name: str, part: str, profile: tuple[int, int, int]) -> str:
    """Key of one cached engine: model hash + TensorRT version + GPU name (+ part and profile)."""
    text = "|".join([model_hash, trt_version, gpu_name, part, ",".join(map(str, profile)), "fp16"])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class TensorRTSession:
    """Run one single-input ONNX graph as a TensorRT FP16 engine on a CUDA GPU.

    Parameters
    ----------
    model
        The graph; its one input's first axis is the dynamic one the profile covers.
    part
        Name of the graph within the model (``encoder``), in the cache file name, key and messages.
    profile
        (min, opt, max) size of the input's first axis.
    cache_dir
        Folder of serialized engines.
    model_name, model_hash
        Identity of the model: the file name starts with the name, the hash keys the cache.
    device
        ``cuda`` or ``cuda:N``.
    """

    def __init__(self, model: onnx.ModelProto, part: str, profile: tuple[int, int, int], cache_dir: Path,
                 model_name: str, model_hash: str, device: str = "cuda") -> None:
        trt = import_tensorrt()
        if not torch.cuda.is_available():
            raise BackendUnavailableError("the tensorrt backend needs a CUDA GPU; torch.cuda.is_available() is False")
        self.device = torch.device(device if device.startswith("cuda") else "cuda")
        self.gpu_name = torch.cuda.get_device_name(self.device)
        self.trt_version = str(trt.__version__)
        self.part, self.profile = part, profile
        self.path = cache_dir / f"{model_name}-{part}-{cache_key(model_hash, self.trt_version, self.gpu_name, part, profile)}.engine"
        self.built = False
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._input = model.graph.input[0].name
        self.input_names = (self._input,)
        with torch.cuda.device(self.device):
            self.engine = self._engine(trt, model)
        self.context = self.engine.create_execution_context()
        self.output_names = tuple(
            name for name in (self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors))
            if self.engine.get_tensor_mode(name) == trt.TensorIOMode.OUTPUT
        )

    @property
    def description(self) -> str:
        return f"tensorrt:{self.gpu_name}:fp16"

    def _engine(self, trt: Any, model: onnx.ModelProto) -> Any:
        runtime = trt.Runtime(self._logger)
        if self.path.is_file():
            engine = runtime.deserialize_cuda_engine(self.path.read_bytes())
            if engine is not None:
                logger.info("loaded cached TensorRT %s engine %s", self.part, self.path)
                return engine
            logger.warning("cached TensorRT engine %s does not deserialize; rebuilding", self.path)
        serialized = self._build(trt, model)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_bytes(serialized)
        tmp.replace(self.path)
        self.built = True
        engine = runtime.deserialize_cuda_engine(serialized)
        if engine is None:
            raise EngineError(f"TensorRT could not deserialize the {self.part} engine it just built")
        return engine

    def _build(self, trt: Any, model: onnx.ModelProto) -> bytes:
        logger.info("building TensorRT %s engine (FP16, profile %s) on %s; this takes minutes", self.part, self.profile, self.gpu_name)
        builder = trt.Builder(self._logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, self._logger)
        if not parser.parse(model.SerializeToString()):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise EngineError(f"TensorRT cannot parse the {self.part} ONNX graph: {errors}")
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
        config.set_flag(trt.BuilderFlag.FP16)
        rest = tuple(dim.dim_value for dim in model.graph.input[0].type.tensor_type.shape.dim[1:])
        optimisation = builder.create_optimization_profile()
        optimisation.set_shape(self._input, *((count, *rest) for count in self.profile))
        config.add_optimization_profile(optimisation)
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise EngineError(f"TensorRT failed to build the {self.part} engine (see its log above)")
        return bytes(serialized)

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        data = torch.from_numpy(np.ascontiguousarray(feeds[self._input])).to(self.device, non_blocking=True)
        low, _, high = self.profile
        if not low <= data.shape[0] <= high:
            raise EngineError(f"the TensorRT {self.part} engine is profiled for {low}..{high} slices, got {data.shape[0]}")
        if not self.context.set_input_shape(self._input, tuple(data.shape)):
            raise EngineError(f"TensorRT rejected input {self._input} of shape {tuple(data.shape)} (outside its profile)")
        self.context.set_tensor_address(self._input, data.data_ptr())
        outputs = {}
        for name in self.output_names:
            out = torch.empty(tuple(self.context.get_tensor_shape(name)), dtype=torch.float32, device=data.device)
            self.context.set_tensor_address(name, out.data_ptr())
            outputs[name] = out
        stream = torch.cuda.current_stream(data.device)
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise EngineError("TensorRT execute_async_v3 failed")
        stream.synchronize()
        return {name: out.cpu().numpy() for name, out in outputs.items()}
