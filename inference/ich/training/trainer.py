"""Staged training of :class:`~inference.ich.network.HemorrhageNet`, after Patel et al. 2019.

1. ``encoder``: the slice encoder with its auxiliary per-slice classifier (the CAM head, so the saliency
   maps localise), on batches of slices drawn from several series (positive slices over-sampled).
2. ``sequence``: encoder frozen; slice features are computed once, the two BiLSTM layers and both heads
   are trained on whole series.
3. ``end_to_end``: everything, on windows of consecutive slices (batch-norm statistics frozen), with
   the slice, study and auxiliary losses.

Each stage keeps the weights of its best validation loss, counting the weights it started from (a stage
that never improves on them is discarded), and stops early after ``patience`` epochs without improvement. Losses are the RSNA weighted log loss (:mod:`inference.ich.training.losses`). Random
draws come from generators seeded by ``seed``; runs on the same machine and thread count repeat.
Convolutions run in the channels-last memory layout, which oneDNN executes about three times faster on
the CPU than the default layout; the returned network is back in the default layout, on the training device.
With ``device="cuda"`` the batches, augmentation and all three stages run on the GPU (cuDNN's deterministic
algorithms are requested, but bit-for-bit repeats are only checked on the CPU).
A slice-level ``extra`` source (e.g. real PNG slices, "any" label only) can be mixed into stages 1 and 3
through the auxiliary loss.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from inference.ich.evaluation.metrics import MIN_SENSITIVITY, roc_auc
from inference.ich.labels import ANY_INDEX
from inference.ich.network import HemorrhageNet, ModelConfig
from inference.ich.preprocess import apply_windows
from inference.ich.training.augment import AugmentConfig, augment_series
from inference.ich.training.losses import weighted_log_loss
from inference.ich.training.sources import DataSource, Sample

logger = logging.getLogger(__name__)

STAGES = ("encoder", "sequence", "end_to_end")


@dataclass(frozen=True)
class StageConfig:
    """Epochs, learning rate and steps per epoch (None: one pass over the training series)."""

    epochs: int
    lr: float
    steps_per_epoch: int | None = None


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on; written to ``train_config.json`` in the output folder."""

    model: ModelConfig = field(default_factory=ModelConfig)
    encoder: StageConfig = StageConfig(4, 1e-3)
    sequence: StageConfig = StageConfig(20, 1e-3)
    end_to_end: StageConfig = StageConfig(2, 2e-4)
    seed: int = 0
    series_per_step: int = 4
    slices_per_series: int = 8
    extra_per_step: int = 8
    max_window: int = 24
    aux_weight: float = 0.5
    min_sensitivity: float = MIN_SENSITIVITY
    """Validation sensitivity the operating points must reach (:mod:`inference.ich.training.run`)."""
    patience: int = 2
    weight_decay: float = 1e-4
    threads: int = 2
    device: str = "cpu"
    """``cpu`` or ``cuda`` (or ``cuda:N``): where the network trains."""
    val_slices_per_series: int = 6
    sequence_series: int | None = None
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    progress: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def seed_everything(seed: int, threads: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA); fix the torch thread count; ask for deterministic cuDNN."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def training_device(name: str) -> torch.device:
    """The torch device called ``name``; a clear error when CUDA is asked for but not available."""
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"training device {name!r} asked for, but torch {torch.__version__} sees no CUDA GPU")
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"training device must be cpu or cuda[:N], got {name!r}")
    return device


def _bar(total: int, desc: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="step", disable=not enabled, dynamic_ncols=True)


