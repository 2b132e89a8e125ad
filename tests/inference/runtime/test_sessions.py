"""The runtime layer without any model: sessions as run(dict) -> dict, backend choice, the TensorRT cache key."""

from __future__ import annotations

import sys

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from inference.errors import BackendUnavailableError
from inference.runtime.backends import available_backends, resolve_device, select_backend
from inference.runtime.onnxruntime_session import OnnxRuntimeSession
from inference.runtime.tensorrt_session import cache_key, import_tensorrt
from inference.runtime.torch_session import TorchSession


class _Pair(torch.nn.Module):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.relu(x - y), (x * y).sum(dim=1)


def _relu_sum_graph() -> onnx.ModelProto:
    """x [N, 3], y [N, 3] -> relu(x - y) [N, 3], sum(x * y, axis 1) [N], as ONNX."""
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    nodes = [
        helper.make_node("Sub", ["x", "y"], ["d"]), helper.make_node("Relu", ["d"], ["relu"]),
        helper.make_node("Mul", ["x", "y"], ["m"]), helper.make_node("ReduceSum", ["m", "axes"], ["sum"], keepdims=0),
    ]
    graph = helper.make_graph(
        nodes, "pair", [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", 3]) for n in ("x", "y")],
        [helper.make_tensor_value_info("relu", TensorProto.FLOAT, ["N", 3]),
         helper.make_tensor_value_info("sum", TensorProto.FLOAT, ["N"])], initializer=[axes],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def test_torch_and_onnxruntime_sessions_run_named_arrays_alike():
    rng = np.random.default_rng(0)
    feeds = {"x": rng.normal(size=(4, 3)).astype(np.float32), "y": rng.normal(size=(4, 3)).astype(np.float32)}
    by_torch = TorchSession(_Pair(), ("x", "y"), ("relu", "sum")).run(feeds)
    ort_session = OnnxRuntimeSession(_relu_sum_graph(), threads=1)
    assert ort_session.input_names == ("x", "y") and ort_session.output_names == ("relu", "sum")
    assert ort_session.description == "onnxruntime:CPUExecutionProvider"
    by_ort = ort_session.run(feeds)
    assert set(by_torch) == set(by_ort) == {"relu", "sum"}
    for name in by_torch:
        assert by_torch[name].dtype == np.float32
        np.testing.assert_allclose(by_torch[name], by_ort[name], atol=1e-6)
    np.testing.assert_allclose(by_ort["relu"], np.maximum(feeds["x"] - feeds["y"], 0), atol=1e-6)


def test_torch_session_names_its_device_and_refuses_others():
    session = TorchSession(_Pair(), ("x", "y"), ("relu", "sum"))
    assert session.description == "torch:cpu" and not session.fp16
    with pytest.raises(BackendUnavailableError, match="device must be cpu or cuda"):
        TorchSession(_Pair(), ("x", "y"), ("relu", "sum"), device="mps")
    with pytest.raises(ValueError, match="returned 2 outputs"):
        TorchSession(_Pair(), ("x", "y"), ("relu",)).run({"x": np.zeros((1, 3), np.float32), "y": np.zeros((1, 3), np.float32)})


def test_onnxruntime_session_refuses_an_unknown_device():
    with pytest.raises(BackendUnavailableError, match="device must be cpu or cuda for onnxruntime"):
        OnnxRuntimeSession(_relu_sum_graph(), device="tpu")


def test_backend_choice_on_the_cpu():
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(BackendUnavailableError, match="device must be auto, cpu or cuda"):
        resolve_device("gpu")
    assert select_backend("auto", "cpu") == "onnxruntime"
    assert select_backend("triton", "cpu") == "triton"
    assert available_backends("cpu") == ["torch", "onnxruntime"]
    with pytest.raises(BackendUnavailableError, match="backend must be auto or one of"):
        select_backend("openvino", "cpu")


def test_tensorrt_cache_key_changes_with_model_version_gpu_part_and_profile():
    base = ("a" * 64, "10.3.0", "NVIDIA H100", "encoder", (1, 16, 16))
    key = cache_key(*base)
    assert len(key) == 24 and cache_key(*base) == key
    for index, other in enumerate(("b" * 64, "10.4.0", "NVIDIA L4", "sequence", (1, 8, 16))):
        changed = list(base)
        changed[index] = other
        assert cache_key(*changed) != key


def test_missing_tensorrt_is_backend_unavailable(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(BackendUnavailableError, match="needs the 'tensorrt' Python package"):
        import_tensorrt()
