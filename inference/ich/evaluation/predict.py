"""Run a :class:`~inference.ich.network.HemorrhageNet` over a data source and collect probabilities and labels.

The computation is the predictor's on torch (:class:`inference.ich.predictor.Predictor`), on the device the network's
weights are on (the CPU, or the GPU during a CUDA training run): the slices are preprocessed (three windows)
and encoded in batches, then the sequence part reads all slice features.
The encoder's auxiliary per-slice classifier (the CAM head) is collected too, for slice-level sets.
When a sample's spacing is known, the slice and study probabilities are restricted to the intracranial
space as the predictor does (:func:`inference.ich.postprocess.restrict_to_brain`), and with a ``calibration``
(the sidecar's, :attr:`inference.ich.checkpoint.ModelInfo.calibration`) they are then calibrated as the engines
calibrate them; the encoder's probabilities are never calibrated.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from inference.ich.evaluation.calibration import Calibration
from inference.ich.network import HemorrhageNet
from inference.ich.postprocess import restrict_to_brain, series_intracranial_mask
from inference.ich.preprocess import apply_windows
from inference.ich.training.sources import DataSource, resize_hu

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class SourcePredictions:
    """Per-sample study rows and per-slice rows of one source.

    Attributes
    ----------
    keys : list of str
        Sample keys, one per study row.
    study_probs, study_labels : numpy.ndarray
        [studies, 6]; ``study_known`` [studies, 6] bool marks labelled classes.
    slice_probs, encoder_probs, slice_labels : numpy.ndarray
        [slices, 6] over all samples with slice labels: the slice head's and the encoder's auxiliary
        classifier's probabilities; ``slice_known`` [slices, 6].
    """

    keys: list[str]
    study_probs: np.ndarray
    study_labels: np.ndarray
    study_known: np.ndarray
    slice_probs: np.ndarray
    encoder_probs: np.ndarray
    slice_labels: np.ndarray
    slice_known: np.ndarray

    def level(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(probabilities, labels, known) of ``study``, ``slice`` or ``encoder`` level."""
        if name == "study":
            return self.study_probs, self.study_labels, self.study_known
        if name == "slice":
            return self.slice_probs, self.slice_labels, self.slice_known
        if name == "encoder":
            return self.encoder_probs, self.slice_labels, self.slice_known
        raise ValueError(f"level must be study, slice or encoder, got {name!r}")


@torch.no_grad()
def run_series(net: HemorrhageNet, hu: np.ndarray, batch_size: int = 32,
               spacing: tuple[float, float, float] | None = None,
               calibration: Calibration | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HU series -> (slice probabilities [N, 6], study probabilities [6], encoder probabilities [N, 6]).

    With ``spacing`` (mm, of ``hu``) the slice and study probabilities are restricted to the intracranial space;
    with ``calibration`` they are then calibrated.
    """
    size = net.config.input_size
    device = next(net.parameters()).device
    features, aux = [], []
    for first in range(0, hu.shape[0], batch_size):
        batch = apply_windows(torch.from_numpy(resize_hu(hu[first : first + batch_size], size)).to(device))
        pooled, _ = net.encode(batch)
        features.append(pooled)
        aux.append(torch.sigmoid(net.aux_logits(pooled)))
    slice_logits, study_logits = net.sequence(torch.cat(features))
    slice_probs, study_probs = (torch.sigmoid(t).cpu().numpy() for t in (slice_logits, study_logits))
    if spacing is not None:
        mask = series_intracranial_mask(hu, spacing)
        slice_probs, study_probs, _ = restrict_to_brain(slice_probs, study_probs, None, mask, spacing)
    if calibration is not None:
        slice_probs, study_probs = calibration.apply(slice_probs), calibration.apply(study_probs)
    return slice_probs, study_probs, torch.cat(aux).cpu().numpy()


def predict_source(net: HemorrhageNet, source: DataSource, progress: bool = False,
                   calibration: Calibration | None = None) -> SourcePredictions:
    """Run ``net`` (put in eval mode) over every sample of ``source``, calibrating with ``calibration``."""
    net.eval()
    keys: list[str] = []
    study: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    slices: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    indices: Iterable[int] = range(len(source))
    if progress:
        from tqdm import tqdm

        indices = tqdm(indices, desc=f"predict {source.name}", unit="series")
    for index in indices:
        sample = source[index]
        slice_probs, study_probs, encoder_probs = run_series(net, sample.hu, spacing=sample.spacing, calibration=calibration)
        keys.append(sample.key)
        study.append((study_probs, sample.study_labels, sample.known))
        if sample.slice_labels is not None:
            known = np.broadcast_to(sample.known, sample.slice_labels.shape)
            slices.append((slice_probs, encoder_probs, sample.slice_labels, known))
    width = 6

    def stack(rows: Sequence[tuple[np.ndarray, ...]], i: int) -> np.ndarray:
        return np.concatenate([r[i] for r in rows]) if rows else np.zeros((0, width))

    return SourcePredictions(
        keys=keys,
        study_probs=np.stack([r[0] for r in study]), study_labels=np.stack([r[1] for r in study]),
        study_known=np.stack([r[2] for r in study]).astype(bool),
        slice_probs=stack(slices, 0), encoder_probs=stack(slices, 1), slice_labels=stack(slices, 2),
        slice_known=stack(slices, 3).astype(bool),
    )
