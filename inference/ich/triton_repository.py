"""Write an NVIDIA Triton model repository from the exported model.

The exported ONNX (:mod:`inference.ich.export`) is split at ``features`` into the two models the predictor runs (:mod:`inference.ich.sessions`),
and Triton serves them the same way, so a node sends one request per slice batch and one per series::

    <out>/ich_encoder/config.pbtxt      slices [-1, 3, 256, 256] -> features [-1, F], saliency [-1, h, w]
    <out>/ich_encoder/1/model.onnx
    <out>/ich_sequence/config.pbtxt     features [-1, F] -> slice_probs [-1, 6], study_probs [6]
    <out>/ich_sequence/1/model.onnx

``config.pbtxt`` is written from the split graphs' actual inputs and outputs (names, data types, dims,
``-1`` for the slice axis), never by hand. ``platform = tensorrt_plan`` writes the same configurations for
``model.plan`` files; those must be built on the serving GPU with the TensorRT of the Triton release, so
this writes the ONNX parts to ``--parts-dir`` and a ``build_plans.sh`` with the ``trtexec`` commands.
The model's identity (name, version, hash) goes into ``parameters``; :func:`~inference.ich.sessions.
triton_predictor` refuses a server whose hash differs from the weights the node loaded.

Usage::

    python -m inference.ich.triton_repository --out /models [--weights W.pt] [--platform onnx|tensorrt]
    python -m inference.ich.triton_repository --out deploy/triton/model_repository --config-only
"""

from __future__ import annotations

import argparse
import logging
import shlex
from dataclasses import dataclass
from pathlib import Path

import onnx

from inference.ich.checkpoint import ModelInfo, load_model
from inference.ich.export import FEATURES_NAME, INPUT_NAME, MAX_SLICES, export_model, split_model
from inference.ich.predictor import DEFAULT_BATCH_SIZE
from inference.runtime.triton_config import MODEL_FILES, ModelSpec, render, spec_from_onnx

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "ich"
PLATFORM_ALIASES = {"onnx": "onnxruntime_onnx", "tensorrt": "tensorrt_plan"}
SEQUENCE_OPT_SLICES = 64
"""TensorRT profile of the sequence part: 1..512 slices, tuned for 64 (as :mod:`inference.ich.sessions`)."""


def model_names(prefix: str = DEFAULT_PREFIX) -> tuple[str, str]:
    """Triton names of (encoder, sequence) for ``prefix``: ``ich_encoder``, ``ich_sequence``."""
    return f"{prefix}_encoder", f"{prefix}_sequence"


def identity_parameters(info: ModelInfo) -> dict[str, str]:
    """The model identity written into ``parameters`` and checked by the Triton predictor."""
    return {"model_name": info.name, "model_version": info.version, "model_hash": info.model_hash}


@dataclass(frozen=True)
class RepositoryModel:
    """One Triton model of the repository: its configuration and the ONNX graph behind it."""

    spec: ModelSpec
    graph: onnx.ModelProto
    profile: tuple[int, int, int]
    input_name: str


def repository_models(
    model: onnx.ModelProto, platform: str = "onnxruntime_onnx", prefix: str = DEFAULT_PREFIX,
    info: ModelInfo | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
) -> list[RepositoryModel]:
    """The encoder and sequence models of the exported ``model`` for ``platform``.

    ``info`` adds the identity parameters; ``batch_size`` is the encoder's largest request (TensorRT profile).
    """
    platform = PLATFORM_ALIASES.get(platform, platform)
    encoder, sequence = split_model(model)
    kind = "KIND_GPU" if platform == "tensorrt_plan" else None
    parameters = identity_parameters(info) if info is not None else {}
    names = model_names(prefix)
    return [
        RepositoryModel(spec_from_onnx(encoder, names[0], platform, kind, parameters), encoder, (1, batch_size, batch_size), INPUT_NAME),
        RepositoryModel(
            spec_from_onnx(sequence, names[1], platform, kind, parameters), sequence,
            (1, SEQUENCE_OPT_SLICES, MAX_SLICES), FEATURES_NAME,
        ),
    ]


def _comment(item: RepositoryModel) -> str:
    text = (
        f"Triton model configuration of the {item.spec.name.rsplit('_', 1)[-1]} part of the dicomnode hemorrhage model.\n"
        "Written by `python -m inference.ich.triton_repository` from the exported ONNX graph; do not edit by hand.\n"
        "max_batch_size 0: the slice axis is the explicit first dimension (-1 = any number of slices)."
    )
    if item.spec.platform == "tensorrt_plan":
        low, opt, high = item.profile
        text += f"\nmodel.plan is built with trtexec for {low}..{high} slices per request (optimum {opt}); see build_plans.sh."
    return text


