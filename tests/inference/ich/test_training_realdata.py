"""Real slices (``../shared/data/head-ct-kitamura``): the PNG layout reader and the shipped weights'
number on the held-out test split, as recorded in the model card's sidecar."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inference.ich.checkpoint import SHIPPED_WEIGHTS, load_model, sidecar_path
from inference.ich.evaluation.metrics import roc_auc
from inference.ich.evaluation.predict import predict_source
from inference.ich.labels import ANY_INDEX
from inference.ich.training.sources import PngSource

KITAMURA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "head-ct-kitamura"

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not KITAMURA.is_dir(), reason=f"real data not found at {KITAMURA}"),
]


def test_kitamura_splits_are_fixed_disjoint_and_balanced() -> None:
    everything = PngSource(KITAMURA)
    assert len(everything) == 200
    parts = {name: PngSource(KITAMURA, split=name) for name in ("finetune", "validation", "test")}
    assert [len(p) for p in parts.values()] == [100, 40, 60]
    ids = [{ident for ident, _ in p.rows} for p in parts.values()]
    assert len(set().union(*ids)) == 200
    assert all(sum(label for _, label in p.rows) * 2 == len(p) for p in parts.values())
    sample = parts["test"][0]
    assert sample.hu.shape == (1, 256, 256) and 0.0 <= sample.hu.min() and sample.hu.max() <= 80.0


@pytest.mark.skipif(not SHIPPED_WEIGHTS.is_file(), reason="no shipped weights in this checkout")
def test_shipped_weights_reproduce_the_recorded_kitamura_test_auc() -> None:
    net, _ = load_model(None)
    predictions = predict_source(net, PngSource(KITAMURA, split="test"))
    auc = roc_auc(predictions.slice_labels[:, ANY_INDEX], predictions.encoder_probs[:, ANY_INDEX])
    recorded = json.loads(sidecar_path(SHIPPED_WEIGHTS).read_text())["evaluation"]["kitamura_test"]
    assert auc == pytest.approx(recorded["auc"], abs=1e-3)
    assert recorded["auc_ci"][0] <= auc <= recorded["auc_ci"][1]
