"""Detection-level evaluation of the CMB detector against phantom truth: sensitivity, precision, FPavg.

A detection matches a true microbleed when their centres are at most ``max(4 mm, d / 2 + 2 mm)`` apart
(``d`` the source diameter); each truth is matched at most once, nearest first. The method's measures
(Liu et al. 2019): sensitivity = TP / (TP + FN), precision = TP / (TP + FP), FPavg = FP per subject.
A detection on a calcification counts as a false positive and is also counted apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def match_radius_mm(diameter_mm: float) -> float:
    """Largest centre distance at which a detection counts as finding a lesion of that diameter."""
    return max(4.0, diameter_mm / 2 + 2.0)


@dataclass
class SubjectCounts:
    """Counts of one subject."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    calcification_fp: int = 0


def match(detections_mm: np.ndarray, truth: Sequence[dict[str, object]]) -> SubjectCounts:
    """Match detection centres (patient or grid mm, ``(n, 3)``) to truth lesions (dicts with ``kind``,
    ``centre_mm`` in the same frame, ``diameter_mm``)."""
    counts = SubjectCounts()
    used = np.zeros(len(detections_mm), dtype=bool)
    for lesion in sorted(truth, key=lambda t: t["kind"] != "microbleed"):
        centre = np.asarray(lesion["centre_mm"], dtype=float)
        radius = match_radius_mm(float(lesion["diameter_mm"]))  # type: ignore[arg-type]
        hit = False
        if len(detections_mm):
            d = np.linalg.norm(detections_mm - centre, axis=1)
            d[used] = np.inf
            j = int(np.argmin(d))
            if d[j] <= radius:
                used[j] = hit = True
        if lesion["kind"] == "microbleed":
            counts.tp += hit
            counts.fn += not hit
        elif hit:
            counts.calcification_fp += 1
    counts.fp = int((~used).sum()) + counts.calcification_fp
    return counts


def summarise(subjects: Sequence[SubjectCounts]) -> dict[str, float]:
    """Sensitivity, precision, FPavg and calcifications reported over subjects."""
    tp = sum(s.tp for s in subjects)
    fp = sum(s.fp for s in subjects)
    fn = sum(s.fn for s in subjects)
    return {"subjects": len(subjects), "microbleeds": tp + fn, "tp": tp, "fp": fp, "fn": fn,
            "sensitivity": tp / (tp + fn) if tp + fn else float("nan"),
            "precision": tp / (tp + fp) if tp + fp else float("nan"),
            "fp_avg": fp / len(subjects) if subjects else float("nan"),
            "calcifications_reported": sum(s.calcification_fp for s in subjects)}
