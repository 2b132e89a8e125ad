"""``dicomnode phantom``: write a synthetic study (head CT, or MR SWI magnitude + phase) and its ground truth JSON."""

from __future__ import annotations

import secrets
from pathlib import Path

import click

from dicomnode.cli.options import config_option, load_or_exit
from inference.ich.phantoms import (
    GROUND_TRUTH_NAME,
    generate_study,
    write_dicom,
    write_ground_truth,
)
from inference.ich.phantoms.study import REQUESTS


@click.command()
@config_option
@click.option("--kind", type=click.Choice(["ct", "swi"]), default="ct", show_default=True,
              help="ct: head CT with hemorrhage; swi: 3T SWI (MR magnitude + phase series) with microbleeds, "
                   "calcifications and veins (--subtype, --size, --tilt, --signed do not apply).")
@click.option("--phase-encoding", type=click.Choice(["12bit", "radians"]), default="12bit", show_default=True,
              help="swi only: phase as 0..4095 for -pi..pi, or with a Modality LUT to radians.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Directory for the DICOM files (CT0001.dcm, ...) and ground_truth.json; must be empty or new.")
@click.option("--subtype", type=click.Choice(REQUESTS, case_sensitive=False), default="random",
              show_default=True,
              help="any: at least one bleed; none: negative; EDH/SDH/SAH/IPH/IVH: that subtype only; "
                   "random: negative half of the time.")
@click.option("--slices", type=click.IntRange(1, 400), default=None,
              help="Number of slices (ct default: random 20-60, the thickness (2.5-5 mm) follows; "
                   "swi default: 72 slices of 2 mm, the whole brain).")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Seed; the same seed and options give the same study (default: a random seed, printed).")
@click.option("--size", type=click.IntRange(16, 512), default=512, show_default=True, help="Rows and columns.")
@click.option("--tilt", type=click.FloatRange(0.0, 30.0), default=None,
              help="Gantry tilt in degrees (default: random, none half of the time).")
@click.option("--signed", is_flag=True, help="Store signed 16-bit pixels instead of unsigned 12-bit.")
def phantom(config_path: Path | None, kind: str, phase_encoding: str, out_dir: Path, subtype: str,
            slices: int | None, seed: int | None, size: int, tilt: float | None, signed: bool) -> None:
    """Write a synthetic head-CT or SWI study with its ground truth (not patient data)."""
    load_or_exit(config_path)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise click.UsageError(f"--out {out_dir} is not empty; give a new or empty directory")
    if seed is None:
        seed = secrets.randbelow(1_000_000)
    if kind == "swi":
        _swi(out_dir, seed, slices or 72, phase_encoding)
        return
    study = generate_study(seed, subtype=subtype, n_slices=slices, size=size, gantry_tilt=tilt)
    files = write_dicom(study, out_dir, signed=signed)
    write_ground_truth(study, out_dir, files)
    positive = [name for name, flag in zip(study.classes, study.study_labels) if flag and name != "any"]
    g = study.geometry
    click.echo(f"seed {seed}: {len(files)} slices of {g.rows}x{g.cols}, {g.slice_thickness:g} mm, "
               f"tilt {g.gantry_tilt:.1f} deg -> {out_dir}")
    click.echo(f"ground truth: {out_dir / GROUND_TRUTH_NAME} ({', '.join(positive) if positive else 'negative'})")


def _swi(out_dir: Path, seed: int, slices: int, phase_encoding: str) -> None:
    from inference.cmb.phantom.dicom_writer import TRUTH_NAME, write_swi_dicom
    from inference.cmb.phantom.study import generate_swi_phantom

    study = generate_swi_phantom(seed, n_slices=slices)
    files = write_swi_dicom(study, out_dir, phase_encoding)
    counts = {kind: sum(lesion.kind == kind for lesion in study.lesions) for kind in ("microbleed", "calcification")}
    click.echo(f"seed {seed}: SWI {slices} slices of {study.magnitude.shape[1]}x{study.magnitude.shape[2]}, "
               f"magnitude + phase ({phase_encoding}), {len(files)} files -> {out_dir}")
    click.echo(f"ground truth: {out_dir / TRUTH_NAME} ({counts['microbleed']} microbleeds, "
               f"{counts['calcification']} calcifications, {study.n_veins} veins)")
