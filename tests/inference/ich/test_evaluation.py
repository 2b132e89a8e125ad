"""Metrics against brute force, the operating point, the report files and ``dicomnode model evaluate``."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from inference.ich.checkpoint import random_model, save_checkpoint
from inference.ich.evaluation.metrics import (
    binary_metrics,
    bootstrap_auc,
    choose_threshold,
    roc_auc,
    roc_curve,
    weighted_log_loss,
)
from inference.ich.evaluation.predict import predict_source
from inference.ich.evaluation.report import evaluate_predictions, to_markdown, write_report
from inference.ich.network import ModelConfig
from inference.ich.training.sources import PhantomSource

TINY = ModelConfig(encoder_width=4, lstm_hidden=8, input_size=32)


def brute_auc(y: np.ndarray, s: np.ndarray) -> float:
    pairs = [(a, b) for a, b in itertools.product(s[y == 1], s[y == 0])]
    return float(np.mean([1.0 if a > b else 0.5 if a == b else 0.0 for a, b in pairs]))


def test_auc_matches_pair_counting_with_ties() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 60)
    s = np.round(y * 0.3 + rng.uniform(size=60), 1)  # many ties
    assert roc_auc(y, s) == pytest.approx(brute_auc(y, s))
    fpr, tpr, thresholds = roc_curve(y, s)
    assert np.trapezoid(tpr, fpr) == pytest.approx(roc_auc(y, s))
    assert fpr[0] == tpr[0] == 0.0 and fpr[-1] == tpr[-1] == 1.0 and np.all(np.diff(thresholds) < 0)
    assert np.isnan(roc_auc(np.ones(4), np.arange(4)))


def test_bootstrap_interval_brackets_the_auc_and_repeats() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = y + rng.normal(0, 1.0, 200)
    low, high = bootstrap_auc(y, s, 300, seed=1)
    assert low < roc_auc(y, s) < high and high - low < 0.2
    assert (low, high) == bootstrap_auc(y, s, 300, seed=1)


def test_operating_point_reaches_the_sensitivity() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    s = y * 0.5 + rng.uniform(size=300)
    for target in (0.9, 0.95, 0.98, 1.0):
        t = choose_threshold(y, s, target)
        assert (s[y == 1] >= t).mean() >= target
        highest = np.sort(s[y == 1])[::-1][int(np.ceil(target * (y == 1).sum())) - 1]
        assert (s[y == 1] >= np.nextafter(highest, 2.0)).mean() < target  # no higher threshold reaches it
        assert (s[y == 0] < t).mean() == (s[y == 0] < highest).mean()  # the best specificity that allows


def test_operating_point_lies_midway_in_the_gap() -> None:
    y = np.array([1, 1, 1, 0, 0, 0])
    s = np.array([0.99, 0.97, 0.95, 0.30, 0.10, 0.96])
    assert choose_threshold(y, s, 1.0) == pytest.approx((0.30 + 0.95) / 2)
    assert choose_threshold(y, s, 0.6) == pytest.approx((0.96 + 0.97) / 2)
    assert choose_threshold(y[:3], s[:3], 1.0) == pytest.approx(0.95)  # no negative: the highest threshold
    assert choose_threshold(np.zeros(3), s[3:], 0.95) == 0.5


def test_binary_metrics_confusion_counts() -> None:
    y = np.array([1, 1, 1, 0, 0, 0, 0])
    s = np.array([0.9, 0.6, 0.2, 0.7, 0.1, 0.3, 0.05])
    m = binary_metrics(y, s, threshold=0.5, n_resamples=50)
    assert (m.tp, m.fn, m.fp, m.tn) == (2, 1, 1, 3)
    assert m.sensitivity == pytest.approx(2 / 3) and m.specificity == pytest.approx(3 / 4)
    assert m.auc == pytest.approx(brute_auc(y, s))


def test_weighted_log_loss_values() -> None:
    y = np.array([[1, 0, 0, 0, 0, 0]], dtype=float)
    p = np.full((1, 6), 0.5)
    assert weighted_log_loss(y, p) == pytest.approx(np.log(2))
    p2 = np.array([[0.9, 0.5, 0.5, 0.5, 0.5, 0.5]])
    assert weighted_log_loss(y, p2) == pytest.approx((2 * -np.log(0.9) + 5 * np.log(2)) / 7)
    known = np.array([True, False, False, False, False, False])
    assert weighted_log_loss(y, p2, known) == pytest.approx(-np.log(0.9))


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    net, _ = random_model(TINY, seed=3)
    path = save_checkpoint(net, tmp_path_factory.mktemp("w") / "tiny.pt", version="t", threshold=0.5)
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["operating_points"] = {"study": {"source": "phantoms", "level": "study", "thresholds": {"any": 0.42}}}
    path.with_suffix(".json").write_text(json.dumps(meta))
    return path


def test_report_files(tiny_weights: Path, tmp_path: Path) -> None:
    from inference.ich.checkpoint import load_checkpoint

    net, _ = load_checkpoint(tiny_weights)
    source = PhantomSource([3, 4, 5, 6], size=32, n_slices=4, input_size=32)
    predictions = predict_source(net, source)
    assert predictions.study_probs.shape == (4, 6) and predictions.slice_probs.shape == (16, 6)
    result = evaluate_predictions(predictions, "study", {"any": 0.42}, 0.5, n_resamples=20)
    assert result["classes"]["any"]["threshold"] == 0.42
    paths = write_report(predictions, {**result, "source": "phantoms"}, tmp_path)
    assert paths["roc"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(paths["json"].read_text())["level"] == "study"
    assert "| any |" in to_markdown(result) and len(paths["predictions"].read_text().splitlines()) == 5


def test_evaluate_command_on_phantoms(tiny_weights: Path, tmp_path: Path) -> None:
    from dicomnode.cli import main

    result = CliRunner().invoke(main, [
        "model", "evaluate", "--weights", str(tiny_weights), "--seeds", "3-6", "--size", "32", "--slices", "4",
        "--out", str(tmp_path / "ev"), "--bootstrap", "20", "--threads", "1",
    ])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert metrics["level"] == "study" and metrics["n"] == 4 and metrics["seeds"] == "3-6"
    assert metrics["classes"]["any"]["threshold"] == 0.42 and "study operating point" in metrics["operating_point"]
    assert (tmp_path / "ev" / "roc.png").is_file()


def test_evaluate_command_on_png_slices(tiny_weights: Path, tmp_path: Path) -> None:
    from dicomnode.cli import main
    from tests.inference.ich.training_fixtures import write_png_folder

    png = write_png_folder(tmp_path / "png", n=20)
    result = CliRunner().invoke(main, [
        "model", "evaluate", "--weights", str(tiny_weights), "--source", "png", "--data", str(png),
        "--split", "all", "--out", str(tmp_path / "ev"), "--bootstrap", "20", "--operating-point", "0.3",
    ])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert metrics["level"] == "encoder" and metrics["n"] == 20 and list(metrics["classes"]) == ["any"]
    assert metrics["classes"]["any"]["threshold"] == 0.3
