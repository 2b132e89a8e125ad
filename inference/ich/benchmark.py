"""Timing engines on one volume: a synthetic head-like volume, repeat-and-take-best timing, a text table.

Used by ``dicomnode model benchmark`` and ``benchmarks/inference.py``. Results are compared as ratios
against a baseline measured in the same run, never against fixed times.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from inference.ich.predictor import Predictor
from inference.ich.volume import Volume


def synthetic_volume(slices: int = 40, size: int = 512, seed: int = 0, spacing: float = 5.0) -> Volume:
    """An axial volume shaped like a head (air, 7 mm bone ring, brain with noise) for timing only.

    It is not a phantom with ground truth (see ``inference.ich.phantoms`` for those).
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[-1.0 : 1.0 : size * 1j, -1.0 : 1.0 : size * 1j]
    radius = np.hypot(xx / 0.8, yy / 0.9)
    head = np.where(radius < 1.0, np.where(radius > 0.93, 1000.0, 35.0), -1000.0).astype(np.float32)
    hu = head[None] + rng.normal(0.0, 8.0, size=(slices, size, size)).astype(np.float32)
    positions = np.zeros((slices, 3))
    positions[:, 2] = spacing * np.arange(slices)
    return Volume(
        hu=hu, spacing=(spacing, 0.45, 0.45), orientation=np.array([[1.0, 0, 0], [0, 1.0, 0]]),
        positions=positions, tilt_degrees=0.0,
        sop_instance_uids=tuple(f"2.25.{seed}{index:04d}" for index in range(slices)),
    )


@dataclass(frozen=True)
class Timing:
    """Best-of-``repeats`` stage times of one engine on one volume, in ms."""

    backend: str
    slices: int
    preprocess_ms: float
    model_ms: float
    total_ms: float

    @property
    def slices_per_second(self) -> float:
        return 1000.0 * self.slices / self.model_ms if self.model_ms else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "slices_per_second": self.slices_per_second}


def time_engine(engine: Predictor, volume: Volume, repeats: int = 3, warmup: int = 1) -> Timing:
    """Run ``warmup`` untimed then ``repeats`` timed predictions; keep the fastest of each stage.

    Model time is encoder + sequence (the network alone), total adds preprocessing.
    """
    for _ in range(warmup):
        engine.predict(volume)
    runs = [engine.predict(volume).timings_ms for _ in range(max(1, repeats))]
    return Timing(
        backend=engine.description,
        slices=volume.num_slices,
        preprocess_ms=min(r["preprocess"] for r in runs),
        model_ms=min(r["encoder"] + r["sequence"] for r in runs),
        total_ms=min(r["total"] for r in runs),
    )


def format_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A left-aligned text table; floats with one decimal."""

    def cell(value: Any) -> str:
        return f"{value:.1f}" if isinstance(value, float) else str(value)

    cells = [[cell(row.get(column, "")) for column in columns] for row in rows]
    widths = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip() for line in cells]
    return "\n".join(lines)
