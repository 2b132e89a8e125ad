"""The hemorrhage model's prediction over two runtime sessions: ``predict(volume) -> Prediction``.

Preprocess the slices and run them through the encoder session batch by batch (so a long series never holds
more than one batch of activations), then run the sequence session once over all slice features, then
restrict the result to the intracranial space (:func:`inference.ich.postprocess.restrict_to_brain`: slices with
little or no brain carry no finding, saliency only inside the skull), then apply the model's calibration
(per-label temperatures, :class:`inference.ich.evaluation.calibration.Calibration`) to the slice and study
probabilities when its sidecar has one. The map is increasing and comes last, so a study probability stays
at most its highest slice probability and the sidecar's thresholds, moved to the calibrated scale by the
same map, make the decisions they made before.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import torch

from inference.errors import EngineError, InferenceError
from inference.ich.checkpoint import ModelInfo
from inference.ich.export import FEATURES_NAME, INPUT_NAME
from inference.ich.postprocess import restrict_to_brain, series_intracranial_mask
from inference.ich.prediction import Prediction
from inference.ich.preprocess import preprocess
from inference.ich.volume import Volume
from inference.runtime.session import Session

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 16
"""Slices per encoder batch: 16 x 3 x 256 x 256 float32 is 12 MiB of input."""
ENCODER_OUTPUTS = (FEATURES_NAME, "saliency")
SEQUENCE_OUTPUTS = ("slice_probs", "study_probs")


class Predictor:
    """``predict(volume) -> Prediction`` over an encoder and a sequence session.

    Parameters
    ----------
    info
        Identity of the model the sessions run.
    encoder
        ``slices`` [B, 3, S, S] -> ``features`` [B, F], ``saliency`` [B, h, w].
    sequence
        ``features`` [N, F] -> ``slice_probs`` [N, 6], ``study_probs`` [6].
    batch_size
        Slices per encoder batch.
    description
        Backend and device as reports name them (default: the encoder session's).
    single_thread_torch
        Run torch (used here only to preprocess) on one thread while predicting: torch's idle OpenMP workers
        spin between batches and take the cores ONNX Runtime needs; on two cores this alone costs ONNX
        Runtime a third of its speed. The setting is process-wide and is restored on return.
    """

    def __init__(self, info: ModelInfo, encoder: Session, sequence: Session, batch_size: int = DEFAULT_BATCH_SIZE,
                 description: str | None = None, single_thread_torch: bool = False) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.info = info
        self.encoder, self.sequence = encoder, sequence
        self.batch_size = batch_size
        self.description = description or encoder.description
        self.single_thread_torch = single_thread_torch

    def _run(self, stage: str, session: Session, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        try:
            return session.run(feeds)
        except InferenceError:
            raise
        except Exception as exc:  # backends raise their own runtime error types
            raise EngineError(f"{self.description} failed in {stage}: {exc}") from exc

    def encode(self, slices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Preprocessed slices [B, 3, S, S] -> (features [B, F], saliency [B, h, w]) float32."""
        out = self._run("encode", self.encoder, {INPUT_NAME: slices})
        return out[FEATURES_NAME], out["saliency"]

    def run_sequence(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Features [N, F] -> (slice probabilities [N, 6], study probabilities [6]) float32."""
        out = self._run("sequence", self.sequence, {FEATURES_NAME: features})
        return out["slice_probs"], out["study_probs"]

    def predict(self, volume: Volume, intracranial: np.ndarray | None = None) -> Prediction:
        """Run the model on ``volume`` and return probabilities, saliency maps and stage timings.

        ``intracranial`` is the series' intracranial mask (bool, the shape of ``volume.hu``) when the caller
        already has it (e.g. from :func:`inference.ich.domain.assess_domain`); otherwise it is computed here
        (:func:`inference.ich.postprocess.series_intracranial_mask`, timed as ``intracranial``).
        """
        if not self.single_thread_torch:
            return self._predict(volume, intracranial)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._predict(volume, intracranial)
        finally:
            torch.set_num_threads(threads)

    def _predict(self, volume: Volume, intracranial: np.ndarray | None) -> Prediction:
        size = self.info.config.input_size
        timings = {"preprocess": 0.0, "encoder": 0.0}
        features: list[np.ndarray] = []
        saliency: list[np.ndarray] = []
        start = time.perf_counter()
        for first in range(0, volume.num_slices, self.batch_size):
            tick = time.perf_counter()
            batch = preprocess(volume.hu[first : first + self.batch_size], size).numpy()
            tock = time.perf_counter()
            batch_features, batch_saliency = self.encode(batch)
            timings["preprocess"] += tock - tick
            timings["encoder"] += time.perf_counter() - tock
            features.append(batch_features)
            saliency.append(batch_saliency)
        tick = time.perf_counter()
        slice_probs, study_probs = self.run_sequence(np.concatenate(features))
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
