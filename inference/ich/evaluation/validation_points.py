"""Operating points of the shipped 2.3.0 weights on their validation series, with the intracranial restriction.

``python -m inference.ich.evaluation.validation_points WEIGHTS [--dry]``: one prediction pass over each validation
source of the 2.3.0 run (phantoms 10000-10099, the real validation volume with insertion seeds 0-59 at its own
thickness, the 10 labelled RSNA slices; read from ``../shared/data`` and cached in ``var/cache/eval``), thresholds
at sensitivity 0.95 as :func:`inference.ich.evaluation.operating_point.operating_points` places them, figures per
source, on the scale of the weights' calibration when their sidecar has one; without ``--dry`` they are
recorded in the sidecar (:func:`record_operating_points`). The 2.3.0 training
process computed its points before the restriction existed; this is how they were recomputed (model card).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inference.ich.checkpoint import load_model
from inference.ich.evaluation.metrics import choose_threshold, roc_auc
from inference.ich.evaluation.operating_point import THRESHOLD_RANGE, record_operating_points
from inference.ich.evaluation.predict import predict_source
from inference.ich.labels import LABELS
from inference.ich.realct.rsna_slices import RsnaSliceSource
from inference.ich.realct.source import SPLITS, RealInsertionSource
from inference.ich.training.sources import DataSource, PhantomSource


VALIDATION_DATA = "phantoms 10000-10099 + realct ge-head-dcmqa seeds 0-59 (own thickness) + rsna-slices/labelled (10)"


def validation_sources(cache: Path = Path("var/cache/eval")) -> list[DataSource]:
    """The validation sources of the 2.3.0 run (:data:`VALIDATION_DATA`), read from ``../shared/data``."""
    return [PhantomSource(list(range(10000, 10100)), cache_dir=cache),
            RealInsertionSource(Path("../shared/data/real-ct"), SPLITS["validation"], range(60), cache_dir=cache, reslice=False),
            RsnaSliceSource(Path("../shared/data/rsna-slices/labelled"))]


def main(argv: list[str]) -> None:
    """Run on ``argv`` (weights path, optional ``--dry``)."""
    torch.set_num_threads(1)
    weights = Path(argv[0])
    net, info = load_model(weights)
    preds = {part.name: predict_source(net, part, calibration=info.calibration) for part in validation_sources()}
    probs = np.concatenate([p.study_probs for p in preds.values()])
    labels = np.concatenate([p.study_labels for p in preds.values()])
    known = np.concatenate([p.study_known for p in preds.values()])
    points: dict[str, Any] = {"source": "phantoms+realct+rsna-slices", "level": "study", "min_sensitivity": 0.95, "n": int(len(probs)),
              "thresholds": {}, "auc": {}}
    for c, label in enumerate(LABELS):
        y, p = labels[known[:, c], c], probs[known[:, c], c]
        if 0 < y.sum() < len(y):
            points["thresholds"][label] = float(np.clip(choose_threshold(y, p, 0.95), *THRESHOLD_RANGE))
            points["auc"][label] = roc_auc(y, p)
    points["per_source"] = {}
    for name, p in preds.items():
        entry: dict[str, Any] = {"n": int(len(p.study_probs)), "positives_any": int(p.study_labels[:, 0].sum())}
        for c, label in enumerate(LABELS):
            y = p.study_labels[:, c]
            if 0 < y.sum() < len(y):
                entry[f"auc_{label}"] = roc_auc(y, p.study_probs[:, c])
        t = points["thresholds"]["any"]
        pos, neg = p.study_labels[:, 0] > 0, p.study_labels[:, 0] == 0
        entry["sensitivity_any"] = float((p.study_probs[pos, 0] >= t).mean()) if pos.any() else None
        entry["specificity_any"] = float((p.study_probs[neg, 0] < t).mean()) if neg.any() else None
        points["per_source"][name] = entry
    print(json.dumps({"thresholds": points["thresholds"], "auc": points["auc"], "per_source": points["per_source"]}, indent=1), flush=True)
    if "--dry" not in argv:
        record_operating_points(weights, points, {"command": "python -m inference.ich.evaluation.validation_points " + str(weights),
                                                  "data": VALIDATION_DATA,
                                                  "why": "operating points with the intracranial restriction of inference.ich.postprocess applied"})


if __name__ == "__main__":
    main(sys.argv[1:])
