"""Weights: the seeded random init says so, checkpoints round-trip, bad checkpoints fail clearly."""

from __future__ import annotations

import json

import pytest
import torch

from inference.errors import WeightsError
from inference.ich.checkpoint import (
    UNTRAINED_VERSION,
    load_checkpoint,
    load_model,
    random_model,
    save_checkpoint,
    state_hash,
)
from inference.ich.network import HemorrhageNet, ModelConfig


def test_random_init_is_seeded_labelled_and_leaves_global_rng_alone():
    before = torch.random.get_rng_state()
    net_a, info_a = random_model()
    net_b, info_b = random_model()
    assert torch.equal(torch.random.get_rng_state(), before)
    assert info_a.version == UNTRAINED_VERSION and not info_a.trained
    assert info_a.model_hash == info_b.model_hash == state_hash(net_b)
    assert random_model(seed=1)[1].model_hash != info_a.model_hash
    assert info_a.name == "ich-vgg-bilstm"
    assert info_a.to_dict()["config"]["encoder"] == "vgg"


def test_load_model_without_weights_falls_back_to_random_init(tmp_path, monkeypatch):
    monkeypatch.setattr("inference.ich.checkpoint.SHIPPED_WEIGHTS", tmp_path / "absent.pt")
    _, info = load_model(None)
    assert info.version == UNTRAINED_VERSION


def test_checkpoint_round_trip(tmp_path):
    net, _ = random_model(ModelConfig(attention_heads=2), seed=5)
    path = save_checkpoint(net, tmp_path / "w.pt", version="1.2.0", threshold=0.3)
    loaded, info = load_model(path)
    assert (info.version, info.threshold, info.trained) == ("1.2.0", 0.3, True)
    assert info.config.attention_heads == 2
    assert info.model_hash == state_hash(net)
    assert info.weights_path == str(path)
    for key, value in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)


def test_missing_sidecar_and_missing_file(tmp_path):
    with pytest.raises(WeightsError, match="does not exist"):
        load_checkpoint(tmp_path / "absent.pt")
    torch.save({}, tmp_path / "lonely.pt")
    with pytest.raises(WeightsError, match=r"lonely\.json does not exist"):
        load_checkpoint(tmp_path / "lonely.pt")


def test_incompatible_weights_and_bad_threshold(tmp_path):
    path = tmp_path / "w.pt"
    torch.save(HemorrhageNet(ModelConfig(lstm_hidden=8)).state_dict(), path)
    path.with_suffix(".json").write_text(json.dumps({"version": "x", "config": {"lstm_hidden": 16}}))
    with pytest.raises(WeightsError, match="cannot be loaded into ich-vgg-bilstm"):
        load_checkpoint(path)
    path.with_suffix(".json").write_text(json.dumps({"version": "x", "threshold": 1.5, "config": {"lstm_hidden": 8}}))
    with pytest.raises(WeightsError, match=r"threshold must lie in \(0, 1\)"):
        load_checkpoint(path)
