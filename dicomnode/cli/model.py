"""``dicomnode model predict|info|export|benchmark``: the hemorrhage model from the command line.

The work is done by the ``inference`` package; this module reads files, picks settings from the
``[inference]`` configuration section and prints results.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
import pydicom
from pydicom.errors import InvalidDicomError

from dicomnode.cli.options import config_option, load_or_exit, setup_logging
from dicomnode.config import InferenceSection
from inference.errors import InferenceError
from inference.ich.checkpoint import ModelInfo, load_model
from inference.ich.labels import LABELS
from inference.ich.predictor import Predictor
from inference.ich.sessions import build_predictor
from inference.ich.volume import Volume
from inference.runtime.backends import BACKENDS, available_backends, resolve_device, select_backend

logger = logging.getLogger(__name__)

BACKEND_CHOICE = click.Choice(["auto", *BACKENDS])


def _files(paths: Iterable[Path]) -> list[tuple[Path, bool]]:
    """(file, given explicitly) for each path; directories are walked recursively."""
    found: list[tuple[Path, bool]] = []
    for path in paths:
        if path.is_dir():
            found += [(child, False) for child in sorted(path.rglob("*")) if child.is_file()]
        else:
            found.append((path, True))
    return found


def read_series(paths: Iterable[Path]) -> list[pydicom.Dataset]:
    """Read the DICOM files given; files inside directories that are not DICOM are skipped."""
    datasets: list[pydicom.Dataset] = []
    for path, explicit in _files(paths):
        try:
            datasets.append(pydicom.dcmread(path))
        except (InvalidDicomError, OSError) as exc:
            if explicit:
                raise click.ClickException(f"{path} is not a readable DICOM file: {exc}") from exc
            logger.debug("skipping %s: not DICOM (%s)", path, exc)
    if not datasets:
        raise click.ClickException("no DICOM files found in the paths given")
    return datasets


def _engine(section: InferenceSection, backend: str | None) -> tuple[Predictor, ModelInfo]:
    try:
        net, info = load_model(section.weights)
        return build_predictor(
            net, info, backend=backend or section.backend, device=section.device,
            triton_url=section.triton_url, triton_model=section.triton_model,
        ), info
    except InferenceError as exc:
        raise click.ClickException(str(exc)) from exc


def _warn_untrained(info: ModelInfo) -> None:
    if not info.trained:
        click.echo(
            f"WARNING: model {info.name} has no trained weights ({info.version}); "
            "its probabilities are meaningless. Not for diagnostic use.", err=True,
        )


def _study_table(result: dict[str, Any], backend: str) -> str:
    lines = [f"{'class':<18}  study p  max slice p", f"{'-' * 18}  -------  -----------"]
    for label in LABELS:
        best = max((s[label] for s in result["slices"]), default=0.0)
        lines.append(f"{label:<18}  {result['study'][label]:7.3f}  {best:11.3f}")
    verdict = "POSITIVE" if result["positive"] else "negative"
    lines += [
        "",
        f"hemorrhage: {verdict} (any {result['study']['any']:.3f}, threshold {result['threshold']:.3f})",
        f"slices: {len(result['slices'])}  model: {result['model']['name']} {result['model']['version']}  backend: {backend}",
        "timings (ms): " + ", ".join(f"{k} {v:.0f}" for k, v in result["timings_ms"].items()),
    ]
    return "\n".join(lines)


@click.group()
def model() -> None:
    """Run, inspect, export and time the hemorrhage model."""


@model.command("predict")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--backend", type=BACKEND_CHOICE, default=None, help="Overrides inference.backend.")
@config_option
def predict(paths: tuple[Path, ...], fmt: str, backend: str | None, config_path: Path | None) -> None:
    """Read one series from FILE_OR_DIR... (directories recursively) and print its prediction."""
    setup_logging()
    section = load_or_exit(config_path).inference
    engine, info = _engine(section, backend)
    start = time.perf_counter()
    try:
        volume = Volume.from_datasets(read_series(paths))
        loaded = time.perf_counter()
        prediction = engine.predict(volume)
    except InferenceError as exc:
        raise click.ClickException(str(exc)) from exc
    end = time.perf_counter()
    prediction = prediction.with_timings(load=1000 * (loaded - start), end_to_end=1000 * (end - start))
    threshold = section.threshold if section.threshold is not None else info.threshold
    result = prediction.to_dict(threshold)
    _warn_untrained(info)
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(_study_table(result, prediction.backend))


@model.command("info")
@config_option
def info_cmd(config_path: Path | None) -> None:
    """Print the model's identity, architecture, threshold and the backends available here (JSON)."""
    setup_logging()
    section = load_or_exit(config_path).inference
    try:
        _, info = load_model(section.weights)
        device = resolve_device(section.device)
        backend = select_backend(section.backend, device)
    except InferenceError as exc:
        raise click.ClickException(str(exc)) from exc
    data = {
        **info.to_dict(),
        "threshold": section.threshold if section.threshold is not None else info.threshold,
        "labels": list(LABELS),
        "device": device,
        "backend": backend,
        "available_backends": available_backends(device),
    }
    click.echo(json.dumps(data, indent=2))
    _warn_untrained(info)


