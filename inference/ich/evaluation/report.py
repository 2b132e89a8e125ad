"""An evaluation report: per-class metrics at the operating point, as JSON, a Markdown table and a
ROC plot (PNG, matplotlib's Agg backend, no display needed)."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from inference.ich.evaluation.metrics import binary_metrics, roc_curve, weighted_log_loss
from inference.ich.evaluation.predict import SourcePredictions
from inference.ich.labels import LABELS

logger = logging.getLogger(__name__)


def evaluate_predictions(predictions: SourcePredictions, level: str, thresholds: dict[str, float],
                         default_threshold: float, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Metrics of every labelled class with both outcomes present.

    Parameters
    ----------
    predictions
        Output of :func:`inference.ich.evaluation.predict.predict_source`.
    level
        ``study``, ``slice`` or ``encoder``.
    thresholds, default_threshold
        Operating point per class; classes not in ``thresholds`` use ``default_threshold``.
    n_resamples, seed
        Bootstrap of the AUC's 95% confidence interval.
    """
    probs, labels, known = predictions.level(level)
    classes: dict[str, Any] = {}
    for c, label in enumerate(LABELS):
        rows = known[:, c]
        y, p = labels[rows, c], probs[rows, c]
        if not rows.any() or y.min() == y.max():
            continue
        metrics = binary_metrics(y, p, thresholds.get(label, default_threshold), n_resamples, seed)
        classes[label] = metrics.to_dict()
    return {
        "level": level, "n": int(len(probs)), "n_series": len(predictions.keys),
        "weighted_log_loss": weighted_log_loss(labels, probs, known), "classes": classes,
    }


def _fmt(value: float, digits: int = 3) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def to_markdown(result: dict[str, Any]) -> str:
    """The per-class table of :func:`evaluate_predictions` as Markdown."""
    lines = [
        f"{result.get('source', '')} ({result['level']} level, n = {result['n']}); weighted log loss "
        f"{_fmt(result['weighted_log_loss'], 4)}",
        "",
        "| class | positives / n | AUC | 95% CI | threshold | sensitivity | specificity | TP | FP | TN | FN |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, m in result["classes"].items():
        low, high = m["auc_ci"]
        lines.append(
            f"| {label} | {m['positives']} / {m['n']} | {_fmt(m['auc'])} | {_fmt(low)}-{_fmt(high)} | "
            f"{_fmt(m['threshold'], 4)} | {_fmt(m['sensitivity'])} | {_fmt(m['specificity'])} | "
            f"{m['tp']} | {m['fp']} | {m['tn']} | {m['fn']} |"
        )
    return "\n".join(lines) + "\n"


def plot_roc(predictions: SourcePredictions, result: dict[str, Any], path: Path, title: str = "") -> Path:
    """ROC curve of each evaluated class, the operating point marked, written as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    probs, labels, known = predictions.level(result["level"])
    fig, ax = plt.subplots(figsize=(6, 6), dpi=100)
    for label, m in result["classes"].items():
        c = LABELS.index(label)
        rows = known[:, c]
        fpr, tpr, _ = roc_curve(labels[rows, c], probs[rows, c])
        (line,) = ax.plot(fpr, tpr, label=f"{label}: AUC {m['auc']:.3f} [{m['auc_ci'][0]:.3f}-{m['auc_ci'][1]:.3f}]")
        ax.plot(1.0 - m["specificity"], m["sensitivity"], "o", color=line.get_color())
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set(xlabel="1 - specificity", ylabel="sensitivity", xlim=(0, 1), ylim=(0, 1.01),
           title=title or f"ROC ({result['level']} level, n = {result['n']}); dots: operating point")
    if result["classes"]:
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def write_report(predictions: SourcePredictions, result: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write ``metrics.json``, ``metrics.md``, ``roc.png`` and ``predictions.csv`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "metrics.json", "markdown": out_dir / "metrics.md", "roc": out_dir / "roc.png",
             "predictions": out_dir / "predictions.csv"}
    paths["json"].write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    paths["markdown"].write_text(to_markdown(result), encoding="utf-8")
    plot_roc(predictions, result, paths["roc"])
    rows = [",".join(["key", *(f"p_{l}" for l in LABELS), *(f"y_{l}" for l in LABELS)])]
    for key, p, y in zip(predictions.keys, predictions.study_probs, predictions.study_labels):
        rows.append(",".join([key, *(f"{v:.6f}" for v in p), *(f"{int(v)}" for v in np.asarray(y))]))
    paths["predictions"].write_text("\n".join(rows) + "\n", encoding="utf-8")
    return paths
