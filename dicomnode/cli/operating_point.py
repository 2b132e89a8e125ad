"""``dicomnode model operating-point``: re-choose the thresholds of trained weights on validation data.

For a site that validates the model on its own labelled studies, or wants a stricter sensitivity than the
training run used. Prints the current and the new per-class thresholds; ``--write`` stores the new ones in
the weights' sidecar (the weights and the model hash stay the same; the replaced values are kept in
``operating_point_changes``). Registered on the ``model`` group by :mod:`dicomnode.cli.model`.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from dicomnode.cli.options import require_data, setup_logging
from inference.ich.evaluation.metrics import MIN_SENSITIVITY


@click.command("operating-point")
@click.option("--weights", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Weights (.pt) whose sidecar (.json) holds the operating points.")
@click.option("--source", type=click.Choice(["phantoms", "rsna", "cq500", "png"]), default="phantoms", show_default=True)
@click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Folder of labelled validation data (rsna, cq500 or png layout); rsna and cq500 use every study in it.")
@click.option("--seeds", default="10000-10199", show_default=True,
              help="Phantom seeds of the validation set (never the test seeds).")
@click.option("--size", default=256, show_default=True, type=click.IntRange(32, 512), help="Phantom rows = columns.")
@click.option("--split", default="validation", show_default=True,
              type=click.Choice(["all", "finetune", "validation", "test"]), help="PNG split.")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None, help="Phantom cache folder.")
@click.option("--min-sensitivity", default=MIN_SENSITIVITY, show_default=True,
              type=click.FloatRange(MIN_SENSITIVITY, 1.0),
              help=f"Sensitivity each threshold must reach on this data (at least {MIN_SENSITIVITY}).")
@click.option("--threads", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--write", is_flag=True, help="Store the new thresholds in the sidecar (default: only print them).")
def operating_point(weights: Path, source: str, data: Path | None, seeds: str, size: int, split: str,
                    cache: Path | None, min_sensitivity: float, threads: int, write: bool) -> None:
    """Re-choose the per-class thresholds of --weights on labelled validation data."""
    setup_logging()
    import torch

    from inference.errors import InferenceError
    from inference.ich.checkpoint import load_checkpoint, sidecar_path
    from inference.ich.evaluation.operating_point import POINT_KEYS, operating_points, record_operating_points
    from inference.ich.training.factory import build_source

    require_data(source, data)
    torch.set_num_threads(threads)
    try:
        net, info = load_checkpoint(weights)
    except InferenceError as exc:
        raise click.ClickException(str(exc)) from exc
    level = "encoder" if source == "png" else "study"
    validation = build_source(source, data, seeds=seeds, split=split, size=size, cache_dir=cache,
                              input_size=info.config.input_size)
    points = operating_points(net, validation, level, min_sensitivity, info.calibration)
    if level == "study" and "any" not in points["thresholds"]:
        raise click.ClickException("the validation data need studies with and without hemorrhage")
    current = json.loads(sidecar_path(weights).read_text(encoding="utf-8")).get("operating_points", {})
    before = current.get(POINT_KEYS[level], {}).get("thresholds", {})
    click.echo(f"{POINT_KEYS[level]} operating point on {validation.name} ({len(validation)} cases, {level} level), "
               f"sensitivity >= {min_sensitivity}")
    click.echo("| class | AUC | threshold now | new threshold |\n| --- | --- | --- | --- |")
    for label, value in points["thresholds"].items():
        old = f"{before[label]:.4f}" if label in before else "-"
        click.echo(f"| {label} | {points['auc'][label]:.3f} | {old} | {value:.4f} |")
    if not write:
        click.echo("not written (add --write to store these thresholds in the sidecar)")
        return
    options = {k: str(v) if isinstance(v, Path) else v for k, v in click.get_current_context().params.items()}
    provenance = {"command": "dicomnode model operating-point", "options": options}
    record_operating_points(weights, points, provenance)
    click.echo(f"wrote {sidecar_path(weights)}")
