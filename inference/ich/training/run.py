"""A whole training run: stages, operating point on validation data, weights + sidecar.

The operating point is the threshold on the study-level "any" probability whose sensitivity on the
validation series is at least ``min_sensitivity`` (a missed bleed costs more than a false alarm), with the
best specificity that allows, midway between the validation scores that bound it
(:func:`inference.ich.evaluation.operating_point.operating_points`). It becomes the sidecar's ``threshold``; per-class
thresholds chosen the same way, and the threshold for a slice-level validation set (e.g. real PNG slices, on
the encoder's per-slice output), are stored under ``operating_points``.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import torch

from inference.ich.checkpoint import save_checkpoint, sidecar_path
from inference.ich.evaluation.operating_point import operating_points
from inference.ich.training.sources import DataSource
from inference.ich.training.trainer import Trainer, TrainConfig

logger = logging.getLogger(__name__)


def _device_name(device: str) -> str:
    """``cpu``, or the GPU's name (e.g. ``cuda: NVIDIA H200``) for the sidecar."""
    if device.startswith("cuda"):
        return f"{device}: {torch.cuda.get_device_name(torch.device(device))}"
    return device


def train_and_save(config: TrainConfig, train: DataSource, val: DataSource, out_dir: Path, version: str,
                   extra: DataSource | None = None, extra_val: DataSource | None = None,
                   command: str = "", data: dict[str, Any] | None = None, init: Path | None = None) -> Path:
    """Train, choose the operating point(s) on validation data, write ``hemorrhage.pt`` + ``.json``.

    Returns
    -------
    Path
        The weights file; its sidecar records the architecture, threshold, operating points, the
        training command, the data and the wall time.
    """
    start = time.perf_counter()
    trainer = Trainer(config, train, val, out_dir, extra=extra, init=init)
    net = trainer.fit()
    trained_s = time.perf_counter() - start
    study_points = operating_points(net, val, "study", config.min_sensitivity)
    threshold = study_points["thresholds"].get("any", 0.5)
    points = {"study": study_points}
    if extra_val is not None:
        points["extra_encoder"] = operating_points(net, extra_val, "encoder", config.min_sensitivity)
    weights = save_checkpoint(net.cpu(), Path(out_dir) / "hemorrhage.pt", version=version, threshold=threshold)
    sidecar = sidecar_path(weights)
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    meta.update({
        "operating_points": points,
        "training": {"command": command, "data": data or {}, "seed": config.seed,
                     "init": str(init) if init else None, "device": _device_name(config.device),
                     "wall_time_minutes": round((time.perf_counter() - start) / 60, 1),
                     "training_minutes": round(trained_s / 60, 1), "history": trainer.history},
    })
    sidecar.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    logger.info("wrote %s (threshold %.4f)", weights, threshold)
    return weights
