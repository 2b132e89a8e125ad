"""``dicomnode cmb ...``: the cerebral-microbleed model's tools (data, training, evaluation, prediction)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click
import numpy as np

from dicomnode.cli.options import config_option, load_or_exit
from dicomnode.logs import configure_logging

SPLIT_CHOICES = click.Choice(["train", "validation", "test"])


@click.group()
def cmb() -> None:
    """Cerebral microbleeds on MR SWI: phantom data, training, evaluation, prediction."""


@cmb.command()
@config_option
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("var/cmb"),
              show_default=True, help="Directory for <split>.npz.")
@click.option("--split", "splits", type=SPLIT_CHOICES, multiple=True, required=True,
              help="Split(s) to build (seeds: inference.cmb.dataset.SPLITS).")
def dataset(config_path: Path | None, out_dir: Path, splits: tuple[str, ...]) -> None:
    """Generate phantoms, screen candidates and store their patches."""
    from inference.cmb.dataset import build_split

    load_or_exit(config_path)
    configure_logging()
    for split in splits:
        click.echo(f"{split}: {build_split(split, out_dir)}")


@cmb.command()
@config_option
@click.option("--data", "data_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("var/cmb"),
              show_default=True, help="Directory holding train.npz and validation.npz.")
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Checkpoint to write (a .json sidecar is written beside it).")
@click.option("--steps", type=click.IntRange(1), default=450, show_default=True)
@click.option("--time-budget", type=click.FloatRange(1.0), default=1200.0, show_default=True,
              help="Stop after this many seconds.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--lr", type=click.FloatRange(0.0, min_open=True), default=2e-3, show_default=True)
@click.option("--init", "init_path", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="Continue from this checkpoint.")
def train(config_path: Path | None, data_dir: Path, out_path: Path, steps: int, time_budget: float,
          seed: int, lr: float, init_path: Path | None) -> None:
    """Train the 3D residual patch classifier and choose its threshold on validation phantoms."""
    from inference.cmb.training import TrainConfig
    from inference.cmb.training import train as run_training

    load_or_exit(config_path)
    configure_logging()
    record = run_training(data_dir / "train.npz", data_dir / "validation.npz", out_path,
                          TrainConfig(steps=steps, time_budget_s=time_budget, seed=seed, lr=lr,
                                      init=str(init_path or "")))
    click.echo(json.dumps({"threshold": record["threshold"], "validation": record["validation"]}, indent=2))


@cmb.command()
@config_option
@click.option("--data", "data_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("var/cmb"),
              show_default=True)
@click.option("--split", type=SPLIT_CHOICES, default="test", show_default=True)
@click.option("--weights", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Checkpoint (default: the shipped weights).")
@click.option("--magnitude-only", is_flag=True, help="Score without phase (SWI channel = magnitude).")
def evaluate(config_path: Path | None, data_dir: Path, split: str, weights: Path | None,
             magnitude_only: bool) -> None:
    """Sensitivity, precision, FPavg and screening misses on a phantom split."""
    from inference.cmb.detector import NMS_MM, load_model
    from inference.cmb.training import centre_crop, detection_metrics, load_split, score

    load_or_exit(config_path)
    model = load_model(weights)
    data = load_split(data_dir / f"{split}.npz")
    probabilities = score(model.network, centre_crop(data["patches"], magnitude_only), symmetries=model.symmetries)
    metrics = detection_metrics(data, probabilities, model.threshold, NMS_MM)
    screening = detection_metrics(data, np.ones(len(probabilities)), 0.5, 0.0)   # every candidate kept
    metrics["screening_sensitivity"] = screening["sensitivity"]
    metrics["candidates_per_subject"] = len(probabilities) / len(data["seeds"])
    metrics["threshold"] = model.threshold
    metrics["symmetries"] = model.symmetries
    metrics["magnitude_only"] = magnitude_only
    click.echo(json.dumps(metrics, indent=2))


@cmb.command()
@config_option
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--weights", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.option("--allow-magnitude-only", is_flag=True, help="Run without phase (reduced specificity).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def predict(config_path: Path | None, files: tuple[Path, ...], weights: Path | None, allow_magnitude_only: bool,
            fmt: str) -> None:
    """Detect microbleeds in the MR magnitude + phase DICOM files given (files or directories)."""
    import pydicom

    from inference.cmb.detector import detect, load_model
    from inference.cmb.series import load_swi
    from inference.errors import InferenceError

    load_or_exit(config_path)
    configure_logging()
    paths = [p for f in files for p in (sorted(f.rglob("*.dcm")) if f.is_dir() else [f])]
    try:
        volume = load_swi([pydicom.dcmread(p) for p in paths], allow_magnitude_only=allow_magnitude_only)
        model = load_model(weights)
        result = detect(volume.magnitude, volume.phase, volume.spacing_mm, model, volume.affine)
    except InferenceError as exc:
        raise click.ClickException(f"{getattr(exc, 'reason', 'error')}: {exc}") from exc
    logging.getLogger(__name__).info("%d microbleeds in %.0f ms", len(result.microbleeds), result.timings_ms["total"])
    if fmt == "json":
        click.echo(json.dumps({
            "microbleeds": [{"voxel": list(m.voxel), "patient_mm": list(m.patient_mm), "diameter_mm": m.diameter_mm,
                             "probability": m.probability, "location": m.location.value} for m in result.microbleeds],
            "count": len(result.microbleeds), "magnitude_only": result.magnitude_only,
            "phase_convention": volume.phase_convention, "candidates": result.n_candidates,
            "threshold": result.threshold, "notes": result.notes,
            "model": {"name": model.name, "version": model.version}, "timings_ms": result.timings_ms}, indent=2))
        return
    click.echo(f"{len(result.microbleeds)} microbleed(s); {result.n_candidates} candidates; threshold "
               f"{result.threshold:.2f}; phase {volume.phase_convention or 'none'}")
    for m in result.microbleeds:
        x, y, z = m.patient_mm
        click.echo(f"  ({x:7.1f}, {y:7.1f}, {z:7.1f}) mm  {m.diameter_mm:4.1f} mm  p={m.probability:.2f}  "
                   f"{m.location.value}")
    for note in result.notes:
        click.echo(f"note: {note}")


@cmb.command()
@config_option
@click.option("--data", "data_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("var/cmb"),
              show_default=True, help="Directory holding validation.npz.")
@click.option("--weights", type=click.Path(path_type=Path, dir_okay=False, exists=True), required=True,
              help="Checkpoint whose threshold is (re)chosen and rewritten, with its .json sidecar.")
@click.option("--max-fp-avg", type=click.FloatRange(0.0), default=0.5, show_default=True)
@click.option("--symmetries", type=click.Choice(["1", "8"]), default="1", show_default=True,
              help="Patch views averaged per candidate (test-time augmentation, inference.cmb.tta).")
def calibrate(config_path: Path | None, data_dir: Path, weights: Path, max_fp_avg: float, symmetries: str) -> None:
    """Choose the operating threshold on validation phantoms (highest sensitivity at FPavg <= max), for
    the number of symmetric views the detector will average."""
    import torch

    from inference.cmb.detector import NMS_MM, load_model
    from inference.cmb.training import centre_crop, choose_threshold, load_split, score

    load_or_exit(config_path)
    model = load_model(weights)
    data = load_split(data_dir / "validation.npz")
    probabilities = score(model.network, centre_crop(data["patches"]), symmetries=int(symmetries))
    threshold, metrics = choose_threshold(data, probabilities, NMS_MM, max_fp_avg)
    checkpoint = torch.load(weights, map_location="cpu", weights_only=True)
    checkpoint.update(threshold=threshold, symmetries=int(symmetries))
    torch.save(checkpoint, weights)
    sidecar = weights.with_suffix(".json")
    record = json.loads(sidecar.read_text()) if sidecar.exists() else {}
    record.update(threshold=threshold, symmetries=int(symmetries), validation=metrics,
                  calibrated_on=str(data_dir / "validation.npz"))
    sidecar.write_text(json.dumps(record, indent=2))
    click.echo(json.dumps({"threshold": threshold, "symmetries": int(symmetries), "validation": metrics}, indent=2))
