"""Fit the per-label temperatures of uncalibrated weights on their validation series and record them.

``python -m inference.ich.evaluation.validation_calibration WEIGHTS [--predictions FILE] [--dry]``: one prediction
pass over the validation sources of :func:`inference.ich.evaluation.validation_points.validation_sources` (the study
probabilities the engines report, with the intracranial restriction; ``--predictions`` keeps them in an ``.npz``
and reads them from there when it exists), one temperature per label fitted on all validation studies
(:func:`inference.ich.evaluation.calibration.fit_temperature`), and the expected calibration error before and after.
These are the same studies the thresholds were chosen on: the errors are in-sample. Without ``--dry`` the
sidecar gets ``calibration`` and its study thresholds move to the calibrated scale by the same map, so every
decision stays the same (checked here on the validation studies); the previous points go to
``operating_point_changes``.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inference.ich.checkpoint import load_model, sidecar_path
from inference.ich.evaluation.calibration import ECE_BINS, METHOD, Calibration, expected_calibration_error, fit_temperature
from inference.ich.evaluation.operating_point import record_operating_points
from inference.ich.evaluation.predict import predict_source
from inference.ich.evaluation.validation_points import VALIDATION_DATA, validation_sources
from inference.ich.labels import LABELS

StudyRows = tuple[np.ndarray, np.ndarray, np.ndarray]
"""(probabilities, labels, known) [studies, 6] of the validation studies."""


def validation_study_rows(weights: Path, predictions: Path | None) -> StudyRows:
    """Study rows of the validation sources, from ``predictions`` when that file exists, else predicted (and
    written to ``predictions`` when given)."""
    if predictions is not None and predictions.is_file():
        with np.load(predictions) as saved:
            return saved["probs"], saved["labels"], saved["known"].astype(bool)
    torch.set_num_threads(1)
    net, _ = load_model(weights)
    preds = [predict_source(net, part, progress=True) for part in validation_sources()]
    rows = tuple(np.concatenate([getattr(p, f"study_{name}") for p in preds]) for name in ("probs", "labels", "known"))
    if predictions is not None:
        predictions.parent.mkdir(parents=True, exist_ok=True)
        np.savez(predictions, probs=rows[0], labels=rows[1], known=rows[2])
    return rows[0], rows[1], rows[2].astype(bool)


def fit_calibration(rows: StudyRows) -> tuple[Calibration, dict[str, float], dict[str, float]]:
    """(calibration, ECE before, ECE after) per label, fitted and measured on ``rows``."""
    probs, labels, known = rows
    temperatures, before, after = {}, {}, {}
    for c, label in enumerate(LABELS):
        y, p = labels[known[:, c], c], probs[known[:, c], c]
        if 0 < y.sum() < len(y):
            temperatures[label] = fit_temperature(p, y)
    calibration = Calibration(temperatures)
    calibrated = calibration.apply(probs)
    for c, label in enumerate(LABELS):
        rows_c = known[:, c]
        before[label] = expected_calibration_error(probs[rows_c, c], labels[rows_c, c])
        after[label] = expected_calibration_error(calibrated[rows_c, c], labels[rows_c, c])
    return calibration, before, after


def calibrated_points(points: dict[str, Any], calibration: Calibration, rows: StudyRows) -> dict[str, Any]:
    """Copy of the study ``points`` with each threshold moved to the calibrated scale.

    Raises
    ------
    ValueError
        If a validation study's decision would change.
    """
    probs, _, known = rows
    calibrated = calibration.apply(probs)
    moved = copy.deepcopy(points)
    for label, threshold in points["thresholds"].items():
        c = LABELS.index(label)
        moved["thresholds"][label] = calibration.threshold(label, threshold)
        rows_c = known[:, c]
        if not np.array_equal(probs[rows_c, c] >= threshold, calibrated[rows_c, c] >= moved["thresholds"][label]):
            raise ValueError(f"calibration would change a {label} decision on the validation studies")
    return moved


def main(argv: list[str]) -> None:
    """Run on ``argv`` (weights path, optional ``--predictions FILE``, optional ``--dry``)."""
    weights = Path(argv[0])
    predictions = Path(argv[argv.index("--predictions") + 1]) if "--predictions" in argv else None
    meta: dict[str, Any] = json.loads(sidecar_path(weights).read_text(encoding="utf-8"))
    if "calibration" in meta:
        raise SystemExit(f"{sidecar_path(weights)} is already calibrated; fit on uncalibrated weights")
    rows = validation_study_rows(weights, predictions)
    calibration, before, after = fit_calibration(rows)
    points = calibrated_points(meta["operating_points"]["study"], calibration, rows)
    entry = {
        "method": METHOD, "temperatures": dict(calibration.temperatures), "fitted_on": VALIDATION_DATA,
        "n": int(len(rows[0])), "command": "python -m inference.ich.evaluation.validation_calibration " + " ".join(argv),
        "ece_bins": ECE_BINS, "ece_before": before, "ece_after": after,
        "note": ("fitted on the studies the thresholds were chosen on: the ECE figures are in-sample. Applied to the "
                 "slice and study probabilities after the intracranial restriction; the study thresholds moved by "
                 "the same map (same decisions). Figures under 'evaluation' recorded before calibration keep "
                 "uncalibrated thresholds and log losses."),
    }
    print(json.dumps({"calibration": entry, "thresholds": points["thresholds"]}, indent=1), flush=True)
    if "--dry" in argv:
        return
    record_operating_points(weights, points, {"command": entry["command"], "data": VALIDATION_DATA,
                                              "why": "thresholds moved to the calibrated scale (temperature scaling)"})
    path = sidecar_path(weights)
    updated = json.loads(path.read_text(encoding="utf-8"))
    updated["calibration"] = entry
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(updated, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


if __name__ == "__main__":
    main(sys.argv[1:])
