"""Predictors on the runtime backends: torch vs ONNX Runtime parity, the dynamic slice axis, batching, backend selection, results."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import onnx
import pytest

from inference.errors import BackendUnavailableError, EngineError
from inference.ich.evaluation.calibration import Calibration
from inference.ich.export import OUTPUT_NAMES, model_metadata, split_model
from inference.ich.labels import LABELS
from inference.ich.sessions import build_predictor, onnxruntime_predictor, torch_predictor
from inference.ich.volume import Volume
from inference.runtime.backends import select_backend


def _volume(make_series, n: int, size: int = 96) -> Volume:
    volume = Volume.from_datasets(make_series(n=n, rows=size, cols=size))
    # Give the slices structure so that the encoder sees more than constant images.
    noise = np.random.default_rng(n).normal(0, 300, size=volume.hu.shape).astype(np.float32)
    volume.hu[...] += noise
    return volume


@pytest.fixture(scope="module")
def engines(random_net, onnx_path):
    net, info = random_net
    return torch_predictor(net, info, batch_size=4), onnxruntime_predictor(onnx_path, info, batch_size=4)


@pytest.mark.parametrize("n", [1, 6])
def test_torch_and_onnxruntime_agree_within_1e_4(engines, make_series, n):
    volume = _volume(make_series, n)
    torch_prediction, ort_prediction = (engine.predict(volume) for engine in engines)
    assert np.abs(torch_prediction.slice_probs - ort_prediction.slice_probs).max() <= 1e-4
    assert np.abs(torch_prediction.study_probs - ort_prediction.study_probs).max() <= 1e-4
    assert np.abs(torch_prediction.saliency - ort_prediction.saliency).max() <= 1e-3
    assert ort_prediction.slice_probs.shape == (n, 6)
    assert ort_prediction.saliency.shape == (n, 8, 8)


def test_exported_model_has_dynamic_slice_axis_and_metadata(onnx_path, random_net):
    model = onnx.load_model(onnx_path)
    assert model.opset_import[0].version >= 17
    assert [o.name for o in model.graph.output] == list(OUTPUT_NAMES)
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "slices"
    assert model.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "slices"
    meta = model_metadata(model)
    assert meta["version"] == "untrained-random-init"
    assert meta["model_hash"] == random_net[1].model_hash
    assert json.loads(meta["info"])["trained"] is False
    encoder, sequence = split_model(model)
    assert [i.name for i in sequence.graph.input] == ["features"]
    assert {o.name for o in encoder.graph.output} == {"features", "saliency"}


def test_batch_size_does_not_change_results(random_net, make_series):
    net, info = random_net
    volume = _volume(make_series, 5)
    one = torch_predictor(net, info, batch_size=1).predict(volume)
    all_at_once = torch_predictor(net, info, batch_size=16).predict(volume)
    np.testing.assert_allclose(one.slice_probs, all_at_once.slice_probs, atol=1e-5)


def test_prediction_carries_uids_timings_and_model(engines, make_series):
    volume = _volume(make_series, 3)
    prediction = engines[1].predict(volume)
    assert prediction.sop_instance_uids == volume.sop_instance_uids
    assert set(prediction.timings_ms) == {"preprocess", "encoder", "sequence", "intracranial", "total"}
    assert prediction.timings_ms["total"] >= prediction.timings_ms["encoder"] > 0
    assert prediction.backend == "onnxruntime:CPUExecutionProvider"
    assert prediction.model_version == "untrained-random-init"
    # uniform slices hold no skull around a brain: nothing there may carry a finding (inference.ich.postprocess)
    assert prediction.intracranial is not None and not prediction.intracranial.any()
    assert (prediction.slice_probs == 0).all() and (prediction.study_probs == 0).all()

    data = prediction.to_dict(threshold=0.5)
    assert list(data) == ["study", "slices", "positive", "threshold", "model", "timings_ms"]
    assert list(data["study"]) == list(LABELS)
    assert [s["sop_instance_uid"] for s in data["slices"]] == list(volume.sop_instance_uids)
    assert data["positive"] == (prediction.study_probs[0] >= 0.5)
    json.dumps(data)

    overlay = prediction.saliency_map(0, 96, 96)
    assert overlay.shape == (96, 96)
    assert 0.0 <= overlay.min() and overlay.max() <= 1.0


def test_backend_selection_on_cpu():
    assert select_backend("auto", "cpu") == "onnxruntime"
    assert select_backend("torch", "cpu") == "torch"
    with pytest.raises(BackendUnavailableError, match="backend must be auto or one of"):
        select_backend("openvino", "cpu")


def test_tensorrt_needs_cuda(random_net, tmp_path):
    net, info = random_net
    with pytest.raises(BackendUnavailableError, match="tensorrt backend needs device cuda"):
        build_predictor(net, info, backend="tensorrt", device="cpu", cache_dir=tmp_path)


def test_runtime_failures_become_engine_errors(engines, make_series):
    volume = Volume.from_datasets(make_series(n=2, rows=64, cols=64))
    ort_engine = engines[1]
    with pytest.raises(EngineError, match="onnxruntime:CPUExecutionProvider failed in encode"):
        ort_engine.encode(np.zeros((1, 3, 5, 5), dtype=np.float32))
    assert ort_engine.predict(volume).slice_probs.shape == (2, 6)


def test_calibration_follows_the_restriction_and_keeps_every_decision(random_net, make_series):
    net, info = random_net
    volume = _volume(make_series, 6)
    mask = np.ones(volume.hu.shape, dtype=bool)  # every slice counts in full, so the probabilities are not 0
    calibration = Calibration({"any": 2.5, "subdural": 0.4, "epidural": 1.3})
    plain = torch_predictor(net, info).predict(volume, intracranial=mask)
    calibrated = torch_predictor(net, replace(info, calibration=calibration)).predict(volume, intracranial=mask)
    assert (plain.study_probs > 0).all() and not np.allclose(plain.study_probs, calibrated.study_probs)
    assert np.abs(calibrated.study_probs - calibration.apply(plain.study_probs)).max() <= 1e-6
    assert np.abs(calibrated.slice_probs - calibration.apply(plain.slice_probs)).max() <= 1e-6
    assert (calibrated.study_probs <= calibrated.slice_probs.max(axis=0) + 1e-6).all()
    for c, label in enumerate(LABELS):
        values = np.unique(np.append(plain.slice_probs[:, c], plain.study_probs[c]).astype(np.float64))
        for threshold in (values[:-1] + values[1:]) / 2:  # every decision boundary between the outputs
            moved = calibration.threshold(label, float(threshold))
            assert np.array_equal(plain.slice_probs[:, c] >= threshold, calibrated.slice_probs[:, c] >= moved)
            assert (plain.study_probs[c] >= threshold) == (calibrated.study_probs[c] >= moved)