def trtexec_command(item: RepositoryModel, onnx_path: Path, plan_path: Path) -> str:
    """The ``trtexec`` call that builds ``plan_path`` (FP16, one optimisation profile over the slice axis)."""
    spec = next(t for t in item.spec.inputs if t.name == item.input_name)
    shapes = {
        flag: f"{item.input_name}:" + "x".join(str(count if d == -1 else d) for d in spec.dims)
        for flag, count in zip(("--minShapes", "--optShapes", "--maxShapes"), item.profile)
    }
    words = ["trtexec", f"--onnx={onnx_path}", f"--saveEngine={plan_path}", "--fp16"]
    words += [f"{flag}={shape}" for flag, shape in shapes.items()]
    return shlex.join(words)


def write_repository(
    model: onnx.ModelProto, out: Path, platform: str = "onnxruntime_onnx", prefix: str = DEFAULT_PREFIX,
    info: ModelInfo | None = None, config_only: bool = False, parts_dir: Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> list[Path]:
    """Write the repository under ``out`` and return the files written.

    Parameters
    ----------
    model
        The whole exported model (:func:`inference.ich.export.export_model`).
    out
        Repository root (Triton's ``--model-repository``).
    platform
        ``onnxruntime_onnx`` (or ``onnx``) or ``tensorrt_plan`` (or ``tensorrt``).
    prefix
        Model names are ``<prefix>_encoder`` and ``<prefix>_sequence``.
    info
        Identity written into the configurations (ignored with ``config_only``: without the model file
        beside it an identity would mislead).
    config_only
        Write only ``config.pbtxt`` files (the ones shipped in ``deploy/``).
    parts_dir
        For ``tensorrt_plan``: where the ONNX parts and ``build_plans.sh`` go.
    """
    platform = PLATFORM_ALIASES.get(platform, platform)
    items = repository_models(model, platform, prefix, None if config_only else info, batch_size)
    written: list[Path] = []
    commands: list[str] = []
    for item in items:
        folder = out / item.spec.name
        (folder if config_only else folder / "1").mkdir(parents=True, exist_ok=True)
        config = folder / "config.pbtxt"
        config.write_text(render(item.spec, _comment(item)), encoding="utf-8")
        written.append(config)
        if config_only:
            continue
        if platform == "onnxruntime_onnx":
            path = folder / "1" / MODEL_FILES[platform]
            onnx.save_model(item.graph, path)
            written.append(path)
        elif parts_dir is not None:
            parts_dir.mkdir(parents=True, exist_ok=True)
            part = parts_dir / f"{item.spec.name}.onnx"
            onnx.save_model(item.graph, part)
            written.append(part)
            commands.append(trtexec_command(item, part, folder / "1" / MODEL_FILES[platform]))
    if commands and parts_dir is not None:
        script = parts_dir / "build_plans.sh"
        body = "#!/bin/sh\n# Run on the serving GPU inside the TensorRT container of the Triton release.\nset -e\n"
        script.write_text(body + "\n".join(commands) + "\n", encoding="utf-8")
        script.chmod(0o755)
        written.append(script)
    logger.info("wrote Triton repository %s (%s, models %s)", out, platform, [i.spec.name for i in items])
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: export the model (``--weights`` or the shipped/random-init one) into a repository."""
    parser = argparse.ArgumentParser(prog="python -m inference.ich.triton_repository", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="repository root")
    parser.add_argument("--platform", choices=sorted(PLATFORM_ALIASES), default="onnx")
    parser.add_argument("--weights", type=Path, default=None, help="checkpoint .pt (default: shipped weights)")
    parser.add_argument("--prefix", default=DEFAULT_PREFIX)
    parser.add_argument("--config-only", action="store_true", help="write config.pbtxt files only")
    parser.add_argument("--parts-dir", type=Path, default=None, help="tensorrt: where ONNX parts and build_plans.sh go")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="largest encoder request")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    net, info = load_model(args.weights)
    parts = args.parts_dir
    if args.platform == "tensorrt" and parts is None and not args.config_only:
        parts = args.out.parent / f"{args.out.name}-onnx-parts"
    for path in write_repository(
        export_model(net, info), args.out, args.platform, args.prefix, info, args.config_only, parts, args.batch_size
    ):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
