"""ONNX export of :class:`~inference.ich.network.HemorrhageNet` with a dynamic slice axis.

The exported file holds the whole model: input ``slices`` [N, 3, 256, 256], outputs ``slice_probs``
[N, 6], ``study_probs`` [6] and ``saliency`` [N, h, w], N free (1..512 is the range exported and
profiled). It is built from two parts exported separately (torch.export-based exporter, opset 18) and
joined with :func:`onnx.compose.merge_models` at the tensor ``features`` [N, F]. Engines split it again
there (:func:`split_model`) to run the encoder on slice batches and the sequence part once, which keeps
memory bounded on long series.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import onnx
import onnx.compose
import onnx.utils
import torch

from inference.errors import ExportError
from inference.ich.checkpoint import ModelInfo
from inference.ich.network import EncoderGraph, HemorrhageNet, SequenceGraph

logger = logging.getLogger(__name__)

OPSET = 18
MAX_SLICES = 512
INPUT_NAME = "slices"
FEATURES_NAME = "features"
OUTPUT_NAMES = ("slice_probs", "study_probs", "saliency")
EXPORTER_LOGGERS = ("torch.onnx", "torch.onnx._internal.exporter._registration", "onnxscript", "onnx_ir")


@contextmanager
def _quiet_exporter_logs() -> Iterator[None]:
    """Raise the exporter's chatty loggers (pass reports, "torchvision is not installed") to ERROR; failures still raise."""
    loggers = [logging.getLogger(name) for name in EXPORTER_LOGGERS]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for log, level in zip(loggers, levels):
            log.setLevel(level)


def _export_part(module: torch.nn.Module, example: torch.Tensor, input_name: str, output_names: list[str]) -> onnx.ModelProto:
    slices = torch.export.Dim("slices", min=1, max=MAX_SLICES)
    with _quiet_exporter_logs(), warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            module, (example,), dynamo=True, opset_version=OPSET, input_names=[input_name],
            output_names=output_names, dynamic_shapes={input_name: {0: slices}}, verbose=False,
        )
    if program is None:
        raise ExportError("torch.onnx.export returned no program (dynamo exporter expected)")
    return program.model_proto


def export_model(net: HemorrhageNet, info: ModelInfo) -> onnx.ModelProto:
    """Export ``net`` (switched to eval mode) to one ONNX model; ``info`` goes into its metadata."""
    net = net.eval()
    size = net.config.input_size
    try:
        encoder = _export_part(EncoderGraph(net), torch.zeros(2, 3, size, size), INPUT_NAME, [FEATURES_NAME, "saliency"])
        sequence = _export_part(
            SequenceGraph(net), torch.zeros(2, net.feature_size), FEATURES_NAME, ["slice_probs", "study_probs"]
        )
        # The two exports name their internal tensors alike; prefix the second part's, not its I/O.
        sequence = onnx.compose.add_prefix(sequence, "sequence/", rename_inputs=False, rename_outputs=False)
        merged = onnx.compose.merge_models(
            encoder, sequence, io_map=[(FEATURES_NAME, FEATURES_NAME)],
            outputs=list(OUTPUT_NAMES), producer_name="dicomnode-inference",
        )
        _fix_interface(merged, net.feature_size)
        onnx.checker.check_model(merged)
    except ExportError:
        raise
    except Exception as exc:  # torch.export, onnxscript and onnx raise many types
        raise ExportError(f"ONNX export of model {info.name} {info.version} failed: {exc}") from exc
    onnx.helper.set_model_props(
        merged, {"name": info.name, "version": info.version, "model_hash": info.model_hash, "info": json.dumps(info.to_dict())}
    )
    return merged


def _fix_interface(model: onnx.ModelProto, feature_size: int) -> None:
    """Put the outputs in :data:`OUTPUT_NAMES` order and mark their slice axis dynamic.

    The exporter annotates the LSTM part's outputs with the example's slice count although the graph
    computes any count; stale intermediate annotations are dropped (runtimes infer them) except the
    one of ``features``, where :func:`split_model` cuts.
    """
    outputs = {output.name: output for output in model.graph.output}
    ordered = [outputs[name] for name in OUTPUT_NAMES]
    for output in ordered:
        if output.name != "study_probs":
            output.type.tensor_type.shape.dim[0].dim_param = INPUT_NAME
    del model.graph.output[:]
    model.graph.output.extend(ordered)
    del model.graph.value_info[:]
    model.graph.value_info.append(
        onnx.helper.make_tensor_value_info(FEATURES_NAME, onnx.TensorProto.FLOAT, [INPUT_NAME, feature_size])
    )


def export_onnx(net: HemorrhageNet, info: ModelInfo, out: Path) -> Path:
    """Export to the file ``out`` (weights inline) and return it."""
    model = export_model(net, info)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    onnx.save_model(model, tmp)
    tmp.replace(out)
    logger.info("exported %s %s to %s", info.name, info.version, out)
    return out


def cached_onnx(net: HemorrhageNet, info: ModelInfo, cache_dir: Path) -> Path:
    """The exported ONNX file of this model in ``cache_dir``, exporting it on first use."""
    path = cache_dir / f"{info.name}-{info.model_hash[:16]}-opset{OPSET}.onnx"
    if path.is_file():
        logger.debug("using cached ONNX export %s", path)
        return path
    return export_onnx(net, info, path)


def file_hash(path: Path) -> str:
    """sha256 of a file, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def split_model(model: onnx.ModelProto) -> tuple[onnx.ModelProto, onnx.ModelProto]:
    """Split the whole model at ``features`` into (encoder part, sequence part)."""
    names = {o.name for o in model.graph.output} | {i.name for i in model.graph.input}
    missing = ({INPUT_NAME, *OUTPUT_NAMES}) - names
    if missing:
        raise ExportError(f"ONNX model lacks the inputs/outputs {sorted(missing)} this package exports")
    try:
        extractor = onnx.utils.Extractor(model)
        encoder = extractor.extract_model([INPUT_NAME], [FEATURES_NAME, "saliency"])
        sequence = extractor.extract_model([FEATURES_NAME], ["slice_probs", "study_probs"])
    except Exception as exc:
        raise ExportError(f"ONNX model cannot be split at tensor {FEATURES_NAME!r}: {exc}") from exc
    return encoder, sequence


def model_metadata(model: onnx.ModelProto) -> dict[str, str]:
    """The metadata properties written by :func:`export_model`."""
    return {prop.key: prop.value for prop in model.metadata_props}
