"""Temperature scaling (inference.ich.evaluation.calibration) on synthetic logits, and moving the thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from inference.ich.evaluation.calibration import (
    Calibration,
    expected_calibration_error,
    fit_temperature,
    scale,
)
from inference.ich.evaluation.metrics import roc_auc
from inference.ich.evaluation.validation_calibration import calibrated_points, fit_calibration
from inference.ich.labels import LABELS


def _logit_set(factor: float, n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from sigmoid(z) and probabilities sigmoid(factor * z): over-confident when factor > 1."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 2.0, n)
    labels = (rng.random(n) < 1.0 / (1.0 + np.exp(-z))).astype(float)
    return 1.0 / (1.0 + np.exp(-factor * z)), labels


def test_an_over_confident_set_recovers_its_temperature_and_loses_calibration_error() -> None:
    probs, labels = _logit_set(3.0)
    temperature = fit_temperature(probs, labels)
    assert temperature > 1.0
    assert temperature == pytest.approx(3.0, rel=0.15)
    assert expected_calibration_error(scale(probs, temperature), labels) < expected_calibration_error(probs, labels) / 2


def test_an_under_confident_set_gets_a_temperature_below_one() -> None:
    probs, labels = _logit_set(0.4)
    assert fit_temperature(probs, labels) == pytest.approx(0.4, rel=0.15)


def test_calibration_keeps_the_ranking_so_the_auc() -> None:
    probs, labels = _logit_set(3.0, n=500)
    calibration = Calibration({"any": fit_temperature(probs, labels), "subdural": 1.8})
    table = np.repeat(probs.astype(np.float32)[:, None], len(LABELS), axis=1)
    calibrated = calibration.apply(table)
    for c in range(len(LABELS)):
        assert roc_auc(labels, calibrated[:, c]) == roc_auc(labels, table[:, c])
    assert calibrated[:, 0] == pytest.approx(scale(table[:, 0], calibration.temperature("any")), abs=1e-6)
    assert calibrated[:, 1] == pytest.approx(probs, abs=1e-6)  # no temperature: unchanged
    for temperature in (0.5, 4.0):  # in float64 the order is strict either way
        assert np.array_equal(np.argsort(scale(probs, temperature)), np.argsort(probs))
    assert np.array_equal(calibration.apply(np.array([[0.0] * 6, [1.0] * 6])), [[0.0] * 6, [1.0] * 6])


@pytest.mark.parametrize("temperature", [0.3, 1.7, 6.0])
def test_a_moved_threshold_makes_the_same_decisions(temperature: float) -> None:
    probs, _ = _logit_set(2.0, n=2000, seed=1)
    calibration = Calibration({"intraparenchymal": temperature})
    calibrated = calibration.apply(np.repeat(probs[:, None], len(LABELS), axis=1))[:, LABELS.index("intraparenchymal")]
    for threshold in (1e-4, 0.0244, 0.1415, 0.5, 0.93):
        moved = calibration.threshold("intraparenchymal", threshold)
        assert np.array_equal(probs >= threshold, calibrated >= moved)


def test_fitted_calibration_moves_the_study_points_without_changing_a_decision() -> None:
    rng = np.random.default_rng(2)
    probs, labels = _logit_set(2.5, n=300)
    table = np.column_stack([probs if c % 2 == 0 else rng.random(300) for c in range(len(LABELS))])
    rows = (table, np.repeat(labels[:, None], len(LABELS), axis=1), np.ones(table.shape, dtype=bool))
    calibration, before, after = fit_calibration(rows)
    assert calibration.temperature("any") > 1.0 and after["any"] < before["any"]
    points = {"thresholds": {"any": 0.3, "subdural": 0.7}, "auc": {"any": 0.9}}
    moved = calibrated_points(points, calibration, rows)
    assert moved["thresholds"]["any"] == calibration.threshold("any", 0.3) != 0.3
    assert moved["auc"] == points["auc"] and points["thresholds"]["any"] == 0.3


def test_sidecar_entry_and_invalid_temperatures() -> None:
    assert Calibration.from_sidecar({"threshold": 0.5}) is None
    entry = Calibration.from_sidecar({"calibration": {"method": "temperature", "temperatures": {"any": 1.5}}})
    assert entry is not None and entry.temperature("any") == 1.5 and entry.temperature("epidural") == 1.0
    with pytest.raises(ValueError, match="method"):
        Calibration.from_sidecar({"calibration": {"method": "isotonic", "temperatures": {}}})
    with pytest.raises(ValueError, match="unknown"):
        Calibration({"bleed": 1.0})
    with pytest.raises(ValueError, match="positive"):
        Calibration({"any": 0.0})