def _pick_slices(sample: Sample, count: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``count`` slices, half of them positive for "any" when the series has positives."""
    n = sample.n_slices
    if sample.slice_labels is None or n <= count:
        return np.sort(rng.choice(n, size=min(n, count), replace=False))
    positive = np.flatnonzero(sample.slice_labels[:, ANY_INDEX] > 0)
    weights = np.ones(n)
    if 0 < len(positive) < n:
        weights[positive] = (n - len(positive)) / len(positive)
    return np.sort(rng.choice(n, size=count, replace=False, p=weights / weights.sum()))


def _slice_rows(sample: Sample, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = sample.slice_labels if sample.slice_labels is not None else np.broadcast_to(sample.study_labels, (sample.n_slices, 6))
    known = np.broadcast_to(sample.known, (len(index), 6)) if sample.slice_labels is not None else np.zeros((len(index), 6), bool)
    return np.array(labels[index], dtype=np.float32), np.array(known, dtype=bool)


class _Indexed:
    def __init__(self, source: DataSource, indices: list[int]) -> None:
        self.source, self.indices, self.name = source, indices, source.name

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Sample:
        return self.source[self.indices[index]]


class Trainer:
    """Runs the three stages on ``train`` with early stopping on ``val``.

    Parameters
    ----------
    config
        The run's settings.
    train, val
        Series sources (training and validation must not share cases).
    out_dir
        Folder for the per-stage checkpoints, ``history.json`` and ``train_config.json``.
    extra
        Optional slice-level source mixed into stages 1 and 3 via the auxiliary loss.
    init
        Optional state dict (``.pt``) to start from, e.g. a stage checkpoint of an earlier run.
    """

    def __init__(self, config: TrainConfig, train: DataSource, val: DataSource, out_dir: Path,
                 extra: DataSource | None = None, init: Path | None = None) -> None:
        self.config = config
        self.train, self.val, self.extra = train, val, extra
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        seed_everything(config.seed, config.threads)
        self.rng = np.random.default_rng(config.seed)
        self.device = training_device(config.device)
        self.net = HemorrhageNet(config.model)
        if init is not None:
            state = torch.load(init, map_location="cpu", weights_only=True)
            self.net.load_state_dict(state.get("state_dict", state))
            logger.info("initialised from %s", init)
        # torch's stub of Module.to omits the memory_format keyword that Module.to accepts
        self.net.to(self.device, memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.history: list[dict[str, Any]] = []
        (self.out_dir / "train_config.json").write_text(json.dumps(config.to_dict(), indent=2, default=str) + "\n")

    # ------------------------------------------------------------------ helpers
    def _inputs(self, sample: Sample, index: np.ndarray | None = None, augment: bool = True) -> torch.Tensor:
        hu = torch.from_numpy(sample.hu if index is None else sample.hu[index]).to(self.device)
        if augment:
            hu = augment_series(hu, self.rng, self.config.augment)
        return apply_windows(hu).contiguous(memory_format=torch.channels_last)

    def _order(self, n: int) -> Iterator[int]:
        while True:
            yield from self.rng.permutation(n).tolist()

    def _extra_batch(self, order: Iterator[int] | None) -> tuple[list[torch.Tensor], list[np.ndarray], list[np.ndarray]]:
        if self.extra is None or order is None or not self.config.extra_per_step:
            return [], [], []
        inputs, labels, known = [], [], []
        for _ in range(self.config.extra_per_step):
            sample = self.extra[next(order)]
            index = self.rng.choice(sample.n_slices, size=1)
            inputs.append(self._inputs(sample, index))
            rows, mask = _slice_rows(sample, index)
            labels.append(rows)
            known.append(np.broadcast_to(sample.known, mask.shape))
        return inputs, labels, known

    def _run_stage(self, name: str, stage: StageConfig, params: list[nn.Parameter],
                   step: Callable[[], float], validate: Callable[[], dict[str, float]], default_steps: int) -> None:
        if stage.epochs <= 0:
            logger.info("stage %s skipped (0 epochs)", name)
            return
        optimiser = torch.optim.AdamW(params, lr=stage.lr, weight_decay=self.config.weight_decay)
        steps = stage.steps_per_epoch or max(1, default_steps)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=stage.lr, total_steps=stage.epochs * steps,
                                                       pct_start=0.15)
        start_state = {k: v.detach().clone() for k, v in self.net.state_dict().items()}
        baseline = validate()
        logger.info("stage %s: validation before training %s", name, json.dumps(baseline))
        best, best_state, stale = baseline["val_loss"], None, 0
        for epoch in range(1, stage.epochs + 1):
            start, losses = time.perf_counter(), []
            with _bar(steps, f"{name} {epoch}/{stage.epochs}", self.config.progress) as bar:
                for _ in range(steps):
                    optimiser.zero_grad(set_to_none=True)
                    losses.append(step())
                    torch.nn.utils.clip_grad_norm_(params, 5.0)
                    optimiser.step()
                    schedule.step()
                    bar.update(1)
                    bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
                metrics = validate()
                bar.set_postfix(loss=f"{np.mean(losses):.4f}", **{k: f"{v:.4f}" for k, v in metrics.items()})
            record = {"stage": name, "epoch": epoch, "train_loss": float(np.mean(losses)), **metrics,
                      "seconds": round(time.perf_counter() - start, 1)}
            self.history.append(record)
            logger.info("%s", json.dumps(record))
            (self.out_dir / "history.json").write_text(json.dumps(self.history, indent=2) + "\n")
            if metrics["val_loss"] < best - 1e-5:
                best, stale = metrics["val_loss"], 0
                best_state = {k: v.detach().clone() for k, v in self.net.state_dict().items()}
                torch.save(best_state, self.out_dir / f"stage-{name}.pt")
            else:
                stale += 1
                if stale >= self.config.patience:
                    logger.info("stage %s: early stop after epoch %d (best val_loss %.4f)", name, epoch, best)
                    break
        if best_state is not None:
            self.net.load_state_dict(best_state)
        else:
            logger.warning("stage %s never beat its starting validation loss %.4f; its weights are discarded", name, best)
            self.net.load_state_dict(start_state)

    # ------------------------------------------------------------------ stage 1
    def _encoder_val_set(self) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
        rng, inputs, labels, known = np.random.default_rng(self.config.seed + 1), [], [], []
        for i in range(len(self.val)):
            sample = self.val[i]
            if sample.slice_labels is None:
                continue
            index = _pick_slices(sample, self.config.val_slices_per_series, rng)
            inputs.append(self._inputs(sample, index, augment=False))
            rows, mask = _slice_rows(sample, index)
            labels.append(rows)
            known.append(mask)
        return torch.cat(inputs), np.concatenate(labels), np.concatenate(known)

    @torch.no_grad()
    def _validate_encoder(self, val: tuple[torch.Tensor, np.ndarray, np.ndarray]) -> dict[str, float]:
        self.net.eval()
        inputs, labels, known = val
        logits = torch.cat([self.net.aux_logits(self.net.encode(inputs[i : i + 32])[0]) for i in range(0, len(inputs), 32)])
        self.net.train()
        loss = weighted_log_loss(logits, torch.from_numpy(labels), torch.from_numpy(known))
        return {"val_loss": float(loss), "val_auc_any": roc_auc(labels[:, ANY_INDEX], logits[:, ANY_INDEX].cpu().numpy())}

    def stage_encoder(self) -> None:
        cfg = self.config
        order = self._order(len(self.train))
        extra_order = self._order(len(self.extra)) if self.extra is not None else None
        val = self._encoder_val_set()

        def step() -> float:
            inputs, labels, known = self._extra_batch(extra_order)
            for _ in range(cfg.series_per_step):
                sample = self.train[next(order)]
                index = _pick_slices(sample, cfg.slices_per_series, self.rng)
                inputs.append(self._inputs(sample, index))
                rows, mask = _slice_rows(sample, index)
                labels.append(rows)
                known.append(mask)
            features, _ = self.net.encode(torch.cat(inputs))
            loss = weighted_log_loss(self.net.aux_logits(features), torch.from_numpy(np.concatenate(labels)),
                                     torch.from_numpy(np.concatenate(known)))
            torch.autograd.backward(loss)
            return float(loss.detach())

        self.net.train()
        params = list(self.net.encoder.parameters()) + list(self.net.cam_head.parameters())
        self._run_stage("encoder", cfg.encoder, params, step, lambda: self._validate_encoder(val),
                        len(self.train) // cfg.series_per_step)

    # ------------------------------------------------------------------ stages 2 and 3
    def _series_loss(self, slice_logits: torch.Tensor, study_logits: torch.Tensor, sample: Sample,
                     index: np.ndarray | None = None) -> torch.Tensor:
        known = torch.from_numpy(np.asarray(sample.known))
        if sample.slice_labels is None:
            return weighted_log_loss(study_logits, torch.from_numpy(sample.study_labels), known)
        rows = sample.slice_labels if index is None else sample.slice_labels[index]
        study = torch.from_numpy(rows.max(axis=0))
        return 0.5 * weighted_log_loss(slice_logits, torch.from_numpy(rows), known) + weighted_log_loss(study_logits, study, known)

    @torch.no_grad()
    def _features(self, source: DataSource, desc: str) -> list[torch.Tensor]:
        self.net.eval()
        out = []
        from tqdm import tqdm

        for i in tqdm(range(len(source)), desc=desc, unit="series", disable=not self.config.progress):
            x = self._inputs(source[i], augment=False)
            out.append(torch.cat([self.net.encode(x[j : j + 32])[0] for j in range(0, len(x), 32)]))
        return out

    @torch.no_grad()
    def _validate_sequence(self, features: list[torch.Tensor]) -> dict[str, float]:
        self.net.eval()
        losses, labels, scores = [], [], []
        for i, feats in enumerate(features):
            sample = self.val[i]
            slice_logits, study_logits = self.net.sequence(feats)
            losses.append(float(self._series_loss(slice_logits, study_logits, sample)))
            labels.append(sample.study_labels[ANY_INDEX])
            scores.append(float(study_logits[ANY_INDEX]))
        self.net.train()
        return {"val_loss": float(np.mean(losses)), "val_auc_any": roc_auc(np.array(labels), np.array(scores))}

    def stage_sequence(self) -> None:
        cfg = self.config
        if cfg.sequence.epochs <= 0:
            return
        count = min(len(self.train), cfg.sequence_series or len(self.train))
        subset = np.sort(self.rng.choice(len(self.train), size=count, replace=False)).tolist()
        train_features = self._features(_Indexed(self.train, subset), "features train")
        val_features = self._features(self.val, "features val")
        order = self._order(count)
        dropout = nn.Dropout(0.2)

        def step() -> float:
            total = 0.0
            for _ in range(cfg.series_per_step):
                i = next(order)
                slice_logits, study_logits = self.net.sequence(dropout(train_features[i]))
                loss = self._series_loss(slice_logits, study_logits, self.train[subset[i]]) / cfg.series_per_step
                torch.autograd.backward(loss)
                total += float(loss.detach())
            return total

        self.net.train()
        params = [p for n, p in self.net.named_parameters() if not n.startswith(("encoder.", "cam_head."))]
        self._run_stage("sequence", cfg.sequence, params, step, lambda: self._validate_sequence(val_features),
                        count // cfg.series_per_step)

    def _freeze_batchnorm(self) -> None:
        for module in self.net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.eval()

    def stage_end_to_end(self) -> None:
        cfg = self.config
        if cfg.end_to_end.epochs <= 0:
            return
        extra_order = self._order(len(self.extra)) if self.extra is not None else None
        order = self._order(len(self.train))

        def step() -> float:
            self.net.train()
            self._freeze_batchnorm()
            sample = self.train[next(order)]
            n = sample.n_slices
            if sample.slice_labels is not None and n > cfg.max_window:
                first = int(self.rng.integers(0, n - cfg.max_window + 1))
                index = np.arange(first, first + cfg.max_window)
            else:
                index = np.linspace(0, n - 1, min(n, 2 * cfg.max_window)).round().astype(int)
            features, _ = self.net.encode(self._inputs(sample, index))
            slice_logits, study_logits = self.net.sequence(features)
            loss = self._series_loss(slice_logits, study_logits, sample, index if sample.slice_labels is not None else None)
            if sample.slice_labels is not None:
                rows, known = _slice_rows(sample, index)
                loss = loss + cfg.aux_weight * weighted_log_loss(self.net.aux_logits(features), torch.from_numpy(rows), torch.from_numpy(known))
            inputs, labels, known_rows = self._extra_batch(extra_order)
            if inputs:
                aux = self.net.aux_logits(self.net.encode(torch.cat(inputs))[0])
                loss = loss + cfg.aux_weight * weighted_log_loss(aux, torch.from_numpy(np.concatenate(labels)),
                                                                 torch.from_numpy(np.concatenate(known_rows)))
            torch.autograd.backward(loss)
            return float(loss.detach())

        val_cache: dict[str, list[torch.Tensor]] = {}

        def validate() -> dict[str, float]:
            val_cache["features"] = self._features(self.val, "features val")
            return self._validate_sequence(val_cache["features"])

        self._run_stage("end_to_end", cfg.end_to_end, list(self.net.parameters()), step, validate, len(self.train))

    def fit(self) -> HemorrhageNet:
        """Run the three stages; return the trained network (eval mode)."""
        start = time.perf_counter()
        self.stage_encoder()
        self.stage_sequence()
        self.stage_end_to_end()
        logger.info("training finished in %.1f min", (time.perf_counter() - start) / 60)
        self.net.to(memory_format=torch.contiguous_format)  # type: ignore[call-overload]  # stub omits memory_format
        return self.net.eval()
