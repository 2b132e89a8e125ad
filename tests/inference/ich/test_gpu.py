"""CUDA and TensorRT predictors; skipped (with the reason) where no GPU or TensorRT is present."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.ich.sessions import torch_predictor
from inference.ich.volume import Volume

pytestmark = pytest.mark.gpu

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU: torch.cuda.is_available() is False")


def _volume(make_series) -> Volume:
    volume = Volume.from_datasets(make_series(n=6, rows=128, cols=128))
    volume.hu[...] += np.random.default_rng(0).normal(0, 300, size=volume.hu.shape).astype(np.float32)
    return volume


@needs_cuda
def test_torch_cuda_fp16_close_to_cpu_fp32(random_net, make_series):
    net, info = random_net
    volume = _volume(make_series)
    cpu = torch_predictor(net, info, device="cpu").predict(volume)
    cuda = torch_predictor(net, info, device="cuda").predict(volume)
    net.to("cpu")
    assert cuda.backend == "torch:cuda:fp16"
    assert np.abs(cpu.slice_probs - cuda.slice_probs).max() <= 1e-2


@needs_cuda
def test_onnxruntime_cuda_provider(random_net, onnx_path, make_series):
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        pytest.skip("onnxruntime here has no CUDAExecutionProvider (onnxruntime-gpu not installed)")
    from inference.ich.sessions import onnxruntime_predictor

    net, info = random_net
    volume = _volume(make_series)
    cpu = torch_predictor(net, info).predict(volume)
    cuda = onnxruntime_predictor(onnx_path, info, device="cuda").predict(volume)
    assert np.abs(cpu.slice_probs - cuda.slice_probs).max() <= 1e-3


@needs_cuda
def test_tensorrt_builds_fp16_engines_once_and_reuses_the_cache(random_net, onnx_path, make_series, tmp_path):
    pytest.importorskip("tensorrt", reason="TensorRT Python package not installed")
    from inference.ich.sessions import tensorrt_predictor

    net, info = random_net
    volume = _volume(make_series)
    first = tensorrt_predictor(onnx_path, info, tmp_path, batch_size=4)
    assert [first.encoder.built, first.sequence.built] == [True, True]
    engines = sorted(tmp_path.glob("*.engine"))
    assert len(engines) == 2
    mtimes = [path.stat().st_mtime_ns for path in engines]
    second = tensorrt_predictor(onnx_path, info, tmp_path, batch_size=4)
    assert [second.encoder.built, second.sequence.built] == [False, False]
    assert [path.stat().st_mtime_ns for path in engines] == mtimes

    reference = torch_predictor(net, info).predict(volume)
    prediction = second.predict(volume)
    assert prediction.backend.startswith("tensorrt:")
    assert np.abs(reference.slice_probs - prediction.slice_probs).max() <= 2e-2
    assert np.abs(reference.study_probs - prediction.study_probs).max() <= 2e-2


@needs_cuda
def test_training_runs_on_cuda_and_saves_cpu_weights(tmp_path) -> None:
    from inference.ich.checkpoint import load_checkpoint
    from inference.ich.network import ModelConfig
    from inference.ich.training.run import train_and_save
    from inference.ich.training.sources import PhantomSource
    from inference.ich.training.trainer import StageConfig, TrainConfig

    config = TrainConfig(model=ModelConfig(encoder_width=4, lstm_hidden=8, input_size=32),
                         encoder=StageConfig(1, 1e-3, 2), sequence=StageConfig(1, 1e-3, 2),
                         end_to_end=StageConfig(1, 1e-4, 2), series_per_step=2, slices_per_series=3,
                         max_window=4, threads=1, progress=False, val_slices_per_series=2, device="cuda")
    train = PhantomSource([1, 2, 3], size=32, n_slices=6, input_size=32)
    val = PhantomSource([11, 12], size=32, n_slices=6, input_size=32)
    weights = train_and_save(config, train, val, tmp_path, version="gpu-test")
    net, info = load_checkpoint(weights)
    assert all(p.device.type == "cpu" and torch.isfinite(p).all() for p in net.parameters())
    assert 0.0 < info.threshold < 1.0
