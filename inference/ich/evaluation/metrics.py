"""Binary classification metrics for each label: ROC AUC with a bootstrap confidence interval, the
operating point, sensitivity/specificity, confusion matrix and the RSNA weighted log loss.

Plain numpy (no scikit-learn): the AUC is the Mann-Whitney U statistic with ties counted half.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np

from inference.ich.labels import ANY_INDEX

logger = logging.getLogger(__name__)

EPS = 1e-7


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve; NaN when only one class is present."""
    y = np.asarray(labels).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_s = s[order]
    # average ranks over ties
    boundaries = np.r_[0, np.flatnonzero(np.diff(sorted_s)) + 1, len(s)]
    for start, stop in zip(boundaries[:-1], boundaries[1:]):
        ranks[order[start:stop]] = 0.5 * (start + stop - 1) + 1.0
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(false positive rate, true positive rate, thresholds), thresholds decreasing, starting at +inf."""
    y = np.asarray(labels).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    distinct = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps = np.cumsum(y)[distinct]
    fps = (distinct + 1) - tps
    tpr = np.r_[0.0, tps / max(1, int(y.sum()))]
    fpr = np.r_[0.0, fps / max(1, int((~y).sum()))]
    return fpr, tpr, np.r_[np.inf, s[distinct]]


def bootstrap_auc(labels: np.ndarray, scores: np.ndarray, n_resamples: int = 1000, seed: int = 0,
                  level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the AUC (cases resampled with replacement, stratified
    by class so every resample has both)."""
    y = np.asarray(labels).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    if len(pos) == 0 or len(neg) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    values = np.empty(n_resamples)
    for i in range(n_resamples):
        idx = np.r_[rng.choice(pos, len(pos)), rng.choice(neg, len(neg))]
        values[i] = roc_auc(y[idx], s[idx])
    alpha = (1.0 - level) / 2.0
    return float(np.quantile(values, alpha)), float(np.quantile(values, 1.0 - alpha))


MIN_SENSITIVITY = 0.95
"""The lowest validation sensitivity an operating point may be chosen for (a missed bleed costs more than a
false alarm)."""


def choose_threshold(labels: np.ndarray, scores: np.ndarray, min_sensitivity: float = MIN_SENSITIVITY) -> float:
    """Operating point: sensitivity (score >= threshold) at least ``min_sensitivity``, with the best
    specificity that allows, placed midway between the scores that bound it.

    The highest threshold reaching the sensitivity fixes the best specificity; every threshold above the
    highest negative score below it keeps that sensitivity and specificity. The midpoint of that interval
    is returned (the widest margin on both sides), so a positive scoring a little lower than the ones seen
    here is still flagged at no cost in specificity here. With no negative below the highest threshold,
    that threshold; with no positives, 0.5 (the midpoint above every score would flag nothing).
    """
    y = np.asarray(labels).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    positives = np.sort(s[y])[::-1]
    if len(positives) == 0:
        return 0.5
    needed = int(np.ceil(min_sensitivity * len(positives) - 1e-9))
    highest = float(positives[max(needed, 1) - 1])
    negatives_below = s[~y][s[~y] < highest]
    if len(negatives_below) == 0:
        return highest
    return (float(negatives_below.max()) + highest) / 2.0


@dataclass(frozen=True)
class BinaryMetrics:
    """Metrics of one label at one threshold."""

    n: int
    positives: int
    auc: float
    auc_ci: tuple[float, float]
    threshold: float
    sensitivity: float
    specificity: float
    tp: int
    fp: int
    tn: int
    fn: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def binary_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float, n_resamples: int = 1000,
                   seed: int = 0) -> BinaryMetrics:
    """AUC with its bootstrap CI, and the confusion matrix, sensitivity and specificity at ``threshold``."""
    y = np.asarray(labels).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    predicted = s >= threshold
    tp, fp = int((predicted & y).sum()), int((predicted & ~y).sum())
    tn, fn = int((~predicted & ~y).sum()), int((~predicted & y).sum())
    return BinaryMetrics(
        n=len(y), positives=int(y.sum()), auc=roc_auc(y, s),
        auc_ci=bootstrap_auc(y, s, n_resamples, seed) if n_resamples else (float("nan"), float("nan")),
        threshold=float(threshold),
        sensitivity=tp / (tp + fn) if tp + fn else float("nan"),
        specificity=tn / (tn + fp) if tn + fp else float("nan"), tp=tp, fp=fp, tn=tn, fn=fn,
    )


def weighted_log_loss(labels: np.ndarray, probs: np.ndarray, known: np.ndarray | None = None,
                      any_weight: float = 2.0) -> float:
    """RSNA weighted multi-label log loss of probabilities [n, 6] (weight ``any_weight`` on "any")."""
    y = np.asarray(labels, dtype=np.float64)
    p = np.clip(np.asarray(probs, dtype=np.float64), EPS, 1.0 - EPS)
    weights = np.ones(y.shape[-1])
    weights[ANY_INDEX] = any_weight
    mask = np.ones_like(y) if known is None else np.broadcast_to(np.asarray(known, dtype=np.float64), y.shape)
    bce = -(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))
    row_weight = (weights * mask).sum(axis=-1)
    valid = row_weight > 0
    if not valid.any():
        return float("nan")
    return float(((weights * mask * bce).sum(axis=-1)[valid] / row_weight[valid]).mean())
