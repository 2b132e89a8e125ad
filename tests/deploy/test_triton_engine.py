"""The Triton engine against a KServe v2 stand-in server (ONNX Runtime behind HTTP; no Triton here).

The stand-in (:mod:`tests.deploy.kserve_standin`) speaks the protocol subset tritonclient uses and runs
the repository written by :mod:`inference.ich.triton_repository`; so these tests exercise the engine's real
HTTP requests and responses, the repository's model files and its configuration, but not Triton itself.
"""

from __future__ import annotations

import dataclasses
import socket
import sys

import numpy as np
import onnx
import pytest

from inference.errors import BackendUnavailableError, EngineError
from inference.ich.network.model import HemorrhageNet
from inference.ich.sessions import build_predictor, onnxruntime_predictor, triton_predictor
from inference.ich.volume import Volume
from inference.runtime.triton_session import TritonSession, import_tritonclient, split_url
from tests.deploy.kserve_standin import KServeStandIn
from tests.factories import ct_slice


def _volume(n: int = 4, size: int = 64) -> Volume:
    datasets = [ct_slice(np.full((size, size), 1024 + 10 * i), (0.0, 0.0, 5.0 * i), (1, 0, 0, 0, 1, 0), "1.2.3.4") for i in range(n)]
    volume = Volume.from_datasets(datasets)
    volume.hu[...] += np.random.default_rng(n).normal(0, 300, size=volume.hu.shape).astype(np.float32)
    return volume


def _whole_model_file(repository, exported):
    """The whole exported model as a file, for the local ONNX Runtime engine to compare with."""
    path = repository.parent / "whole.onnx"
    if not path.exists():
        onnx.save_model(exported[0], path)
    return path


@pytest.fixture(scope="module")
def server(repository):
    with KServeStandIn(repository) as stand_in:
        yield stand_in


def test_triton_engine_equals_onnxruntime_engine(server, repository, exported):
    _, info = exported
    volume = _volume(4)
    triton = triton_predictor(info, server.url, batch_size=3)
    server.requests.clear()
    got = triton.predict(volume)
    local = onnxruntime_predictor(_whole_model_file(repository, exported), info, batch_size=3, threads=1)
    want = local.predict(volume)
    assert np.abs(got.slice_probs - want.slice_probs).max() <= 1e-4
    assert np.abs(got.study_probs - want.study_probs).max() <= 1e-4
    assert np.abs(got.saliency - want.saliency).max() <= 1e-4
    assert got.slice_probs.shape == (4, 6) and got.study_probs.shape == (6,)
    assert got.backend == triton.description and got.backend.startswith("triton:127.0.0.1:")
    assert got.model_version == info.version and got.sop_instance_uids == volume.sop_instance_uids
    size, features = info.config.input_size, HemorrhageNet(info.config).feature_size
    assert server.requests == [
        ("ich_encoder", {"slices": [3, 3, size, size]}),
        ("ich_encoder", {"slices": [1, 3, size, size]}),
        ("ich_sequence", {"features": [4, features]}),
    ]


def test_factory_builds_the_triton_backend_without_a_local_device(server, exported):
    from inference.ich.checkpoint import load_model

    net, info = load_model()
    engine = build_predictor(net, info, backend="triton", device="cuda", triton_url=server.url, triton_model="ich")
    assert isinstance(engine.encoder, TritonSession) and engine.description == f"triton:{server.url.split('://')[1]}/ich"
    assert engine.encoder.served.platform == "onnxruntime_onnx"


def test_config_accepts_the_triton_backend(monkeypatch):
    from dicomnode.config import load_config

    monkeypatch.setenv("DICOMNODE_INFERENCE__BACKEND", "triton")
    monkeypatch.setenv("DICOMNODE_INFERENCE__TRITON_URL", "http://triton:8000")
    section = load_config(None).inference
    assert (section.backend, section.triton_url, section.triton_model) == ("triton", "http://triton:8000", "ich")


def test_served_model_hash_must_match_the_loaded_weights(server, exported):
    other = dataclasses.replace(exported[1], model_hash="0" * 64)
    with pytest.raises(BackendUnavailableError, match="regenerate the model repository"):
        triton_predictor(other, server.url)


def test_wrong_interface_is_refused(repository, exported):
    from tests.deploy.kserve_standin import read_config

    config = read_config(repository / "ich_sequence" / "config.pbtxt")
    config["output"] = config["output"][:1]
    with KServeStandIn(repository, {"ich_sequence": config}) as stand_in:
        with pytest.raises(BackendUnavailableError, match="ich_sequence.*outputs"):
            triton_predictor(exported[1], stand_in.url)


def test_unknown_model_prefix_is_refused(server, exported):
    with pytest.raises(BackendUnavailableError, match="cannot be reached|no ready model"):
        triton_predictor(exported[1], server.url, prefix="other")


def test_unreachable_server_is_backend_unavailable(exported):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(BackendUnavailableError, match="cannot be reached"):
        triton_predictor(exported[1], f"http://127.0.0.1:{port}", timeout=2.0)


def test_server_error_during_inference_is_an_engine_error(server, exported):
    engine = triton_predictor(exported[1], server.url)
    server.fail_next = True
    with pytest.raises(EngineError, match="triton.*encode.*injected failure"):
        engine.predict(_volume(2))
    assert engine.predict(_volume(2)).slice_probs.shape == (2, 6)


def test_url_forms():
    assert split_url("http://triton:8000") == ("triton:8000", False)
    assert split_url("https://triton.example.org:443/base/") == ("triton.example.org:443/base", True)
    assert split_url("localhost:8000") == ("localhost:8000", False)
    for bad in ("", "grpc://triton:8001"):
        with pytest.raises(BackendUnavailableError, match="triton_url"):
            split_url(bad)


def test_missing_tritonclient_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tritonclient.http", None)
    with pytest.raises(BackendUnavailableError, match=r"dicomnode\[triton\]"):
        import_tritonclient()
