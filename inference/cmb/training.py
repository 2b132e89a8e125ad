"""Training of the CMB patch classifier on phantom candidates, and the choice of its operating threshold.

Each step draws a balanced batch (one third true microbleeds) from the training candidates, augments it
with the symmetries of the physics (flips of every axis, in-plane quarter turns on the 1 x 1 mm grid, a
+-1 voxel jitter) and, with probability ``magnitude_only_rate``, replaces the SWI channel by the magnitude
and zeroes the phase, so the network also serves magnitude-only studies. Binary cross-entropy, AdamW,
cosine learning rate. The checkpoint with the lowest validation loss is kept. The threshold is then chosen
on the validation phantoms at the detection level (:func:`choose_threshold`).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from inference.cmb.dataset import STORED_PATCH
from inference.cmb.detector import MODEL_VERSION, NMS_MM, non_max_suppression
from inference.cmb.evaluation import match, summarise
from inference.cmb.network import PATCH, CmbResNet3d
from inference.cmb.tta import Scorer, augmented_probabilities

logger = logging.getLogger(__name__)
CROP = (STORED_PATCH - PATCH) // 2


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters."""

    width: int = 8
    steps: int = 450
    batch: int = 32
    lr: float = 2e-3
    magnitude_only_rate: float = 0.15
    time_budget_s: float = 1200.0
    seed: int = 0
    init: str = ""             # checkpoint to continue from (empty: random initialisation)


def load_split(path: Path) -> dict[str, np.ndarray]:
    """An ``.npz`` written by :func:`inference.cmb.dataset.save_split`, loaded into memory."""
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def centre_crop(patches: np.ndarray, magnitude_only: bool = False) -> np.ndarray:
    """The network input ``(n, 2, 21, 21, 21)`` from stored 3-channel 23^3 patches."""
    c = slice(CROP, CROP + PATCH)
    x = patches[:, :2, c, c, c].astype(np.float32)
    if magnitude_only:
        x[:, 0] = patches[:, 2, c, c, c]
        x[:, 1] = 0.0
    return x


def augment(patches: np.ndarray, rng: np.random.Generator, magnitude_only_rate: float) -> np.ndarray:
    """Random flips, in-plane quarter turns, +-1 voxel jitter and magnitude-only replacement."""
    out = np.empty((len(patches), 2, PATCH, PATCH, PATCH), dtype=np.float32)
    for n, patch in enumerate(patches):
        o = rng.integers(0, 2 * CROP + 1, size=3)
        p = patch[:, o[0]:o[0] + PATCH, o[1]:o[1] + PATCH, o[2]:o[2] + PATCH].astype(np.float32)
        if rng.random() < magnitude_only_rate:
            p = np.stack([p[2], np.zeros_like(p[2])])
        else:
            p = p[:2]
        for axis in (1, 2, 3):
            if rng.random() < 0.5:
                p = np.flip(p, axis)
        p = np.rot90(p, int(rng.integers(4)), axes=(2, 3))
        out[n] = p
    return out


