"""Test helpers for reports and delivery: phantom series as datasets, predictions, contexts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from dicomnode.pipelines.ich_ct.results import ReportContext
from inference.ich.labels import LABELS
from inference.ich.phantoms import generate_study, write_dicom
from inference.ich.prediction import Prediction
from inference.ich.volume import Volume

MODEL_HASH = "ab" * 32
WHEN = datetime(2026, 11, 21, 8, 30, 0, tzinfo=timezone.utc)


def phantom_series(out: Path, subtype: str = "SDH", seed: int = 3, n_slices: int = 10, size: int = 128) -> list[Dataset]:
    """A phantom head CT written as DICOM and read back (what the node would hold), in file order."""
    files = write_dicom(generate_study(seed=seed, subtype=subtype, n_slices=n_slices, size=size), out)
    return [pydicom.dcmread(path) for path in files]


def prediction_for(
    datasets: Sequence[Dataset], study: Sequence[float], peak_slice: int | None = None, saliency: bool = True,
) -> Prediction:
    """A Prediction over ``datasets`` (volume order) with the given study probabilities.

    Slice probabilities are low everywhere except around ``peak_slice`` (default: the middle), where
    each column reaches its study probability; saliency peaks in the image's upper-left quadrant.
    """
    uids = Volume.from_datasets(list(datasets)).sop_instance_uids
    n = len(uids)
    peak = n // 2 if peak_slice is None else peak_slice
    profile = np.exp(-0.5 * ((np.arange(n) - peak) / 1.5) ** 2)[:, None]
    slice_probs = (0.02 + profile * (np.asarray(study, dtype=np.float32)[None, :] - 0.02)).astype(np.float32)
    maps = None
    if saliency:
        maps = np.zeros((n, 8, 8), dtype=np.float32)
        maps[:, 1:3, 1:3] = 1.0
    return Prediction(
        slice_probs, np.asarray(study, dtype=np.float32), maps, uids, {"total": 1.0},
        "ich-test-net", "1.2.3", "torch:cpu",
    )


POSITIVE = (0.91, 0.05, 0.12, 0.08, 0.22, 0.87)  # any + subdural
NEGATIVE = (0.04, 0.01, 0.02, 0.01, 0.03, 0.02)
assert len(POSITIVE) == len(LABELS)


def context_for(datasets: Sequence[Dataset], threshold: float = 0.5, max_key_slices: int = 3, version: int = 1) -> ReportContext:
    return ReportContext.for_job(
        str(datasets[0].SeriesInstanceUID), version, MODEL_HASH, threshold, max_key_slices=max_key_slices,
        created_at=WHEN,
    )


def lesion_case(out: Path, subtype: str = "SDH", seed: int = 3, n_slices: int = 10, size: int = 128,
                study: Sequence[float] = (0.91, 0.05, 0.12, 0.08, 0.22, 0.87)) -> tuple[list[Dataset], Prediction, np.ndarray]:
    """A phantom with a bleed, a prediction whose saliency sits on the drawn bleed, and the bleed's mask.

    The saliency of each slice is the ground-truth lesion mask averaged onto the model's 8 x 8 grid
    (what a model that found the bleed would attribute); slice probabilities follow the lesion's area.

    Returns
    -------
    (datasets in file order, prediction in volume order, bool lesion mask [slices, rows, cols] in volume order)
    """
    generated = generate_study(seed=seed, subtype=subtype, n_slices=n_slices, size=size)
    files = write_dicom(generated, out)
    datasets = [pydicom.dcmread(path) for path in files]
    uids = Volume.from_datasets(datasets).sop_instance_uids
    by_uid = {str(ds.SOPInstanceUID): i for i, ds in enumerate(datasets)}
    lesion = np.stack([generated.lesion_mask[by_uid[uid]] > 0 for uid in uids])
    grid = lesion.reshape(len(uids), 8, size // 8, 8, size // 8).mean(axis=(2, 4)).astype(np.float32)
    area = lesion.reshape(len(uids), -1).mean(axis=1)
    profile = (area / max(float(area.max()), 1e-6))[:, None]
    slice_probs = (0.02 + profile * (np.asarray(study, dtype=np.float32)[None, :] - 0.02)).astype(np.float32)
    prediction = Prediction(slice_probs, np.asarray(study, dtype=np.float32), grid, uids, {"total": 1.0},
                            "ich-test-net", "1.2.3", "torch:cpu")
    return datasets, prediction, lesion
