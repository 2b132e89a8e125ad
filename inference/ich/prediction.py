"""The result of running the model on one series."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from inference.ich.labels import ANY_INDEX, LABELS
from inference.ich.resample import resample_bilinear


@dataclass(frozen=True, eq=False)
class Prediction:
    """Probabilities for one series, in the volume's slice order (foot to head).

    Attributes
    ----------
    slice_probs : numpy.ndarray
        float32 [N, 6], columns in :data:`inference.ich.labels.LABELS` order.
    study_probs : numpy.ndarray
        float32 [6].
    saliency : numpy.ndarray or None
        float32 [N, h, w] in [0, 1]: class activation map of "any" over the whole image grid at the
        encoder's resolution (h = w = 8 for a 256 input); :meth:`saliency_map` resamples one slice.
    sop_instance_uids : tuple of str
        Source SOP Instance UIDs, one per row of ``slice_probs``.
    timings_ms : dict
        Milliseconds per stage ("preprocess", "encoder", "sequence", "total", plus "load" when known).
    model_name, model_version : str
        Identity of the model; version ``untrained-random-init`` means random weights.
    backend : str
        Engine that produced it (e.g. ``onnxruntime:CPUExecutionProvider``).
    intracranial : numpy.ndarray or None
        bool [N, rows, cols] intracranial mask of the source slices (:mod:`inference.ich.postprocess`); when
        present, :meth:`saliency_map` is zero outside it.
    """

    slice_probs: np.ndarray
    study_probs: np.ndarray
    saliency: np.ndarray | None
    sop_instance_uids: tuple[str, ...]
    timings_ms: dict[str, float] = field(default_factory=dict)
    model_name: str = ""
    model_version: str = ""
    backend: str = ""
    intracranial: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.sop_instance_uids)
        if self.slice_probs.shape != (n, len(LABELS)) or self.study_probs.shape != (len(LABELS),):
            raise ValueError(
                f"slice_probs must be [{n}, {len(LABELS)}] and study_probs [{len(LABELS)}], got "
                f"{self.slice_probs.shape} and {self.study_probs.shape}"
            )
        if self.saliency is not None and self.saliency.shape[0] != n:
            raise ValueError(f"saliency must have {n} maps, got shape {self.saliency.shape}")

    @property
    def any_probability(self) -> float:
        return float(self.study_probs[ANY_INDEX])

    def positive(self, threshold: float) -> bool:
        """Whether the study's "any hemorrhage" probability reaches ``threshold``."""
        return self.any_probability >= threshold

    def saliency_map(self, index: int, rows: int, cols: int) -> np.ndarray:
        """Saliency of slice ``index`` resampled (bilinear) to the source image's ``rows`` x ``cols``, zero
        outside the intracranial mask when the prediction carries one."""
        if self.saliency is None:
            raise ValueError("this prediction carries no saliency maps")
        out = resample_bilinear(self.saliency[index], rows, cols)
        if self.intracranial is not None:
            mask = torch.from_numpy(np.ascontiguousarray(self.intracranial[index], dtype=np.float32))[None, None]
            out = out * (F.interpolate(mask, size=(rows, cols), mode="nearest")[0, 0].numpy() > 0.5)
        return out

    def with_timings(self, **extra_ms: float) -> Prediction:
        """A copy with more stage timings (e.g. ``load``) merged in."""
        return Prediction(
            self.slice_probs, self.study_probs, self.saliency, self.sop_instance_uids,
            {**extra_ms, **self.timings_ms}, self.model_name, self.model_version, self.backend, self.intracranial,
        )

    def to_dict(self, threshold: float) -> dict[str, Any]:
        """The JSON shape of ``dicomnode model predict --format json``."""
        return {
            "study": {label: float(p) for label, p in zip(LABELS, self.study_probs)},
            "slices": [
                {"sop_instance_uid": uid, **{label: float(p) for label, p in zip(LABELS, row)}}
                for uid, row in zip(self.sop_instance_uids, self.slice_probs)
            ],
            "positive": self.positive(threshold),
            "threshold": threshold,
            "model": {"name": self.model_name, "version": self.model_version},
            "timings_ms": {key: round(value, 3) for key, value in self.timings_ms.items()},
        }
