"""The interface every engine implements, and the slice-batched pipeline they share.

An engine turns a :class:`~inference.volume.Volume` into a :class:`~inference.prediction.Prediction`:
preprocess and encode the slices batch by batch (so a long series never holds more than one batch of
activations), then run the sequence part once over all slice features, then restrict the result to the
intracranial space (:func:`inference.postprocess.restrict_to_brain`: slices with little or no brain carry
no finding, saliency only inside the skull), then apply the model's calibration (per-label temperatures,
:class:`inference.evaluation.calibration.Calibration`) to the slice and study probabilities when its sidecar
has one. The map is increasing and comes last, so a study probability stays at most its highest slice
probability and the sidecar's thresholds, moved to the calibrated scale by the same map, make the decisions
they made before.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from inference.checkpoint import ModelInfo
from inference.errors import EngineError, InferenceError
from inference.postprocess import restrict_to_brain, series_intracranial_mask
from inference.prediction import Prediction
from inference.preprocess import preprocess
from inference.volume import Volume

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 16
"""Slices per encoder batch: 16 x 3 x 256 x 256 float32 is 12 MiB of input."""


class Engine(ABC):
    """``predict(volume) -> Prediction`` over one backend.

    Parameters
    ----------
    info
        Identity of the model the engine runs.
    batch_size
        Slices per encoder batch.
    """

    #: Backend name as used by configuration (``torch``, ``onnxruntime``, ``tensorrt``).
    backend: str = ""

    def __init__(self, info: ModelInfo, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.info = info
        self.batch_size = batch_size

    @property
    def description(self) -> str:
        """Backend and device, e.g. ``torch:cpu``."""
        return self.backend

    @abstractmethod
    def _encode(self, slices: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Preprocessed slices [B, 3, S, S] -> (features [B, F], saliency [B, h, w]) float32."""

    @abstractmethod
    def _sequence(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Features [N, F] -> (slice probabilities [N, 6], study probabilities [6]) float32."""

    def _guarded(self, stage: Callable[[Any], tuple[np.ndarray, np.ndarray]], data: Any) -> tuple[np.ndarray, np.ndarray]:
        try:
            return stage(data)
        except InferenceError:
            raise
        except Exception as exc:  # backends raise their own runtime error types
            raise EngineError(f"{self.description} failed in {stage.__name__.strip('_')}: {exc}") from exc

    def predict(self, volume: Volume, intracranial: np.ndarray | None = None) -> Prediction:
        """Run the model on ``volume`` and return probabilities, saliency maps and stage timings.

        ``intracranial`` is the series' intracranial mask (bool, the shape of ``volume.hu``) when the caller
        already has it (e.g. from :func:`inference.domain.assess_domain`); otherwise it is computed here
        (:func:`inference.postprocess.series_intracranial_mask`, timed as ``intracranial``).
        """
        size = self.info.config.input_size
        timings = {"preprocess": 0.0, "encoder": 0.0}
        features: list[np.ndarray] = []
        saliency: list[np.ndarray] = []
        start = time.perf_counter()
        for first in range(0, volume.num_slices, self.batch_size):
            tick = time.perf_counter()
            batch = preprocess(volume.hu[first : first + self.batch_size], size)
            tock = time.perf_counter()
            batch_features, batch_saliency = self._guarded(self._encode, batch)
            timings["preprocess"] += tock - tick
            timings["encoder"] += time.perf_counter() - tock
            features.append(batch_features)
            saliency.append(batch_saliency)
        tick = time.perf_counter()
        slice_probs, study_probs = self._guarded(self._sequence, np.concatenate(features))
        timings["sequence"] = time.perf_counter() - tick
        if not (np.isfinite(slice_probs).all() and np.isfinite(study_probs).all()):
            raise EngineError(f"{self.description} produced non-finite probabilities for series {volume.series_instance_uid}")
        tick = time.perf_counter()
        if intracranial is None:
            intracranial = series_intracranial_mask(volume.hu, volume.spacing)
        elif intracranial.shape != volume.hu.shape:
            raise ValueError(f"intracranial mask {intracranial.shape} does not match the volume {volume.hu.shape}")
        slice_probs, study_probs, maps = restrict_to_brain(slice_probs, study_probs, np.concatenate(saliency),
                                                           intracranial, volume.spacing)
        if self.info.calibration is not None:
            slice_probs = self.info.calibration.apply(slice_probs)
            study_probs = self.info.calibration.apply(study_probs)
        end = time.perf_counter()
        timings["intracranial"] = end - tick
        timings["total"] = end - start
        logger.info(
            "%s: %d slices of series %s in %.0f ms (model %s %s)", self.description, volume.num_slices,
            volume.series_instance_uid, 1000 * timings["total"], self.info.name, self.info.version,
        )
        return Prediction(
            slice_probs=slice_probs.astype(np.float32, copy=False),
            study_probs=study_probs.astype(np.float32, copy=False),
            saliency=maps,
            sop_instance_uids=volume.sop_instance_uids,
            timings_ms={key: 1000 * value for key, value in timings.items()},
            model_name=self.info.name,
            model_version=self.info.version,
            backend=self.description,
            intracranial=intracranial,
        )
