"""Operating points: per-class thresholds chosen on validation data, and re-choosing them for trained weights.

A threshold reaches ``min_sensitivity`` on the validation source with the best specificity that allows
(:func:`inference.ich.evaluation.metrics.choose_threshold`). Training stores them in the sidecar under
``operating_points`` (``study`` for series sources, ``extra_encoder`` for a slice-level PNG set); the sidecar's
``threshold`` is the study-level "any" threshold the node reports with. :func:`record_operating_points` replaces
one of them for weights already trained (a site's own validation data, a stricter sensitivity) and keeps the
previous values in ``operating_point_changes``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from inference.ich.checkpoint import sidecar_path
from inference.ich.evaluation.calibration import Calibration
from inference.ich.evaluation.metrics import MIN_SENSITIVITY, choose_threshold, roc_auc
from inference.ich.evaluation.predict import predict_source
from inference.ich.labels import LABELS
from inference.ich.network import HemorrhageNet
from inference.ich.training.sources import DataSource

THRESHOLD_RANGE = (1e-4, 1.0 - 1e-4)
POINT_KEYS = {"study": "study", "encoder": "extra_encoder"}
"""Sidecar key of the operating points of each level."""


def operating_points(net: HemorrhageNet, source: DataSource, level: str = "study",
                     min_sensitivity: float = MIN_SENSITIVITY, calibration: Calibration | None = None) -> dict[str, Any]:
    """Per-class thresholds reaching ``min_sensitivity`` on ``source`` at ``level`` (plus AUCs, counts), on the
    scale of ``calibration`` (the weights' own, so that the thresholds match what the engines report)."""
    probs, labels, known = predict_source(net, source, calibration=calibration).level(level)
    points: dict[str, Any] = {"source": source.name, "level": level, "min_sensitivity": min_sensitivity,
                              "n": int(len(probs)), "thresholds": {}, "auc": {}}
    for c, label in enumerate(LABELS):
        rows = known[:, c]
        y, p = labels[rows, c], probs[rows, c]
        if rows.any() and 0 < y.sum() < len(y):
            points["thresholds"][label] = float(np.clip(choose_threshold(y, p, min_sensitivity), *THRESHOLD_RANGE))
            points["auc"][label] = roc_auc(y, p)
    return points


def record_operating_points(weights: Path, points: dict[str, Any], provenance: dict[str, Any]) -> dict[str, Any]:
    """Write ``points`` into the sidecar of ``weights`` under its level's key; return the updated sidecar.

    Study-level points also replace the sidecar's ``threshold`` (their "any" threshold). The replaced
    points, ``provenance`` (the command, the data) and the time are appended to ``operating_point_changes``.
    The weights themselves, and so the model hash, do not change.
    """
    if points["level"] not in POINT_KEYS:
        raise ValueError(f"operating points are kept for levels {', '.join(POINT_KEYS)}, not {points['level']!r}")
    if points["level"] == "study" and "any" not in points["thresholds"]:
        raise ValueError("the validation data need positive and negative studies for 'any'")
    key = POINT_KEYS[points["level"]]
    path = sidecar_path(weights)
    meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    previous = meta.setdefault("operating_points", {}).get(key)
    change = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "key": key, **provenance,
              "min_sensitivity": points["min_sensitivity"], "previous": previous}
    if key == "study":
        change["previous_threshold"] = meta.get("threshold")
        meta["threshold"] = points["thresholds"]["any"]
    meta["operating_points"][key] = points
    meta.setdefault("operating_point_changes", []).append(change)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return meta
