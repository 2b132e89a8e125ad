"""Per-label temperature scaling of the model's probabilities, and the expected calibration error.

A temperature ``T`` maps a probability ``p`` to ``sigmoid(logit(p) / T)``: ``T > 1`` pulls over-confident
probabilities towards 0.5, ``T < 1`` pushes them out. The map is strictly increasing, so it changes no
ranking (every AUC stays the same) and a decision ``p >= t`` is the same decision as ``map(p) >= map(t)``:
thresholds move with the probabilities (:meth:`Calibration.threshold`). 0 and 1 stay 0 and 1. In float32,
the type of a :class:`~inference.ich.prediction.Prediction`, a temperature below 1 can round probabilities within
about 1e-6 of 1 to exactly 1 (ties far above any threshold).

:func:`fit_temperature` minimises the negative log-likelihood of the labels over ``T``; the sidecar keeps one
temperature per label under ``calibration`` (:meth:`Calibration.from_sidecar`), and the engines apply it to the
slice and study probabilities after the intracranial restriction (:meth:`inference.ich.predictor.Predictor.predict`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from inference.ich.labels import LABELS

METHOD = "temperature"
TEMPERATURE_RANGE = (0.05, 20.0)
"""Bounds of a fitted temperature."""

PROBABILITY_CLIP = 1e-7
"""Probabilities are clipped to [c, 1 - c] before their logit is taken for a fit."""

ECE_BINS = 10


def logit(probs: np.ndarray) -> np.ndarray:
    """float64 logit of ``probs``; 0 and 1 give -inf and +inf."""
    p = np.asarray(probs, dtype=np.float64)
    with np.errstate(divide="ignore"):
        result: np.ndarray = np.log(p) - np.log1p(-p)
    return result


def scale(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``sigmoid(logit(probs) / temperature)`` in float64 (0 and 1 are kept)."""
    z = logit(probs) / temperature
    with np.errstate(over="ignore"):
        result: np.ndarray = 1.0 / (1.0 + np.exp(-z))
    return result


def _nll_slope(inverse: float, z: np.ndarray, y: np.ndarray) -> float:
    """Derivative of the summed log loss of ``sigmoid(inverse * z)`` with respect to ``inverse``."""
    return float(np.sum((1.0 / (1.0 + np.exp(-inverse * z)) - y) * z))


def fit_temperature(probs: np.ndarray, labels: np.ndarray, iterations: int = 100) -> float:
    """Temperature minimising the log loss of ``labels`` under ``scale(probs, T)``.

    Parameters
    ----------
    probs
        [n] probabilities of one label.
    labels
        [n] 0/1 labels.
    iterations
        Bisection steps.

    Returns
    -------
    float
        ``T`` within :data:`TEMPERATURE_RANGE`.

    Notes
    -----
    The log loss is convex in ``1 / T`` (a one-weight logistic regression on the logit), so its derivative
    increases with ``1 / T`` and bisection on its sign finds the minimum.
    """
    y = np.asarray(labels, dtype=np.float64)
    z = logit(np.clip(np.asarray(probs, dtype=np.float64), PROBABILITY_CLIP, 1.0 - PROBABILITY_CLIP))
    if z.shape != y.shape or z.ndim != 1:
        raise ValueError(f"probs {z.shape} and labels {y.shape} must be matching 1-d arrays")
    low, high = 1.0 / TEMPERATURE_RANGE[1], 1.0 / TEMPERATURE_RANGE[0]
    if _nll_slope(low, z, y) >= 0.0:
        return TEMPERATURE_RANGE[1]
    if _nll_slope(high, z, y) <= 0.0:
        return TEMPERATURE_RANGE[0]
    for _ in range(iterations):
        middle = 0.5 * (low + high)
        if _nll_slope(middle, z, y) < 0.0:
            low = middle
        else:
            high = middle
    return 2.0 / (low + high)


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error: over ``bins`` equal-width probability bins, the share of samples in each
    bin times the gap between its mean probability and its positive rate."""
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if p.size == 0:
        raise ValueError("no samples")
    index = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        rows = index == b
        if rows.any():
            total += rows.sum() * abs(p[rows].mean() - y[rows].mean())
    return float(total / p.size)


@dataclass(frozen=True)
class Calibration:
    """One temperature per label (labels without one keep ``T = 1``).

    Attributes
    ----------
    temperatures : dict of str to float
        Temperature of each label of :data:`inference.ich.labels.LABELS`.
    """

    temperatures: Mapping[str, float]

    def __post_init__(self) -> None:
        unknown = set(self.temperatures) - set(LABELS)
        if unknown:
            raise ValueError(f"temperatures for unknown labels: {sorted(unknown)}")
        if not all(t > 0.0 for t in self.temperatures.values()):
            raise ValueError(f"temperatures must be positive, got {dict(self.temperatures)}")

    def temperature(self, label: str) -> float:
        """Temperature of ``label``."""
        return float(self.temperatures.get(label, 1.0))

    def apply(self, probs: np.ndarray) -> np.ndarray:
        """Calibrated copy of ``probs`` [..., 6] (columns in :data:`~inference.ich.labels.LABELS` order), float32."""
        p = np.asarray(probs)
        if p.shape[-1] != len(LABELS):
            raise ValueError(f"probabilities need {len(LABELS)} columns, got shape {p.shape}")
        out = np.empty(p.shape, dtype=np.float32)
        for c, label in enumerate(LABELS):
            out[..., c] = scale(p[..., c], self.temperature(label))
        return out

    def threshold(self, label: str, threshold: float) -> float:
        """``threshold`` of ``label`` moved to the calibrated scale (the decision it makes is unchanged)."""
        return float(scale(np.array(threshold), self.temperature(label)))

    @classmethod
    def from_sidecar(cls, meta: Mapping[str, Any]) -> Calibration | None:
        """The ``calibration`` entry of a sidecar, or None when it has none."""
        entry = meta.get("calibration")
        if entry is None:
            return None
        if entry.get("method") != METHOD:
            raise ValueError(f"calibration method must be {METHOD!r}, got {entry.get('method')!r}")
        return cls({str(k): float(v) for k, v in entry["temperatures"].items()})
