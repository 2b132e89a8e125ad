"""``dicomnode train``: staged training of the hemorrhage model (see :mod:`inference.ich.training`).

Phantoms are split by seed ranges (``--train-seeds``, ``--val-seeds``); the DICOM layouts (rsna, cq500)
by a hash of each study key (``--val-fraction``); a PNG folder by its fixed finetune/validation split.
``--real-ct`` adds the real head-CT volumes with inserted bleeds, split by volume
(:data:`inference.ich.realct.source.SPLITS`): the training volumes join the training series, the validation
volume joins the validation series (and so the operating points); ``--real-negative-share`` sets the share
of the real training samples drawn without a bleed; ``--rsna-slices`` adds labelled real slices to the
validation series only.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from dicomnode.cli.options import require_data, setup_logging
from inference.ich.evaluation.metrics import MIN_SENSITIVITY
from inference.ich.network import ModelConfig
from inference.ich.phantoms.study import REQUESTS
from inference.ich.training.factory import SOURCES, Concat, Subset, build_source, hashed_split, parse_range
from inference.ich.training.sources import DataSource, KeyedSource, PhantomSource, PngSource
from inference.ich.training.trainer import StageConfig, TrainConfig, training_device

T = TypeVar("T")


def _triple(text: str, cast: Callable[[str], T], option: str) -> tuple[T, T, T]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3:
        raise click.BadParameter(f"{option} takes three comma-separated values (encoder,sequence,end_to_end)")
    encoder, sequence, end_to_end = (cast(p) for p in parts)
    return encoder, sequence, end_to_end


def _enrichment(specs: tuple[str, ...], train_seeds: str, val_seeds: str) -> list[tuple[str, list[int]]]:
    """``REQUEST:SEEDS`` options -> (request, seeds); every phantom seed of the run used once.

    A seed fixes the head and the scan whatever the request, so an enrichment seed shared with the
    validation seeds would leak the same anatomy into training.
    """
    choices = {choice.lower(): choice for choice in REQUESTS}
    parsed, seen = [], {"--train-seeds": set(parse_range(train_seeds)), "--val-seeds": set(parse_range(val_seeds))}
    if seen["--train-seeds"] & seen["--val-seeds"]:
        raise click.BadParameter("--train-seeds and --val-seeds overlap", param_hint="--val-seeds")
    for spec in specs:
        request, _, seeds_text = spec.partition(":")
        request = choices.get(request.strip().lower(), "")
        if not request or not seeds_text.strip():
            raise click.BadParameter(f"{spec!r}: expected REQUEST:SEEDS with REQUEST one of "
                                     f"{', '.join(REQUESTS)}, e.g. IPH:100000-100399", param_hint="--enrich")
        try:
            seeds = parse_range(seeds_text)
        except ValueError as exc:
            raise click.BadParameter(f"{spec!r}: {exc}", param_hint="--enrich") from exc
        for option, used in seen.items():
            if used & set(seeds):
                raise click.BadParameter(f"{spec!r} shares seeds with {option}", param_hint="--enrich")
        seen[f"--enrich {spec}"] = set(seeds)
        parsed.append((request, seeds))
    return parsed


def _split(source: str, data: Path | None, train_seeds: str, val_seeds: str, val_fraction: float,
           size: int, cache: Path | None, input_size: int) -> tuple[DataSource, DataSource]:
    if source == "phantoms":
        return (build_source("phantoms", seeds=train_seeds, size=size, cache_dir=cache, input_size=input_size),
                build_source("phantoms", seeds=val_seeds, size=size, cache_dir=cache, input_size=input_size))
    if source == "png":
        return (build_source("png", data, split="finetune", input_size=input_size),
                build_source("png", data, split="validation", input_size=input_size))
    full = build_source(source, data, input_size=input_size)
    if not isinstance(full, KeyedSource):
        raise click.BadParameter(f"--source {source} has no study keys to split into training and validation series",
                                 param_hint="--source")
    parts = hashed_split(full.keys, val_fraction)
    return Subset(full, parts["train"]), Subset(full, parts["val"])


@click.command()
@click.option("--source", type=click.Choice(SOURCES), default="phantoms", show_default=True)
@click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Folder of the rsna, cq500 or png layout.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder: hemorrhage.pt + .json, per-stage checkpoints, history.json.")
@click.option("--epochs", default="3,20,1", show_default=True, help="Epochs of encoder,sequence,end_to_end.")
@click.option("--steps", default="0,0,0", show_default=True, help="Steps per epoch of each stage (0: one pass).")
@click.option("--lr", default="1e-3,1e-3,2e-4", show_default=True, help="Peak learning rate of each stage.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--train-seeds", default="0-599", show_default=True, help="Phantom seeds for training.")
@click.option("--val-seeds", default="10000-10099", show_default=True, help="Phantom seeds for validation.")
@click.option("--enrich", multiple=True, metavar="REQUEST:SEEDS",
              help="Extra training phantoms generated with a subtype request (any, none, EDH, SDH, SAH, IPH, IVH), "
                   "e.g. IPH:100000-100399; repeatable. Validation keeps the natural mix.")
@click.option("--phantom-size", default=256, show_default=True, type=click.IntRange(32, 512))
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Cache folder for generated phantoms (e.g. var/cache/phantoms).")
@click.option("--val-fraction", default=0.15, show_default=True, type=click.FloatRange(0.01, 0.9))
@click.option("--png-finetune", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="PNG folder whose finetune split is mixed into the encoder stages ('any' only) and whose "
                   "validation split sets a slice-level operating point.")
@click.option("--width", default=32, show_default=True, type=click.IntRange(2, 128), help="VGG first-unit filters.")
@click.option("--encoder", type=click.Choice(["vgg", "efficientnet_b0"]), default="vgg", show_default=True)
@click.option("--lstm-hidden", default=256, show_default=True, type=click.IntRange(4, 1024))
@click.option("--input-size", default=256, show_default=True, type=click.IntRange(32, 512))
@click.option("--sequence-series", default=0, show_default=True, type=int,
              help="Training series used by the sequence stage (0: all).")
@click.option("--patience", default=3, show_default=True, type=click.IntRange(1, 100),
              help="Epochs without a better validation loss before a stage stops.")
@click.option("--min-sensitivity", default=MIN_SENSITIVITY, show_default=True,
              type=click.FloatRange(MIN_SENSITIVITY, 1.0),
              help=f"Validation sensitivity the operating point must reach (at least {MIN_SENSITIVITY}: a missed "
                   "bleed costs more than a false alarm).")
@click.option("--init", "init", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Start from this state dict (e.g. OUT/stage-sequence.pt of an earlier run, same architecture).")
@click.option("--threads", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--device", default="cpu", show_default=True,
              help="Where the network trains: cpu, or cuda / cuda:N for a GPU.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 256),
              help="Processes that generate the missing phantom studies into --cache before training.")
@click.option("--series-per-step", default=4, show_default=True, type=click.IntRange(1, 256),
              help="Series per training step (8 slices each in the encoder stage).")
@click.option("--extra-per-step", default=8, show_default=True, type=click.IntRange(0, 256),
              help="--png-finetune slices per encoder and end-to-end step.")
@click.option("--real-ct", "real_ct", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="The real-ct folder: its training volumes (with inserted bleeds) join the training series, "
                   "its validation volume the validation series.")
@click.option("--real-seeds", default="0-599", show_default=True, help="Insertion seeds of the real training volumes.")
@click.option("--real-negative-share", default=0.4, show_default=True, type=click.FloatRange(0.0, 1.0),
              help="Share of the real training samples drawn without an inserted bleed (real negatives); the rest "
                   "get bleeds. The seeds drawn as negatives at a share are also negatives at any larger share. "
                   "The default is the source's own mix (60% with bleeds); the validation volume always keeps it.")
@click.option("--real-val-seeds", default="0-59", show_default=True, help="Insertion seeds of the real validation volume.")
@click.option("--rsna-slices", "rsna_slices", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Folder of labelled real slices (labels.csv + <id>.dcm) added to the validation series.")
@click.option("--version", default="dev", show_default=True, help="Version written into the sidecar.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def train(source: str, data: Path | None, out_dir: Path, epochs: str, steps: str, lr: str, seed: int,
          train_seeds: str, val_seeds: str, enrich: tuple[str, ...], phantom_size: int, cache: Path | None, val_fraction: float,
          png_finetune: Path | None, width: int, encoder: str, lstm_hidden: int, input_size: int,
          sequence_series: int, patience: int, min_sensitivity: float, init: Path | None, threads: int, device: str,
          workers: int, series_per_step: int, extra_per_step: int, real_ct: Path | None, real_seeds: str,
          real_negative_share: float, real_val_seeds: str, rsna_slices: Path | None, version: str, no_progress: bool) -> None:
    """Train the hemorrhage model in three stages and write weights with their operating point."""
    setup_logging()
    from inference.ich.training.run import train_and_save

    require_data(source, data)
    if workers > 1 and (source != "phantoms" or cache is None):
        raise click.UsageError("--workers generates phantoms into the cache: it needs --source phantoms and --cache")
    if enrich and source != "phantoms":
        raise click.UsageError("--enrich adds phantom studies: it needs --source phantoms")
    enrichment = _enrichment(enrich, train_seeds, val_seeds) if source == "phantoms" else []
    try:
        training_device(device)
    except (RuntimeError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="--device") from exc
    n_epochs, n_steps, rates = _triple(epochs, int, "--epochs"), _triple(steps, int, "--steps"), _triple(lr, float, "--lr")
    stages = [StageConfig(e, r, s or None) for e, r, s in zip(n_epochs, rates, n_steps)]
    config = TrainConfig(
        model=ModelConfig(encoder=encoder, encoder_width=width, lstm_hidden=lstm_hidden, input_size=input_size),
        encoder=stages[0], sequence=stages[1], end_to_end=stages[2], seed=seed, threads=threads, patience=patience,
        sequence_series=sequence_series or None, min_sensitivity=min_sensitivity, device=device,
        series_per_step=series_per_step, extra_per_step=extra_per_step, progress=not no_progress,
    )
    train_src, val_src = _split(source, data, train_seeds, val_seeds, val_fraction, phantom_size, cache, input_size)
    enriched = [PhantomSource(seeds, size=phantom_size, cache_dir=cache, input_size=input_size, subtype=request)
                for request, seeds in enrichment]
    if workers > 1:
        for phantoms in (train_src, val_src, *enriched):
            assert isinstance(phantoms, PhantomSource)  # --workers requires --source phantoms (checked above)
            phantoms.fill_cache(workers)
    natural_train = len(train_src)
    real_train = real_val = rsna_val = None
    if real_ct is not None:
        from inference.ich.realct.source import SPLITS, RealInsertionSource

        real_train = RealInsertionSource(real_ct, SPLITS["train"], parse_range(real_seeds), input_size=input_size,
                                         cache_dir=cache, bleed_share=round(1.0 - real_negative_share, 6))
        real_val = RealInsertionSource(real_ct, SPLITS["validation"], parse_range(real_val_seeds),
                                       input_size=input_size, cache_dir=cache, reslice=False)
    if rsna_slices is not None:
        from inference.ich.realct.rsna_slices import RsnaSliceSource

        rsna_val = RsnaSliceSource(rsna_slices, input_size=input_size)
    if enriched or real_train is not None:
        train_src = Concat([train_src, *enriched, *([real_train] if real_train is not None else [])])
    extra_val_series = [part for part in (real_val, rsna_val) if part is not None]
    if extra_val_series:
        val_src = Concat([val_src, *extra_val_series], name="+".join([val_src.name, *(p.name for p in extra_val_series)]))
    extra = extra_val = None
    if png_finetune is not None:
        extra = PngSource(png_finetune, split="finetune", input_size=input_size)
        extra_val = PngSource(png_finetune, split="validation", input_size=input_size)
    data_info = {"source": source, "data": str(data) if data else None, "train": len(train_src), "val": len(val_src),
                 "train_seeds": train_seeds if source == "phantoms" else None,
                 "train_natural_mix": natural_train if source == "phantoms" else None,
                 "enrich": {spec: len(seeds) for spec, (_, seeds) in zip(enrich, enrichment)},
                 "val_seeds": val_seeds if source == "phantoms" else None,
                 "png_finetune": str(png_finetune) if png_finetune else None,
                 "png_finetune_slices": len(extra) if extra else 0,
                 "real_ct": str(real_ct) if real_ct else None,
                 "real_train": {"volumes": list(real_train.volumes), "seeds": real_seeds, "n": len(real_train),
                                "negative_share": real_negative_share} if real_train else None,
                 "real_val": {"volumes": list(real_val.volumes), "seeds": real_val_seeds, "n": len(real_val)} if real_val else None,
                 "rsna_slices_val": len(rsna_val) if rsna_val else 0}
    command = "dicomnode train " + shlex.join(sys.argv[2:] if sys.argv[1:2] == ["train"] else sys.argv[1:])
    weights = train_and_save(config, train_src, val_src, out_dir, version, extra=extra, extra_val=extra_val,
                             command=command, data=data_info, init=init)
    click.echo(f"wrote {weights} and {weights.with_suffix('.json')}")