def _probabilities(model: nn.Module) -> Scorer:
    """The sigmoid of ``model``'s logits as a scorer of numpy patches."""
    def run(patches: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return torch.sigmoid(model(torch.from_numpy(patches))).numpy()
    return run


def score(model: nn.Module, inputs: np.ndarray, batch: int = 128, symmetries: int = 1) -> np.ndarray:
    """Probabilities of "true microbleed" for network inputs ``(n, 2, 21, 21, 21)``, averaged over
    ``symmetries`` views (:mod:`inference.cmb.tta`)."""
    model.eval()
    out = []
    for start in range(0, len(inputs), batch):
        out.append(augmented_probabilities(_probabilities(model), inputs[start:start + batch], symmetries))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def detection_metrics(data: dict[str, np.ndarray], probabilities: np.ndarray, threshold: float,
                      nms_mm: float) -> dict[str, float]:
    """Subject-level sensitivity, precision and FPavg of candidates scored ``probabilities`` at ``threshold``."""
    truth = json.loads(str(data["truth"]))
    subjects = []
    for n in range(len(data["seeds"])):
        rows = np.nonzero((data["subject"] == n) & (probabilities >= threshold))[0]
        points = data["voxels"][rows] * data["spacing"][n]
        keep = non_max_suppression(points, probabilities[rows], nms_mm)
        subjects.append(match(points[keep], truth[n]))
    return summarise(subjects)


def choose_threshold(data: dict[str, np.ndarray], probabilities: np.ndarray, nms_mm: float,
                     max_fp_avg: float = 0.5) -> tuple[float, dict[str, float]]:
    """The threshold with the highest validation sensitivity among those with FPavg <= ``max_fp_avg``
    (ties: the higher threshold); falls back to the lowest FPavg when none qualifies."""
    best: tuple[float, dict[str, float]] | None = None
    for t in np.round(np.arange(0.05, 0.99, 0.01), 2):
        m = detection_metrics(data, probabilities, float(t), nms_mm)
        if m["fp_avg"] <= max_fp_avg and (best is None or m["sensitivity"] >= best[1]["sensitivity"]):
            best = (float(t), m)
    if best is None:
        t = 0.98
        best = (t, detection_metrics(data, probabilities, t, nms_mm))
    return best


def train(train_path: Path, validation_path: Path, out_path: Path, config: TrainConfig) -> dict[str, object]:
    """Train, keep the best checkpoint by validation loss, save it with threshold and metrics."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    train_data, val = load_split(train_path), load_split(validation_path)
    positives = np.nonzero(train_data["kinds"] == 1)[0]
    negatives = np.nonzero(train_data["kinds"] != 1)[0]
    val_x = centre_crop(val["patches"])
    val_y = (val["kinds"] == 1).astype(np.float32)
    model = CmbResNet3d(config.width)
    if config.init:
        model.load_state_dict(torch.load(config.init, map_location="cpu", weights_only=True)["state_dict"])
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, config.steps)
    loss_fn = nn.BCEWithLogitsLoss()
    best_loss, best_state, started = np.inf, None, time.monotonic()
    for step in range(1, config.steps + 1):
        n_pos = config.batch // 3
        rows = np.concatenate([rng.choice(positives, n_pos), rng.choice(negatives, config.batch - n_pos)])
        x = torch.from_numpy(augment(train_data["patches"][rows], rng, config.magnitude_only_rate))
        y = torch.from_numpy((train_data["kinds"][rows] == 1).astype(np.float32))
        model.train()
        optimiser.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimiser.step()
        schedule.step()
        out_of_time = time.monotonic() - started > config.time_budget_s
        if step % 150 == 0 or step == config.steps or out_of_time:
            p = np.clip(score(model, val_x), 1e-6, 1 - 1e-6)
            val_loss = float(-np.mean(val_y * np.log(p) + (1 - val_y) * np.log(1 - p)))
            logger.info("step %d train loss %.4f val loss %.4f (%.0f s)", step, loss.item(), val_loss,
                        time.monotonic() - started)
            if val_loss < best_loss:
                best_loss, best_state = val_loss, {k: v.clone() for k, v in model.state_dict().items()}
        if out_of_time:
            logger.info("time budget reached at step %d", step)
            break
    assert best_state is not None
    model.load_state_dict(best_state)
    threshold, metrics = choose_threshold(val, score(model, val_x), NMS_MM)
    record = {"width": config.width, "threshold": threshold, "validation": metrics, "validation_loss": best_loss,
              "train_candidates": int(len(train_data["kinds"])), "train_positives": int(len(positives)),
              "train_seeds": [int(s) for s in train_data["seeds"]], "version": MODEL_VERSION,
              "validation_seeds": [int(s) for s in val["seeds"]], "steps": step, "config": config.__dict__}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": model.state_dict(), "width": config.width, "threshold": threshold}, out_path)
    out_path.with_suffix(".json").write_text(json.dumps(record, indent=2))
    return record
