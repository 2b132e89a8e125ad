"""``dicomnode model evaluate``: per-class ROC AUC with 95% bootstrap CI, sensitivity and specificity at
the operating point stored with the weights, weighted log loss, confusion counts and ROC curves (PNG).

Registered on the ``model`` group by :mod:`dicomnode.cli.model`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import click

from dicomnode.cli.options import config_option, load_or_exit, require_data, setup_logging
from inference.ich.training.factory import SOURCES

logger = logging.getLogger(__name__)


def _thresholds(weights_meta: dict[str, Any], choice: str, level: str, default: float) -> tuple[dict[str, float], float, str]:
    """(per-class thresholds, default, description) for ``--operating-point``."""
    if choice not in ("auto", "study", "extra_encoder"):
        value = float(choice)
        return {}, value, f"fixed {value}"
    points = weights_meta.get("operating_points", {})
    key = choice if choice != "auto" else ("extra_encoder" if level == "encoder" and "extra_encoder" in points else "study")
    chosen = points.get(key)
    if not chosen:
        return {}, default, "sidecar threshold"
    return dict(chosen.get("thresholds", {})), default, f"{key} operating point (validation: {chosen.get('source')}, {chosen.get('level')} level)"


@click.command("evaluate")
@click.option("--source", type=click.Choice(list(SOURCES)), default="phantoms", show_default=True)
@click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None)
@click.option("--seeds", default="20000-20199", show_default=True, help="Phantom seeds, or realct insertion seeds (keep them out of training).")
@click.option("--size", default=256, show_default=True, type=click.IntRange(32, 512), help="Phantom rows = columns.")
@click.option("--slices", default=None, type=click.IntRange(1, 400), help="Phantom slices (default: random 20-60).")
@click.option("--split", default="test", show_default=True, type=click.Choice(["all", "finetune", "validation", "test"]),
              help="PNG split; realct: finetune (training volumes), validation (ge-head-dcmqa), test (visible-human-female-head) or all (training + validation).")
@click.option("--level", type=click.Choice(["auto", "study", "slice", "encoder"]), default="auto", show_default=True,
              help="auto: study for series sources, encoder (per-slice classifier) for PNG slices.")
@click.option("--weights", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Weights (.pt with .json sidecar); default: inference.weights, else the shipped weights.")
@click.option("--operating-point", default="auto", show_default=True,
              help="auto, study, extra_encoder (from the sidecar) or a number.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for metrics.json, metrics.md, roc.png, predictions.csv.")
@click.option("--bootstrap", default=1000, show_default=True, type=click.IntRange(0, 100000))
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None, help="Phantom cache folder.")
@click.option("--threads", default=2, show_default=True, type=click.IntRange(1, 64))
@config_option
def evaluate(source: str, data: Path | None, seeds: str, size: int, slices: int | None, split: str, level: str, weights: Path | None,
             operating_point: str, out_dir: Path, bootstrap: int, cache: Path | None, threads: int,
             config_path: Path | None) -> None:
    """Evaluate the model on a labelled source and write a report."""
    setup_logging()
    import torch

    from inference.errors import InferenceError
    from inference.ich.checkpoint import load_model, sidecar_path
    from inference.ich.evaluation.predict import predict_source
    from inference.ich.evaluation.report import (
        evaluate_predictions,
        to_markdown,
        write_report,
    )
    from inference.ich.training.factory import build_source

    torch.set_num_threads(threads)
    section = load_or_exit(config_path).inference
    try:
        net, info = load_model(weights or section.weights)
    except InferenceError as exc:
        raise click.ClickException(str(exc)) from exc
    require_data(source, data)
    src = build_source(source, data, seeds=seeds, split=split, size=size, cache_dir=cache,
                       input_size=info.config.input_size, n_slices=slices)
    if level == "auto":
        level = "encoder" if source == "png" else "study"
    meta = {}
    if info.weights_path:
        meta = json.loads(sidecar_path(Path(info.weights_path)).read_text(encoding="utf-8"))
    thresholds, default, described = _thresholds(meta, operating_point, level, info.threshold)
    predictions = predict_source(net, src, progress=True, calibration=info.calibration)
    result = evaluate_predictions(predictions, level, thresholds, default, n_resamples=bootstrap)
    result.update({
        "source": source, "data": str(data) if data else None, "seeds": seeds if source in ("phantoms", "realct", "realct-heldout") else None,
        "phantom_size": size if source == "phantoms" else None, "split": split if source in ("png", "realct", "realct-heldout") else None,
        "operating_point": described, "model": {"name": info.name, "version": info.version, "hash": info.model_hash},
    })
    paths = write_report(predictions, result, out_dir)
    click.echo(to_markdown(result))
    click.echo("wrote " + ", ".join(str(p) for p in paths.values()))
    if not info.trained:
        click.echo("WARNING: untrained random weights; the numbers are meaningless.", err=True)