@model.command("export")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="ONNX file to write.")
@config_option
def export_cmd(out: Path, config_path: Path | None) -> None:
    """Export the model to ONNX (opset 18, dynamic slice axis) for ONNX Runtime or TensorRT."""
    setup_logging()
    from inference.ich.export import export_onnx, file_hash

    section = load_or_exit(config_path).inference
    try:
        net, info = load_model(section.weights)
        path = export_onnx(net, info, out)
    except InferenceError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {path} ({info.name} {info.version}, sha256 {file_hash(path)})")
    _warn_untrained(info)


@model.command("benchmark")
@click.option("--slices", default=40, show_default=True, type=click.IntRange(1, 1024))
@click.option("--size", default=512, show_default=True, type=click.IntRange(32, 1024), help="Rows = columns.")
@click.option("--repeats", default=3, show_default=True, type=click.IntRange(1, 100))
@click.option("--backend", "backends", multiple=True, type=click.Choice(list(BACKENDS)), help="Default: all available.")
@config_option
def benchmark_cmd(slices: int, size: int, repeats: int, backends: tuple[str, ...], config_path: Path | None) -> None:
    """Time each engine on a synthetic volume; ratios are against the torch engine of the same run."""
    setup_logging()
    from inference.ich.benchmark import format_table, synthetic_volume, time_engine

    section = load_or_exit(config_path).inference
    try:
        device = resolve_device(section.device)
        net, info = load_model(section.weights)
        volume = synthetic_volume(slices, size)
        rows = []
        for backend in backends or available_backends(device):
            timing = time_engine(build_predictor(net, info, backend, device), volume, repeats)
            rows.append(timing.to_dict())
    except InferenceError as exc:
        raise click.ClickException(str(exc)) from exc
    baseline = next((row["model_ms"] for row in rows if row["backend"].startswith("torch")), None)
    for row in rows:
        row["speedup_vs_torch"] = f"{baseline / row['model_ms']:.2f}x" if baseline else "-"
    columns = ["backend", "slices", "preprocess_ms", "model_ms", "total_ms", "slices_per_second", "speedup_vs_torch"]
    click.echo(f"{slices} slices of {size}x{size}, best of {repeats}; model {info.name} {info.version}")
    click.echo(format_table(rows, columns))


from dicomnode.cli.evaluate import evaluate as _evaluate  # noqa: E402  (its own module; registered here)

from dicomnode.cli.operating_point import operating_point as _operating_point  # noqa: E402  (likewise)

model.add_command(_evaluate)
model.add_command(_operating_point)
