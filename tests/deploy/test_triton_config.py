"""config.pbtxt: the shipped files parse (with Triton's own proto and with ours) and match the exported model."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest

from inference.ich.export import FEATURES_NAME, INPUT_NAME, split_model
from inference.ich.triton_repository import main, model_names, write_repository
from inference.runtime.triton_config import ModelSpec, TensorSpec, parse_config, parse_pbtxt, render, spec_from_json, spec_from_onnx
from tests.deploy.conftest import DEPLOY
from tests.deploy.kserve_standin import read_config

SHIPPED = {
    "onnxruntime_onnx": DEPLOY / "triton" / "model_repository",
    "tensorrt_plan": DEPLOY / "triton" / "model_repository_tensorrt",
}


@pytest.mark.parametrize("platform", sorted(SHIPPED))
def test_shipped_config_matches_the_exported_model(exported, platform):
    model, _ = exported
    encoder, sequence = split_model(model)
    for name, part in zip(model_names(), (encoder, sequence)):
        path = SHIPPED[platform] / name / "config.pbtxt"
        ours = parse_config(path.read_text())
        theirs = spec_from_json(read_config(path))  # Triton's ModelConfig proto via protobuf text_format
        assert ours == theirs
        assert ours.name == name and ours.platform == platform and ours.max_batch_size == 0
        assert ours.interface() == spec_from_onnx(part, name, platform).interface()
        for tensor in (*ours.inputs, *ours.outputs):
            assert tensor.data_type == "TYPE_FP32"
            if tensor.name != "study_probs":
                assert tensor.dims[0] == -1, f"{path}: {tensor.name} must have a dynamic slice axis"
        assert ours.instance_kind == ("KIND_GPU" if platform == "tensorrt_plan" else None)


def test_shipped_interface_is_the_engines_contract(exported):
    encoder = parse_config((SHIPPED["onnxruntime_onnx"] / "ich_encoder" / "config.pbtxt").read_text())
    sequence = parse_config((SHIPPED["onnxruntime_onnx"] / "ich_sequence" / "config.pbtxt").read_text())
    size = exported[1].config.input_size
    assert encoder.inputs == (TensorSpec(INPUT_NAME, "TYPE_FP32", (-1, 3, size, size)),)
    assert [t.name for t in encoder.outputs] == [FEATURES_NAME, "saliency"]
    assert sequence.inputs[0].name == FEATURES_NAME and sequence.inputs[0].dims == encoder.outputs[0].dims
    assert [(t.name, t.dims) for t in sequence.outputs] == [("slice_probs", (-1, 6)), ("study_probs", (6,))]


@pytest.mark.parametrize("platform", sorted(SHIPPED))
def test_shipped_files_are_exactly_what_the_writer_produces(exported, tmp_path, platform):
    """The shipped configurations are regenerated, not hand-edited: `--config-only` reproduces them byte for byte."""
    model, info = exported
    written = write_repository(model, tmp_path, platform, info=info, config_only=True)
    assert len(written) == 2
    for path in written:
        shipped = SHIPPED[platform] / path.parent.name / "config.pbtxt"
        assert path.read_text() == shipped.read_text(), f"regenerate {shipped} with python -m inference.ich.triton_repository"


def test_repository_with_models_carries_identity_and_loadable_onnx(repository, exported):
    _, info = exported
    for name in model_names():
        spec = parse_config((repository / name / "config.pbtxt").read_text())
        assert spec.parameters == {"model_name": info.name, "model_version": info.version, "model_hash": info.model_hash}
        graph = onnx.load_model(repository / name / "1" / "model.onnx")
        assert spec.interface() == spec_from_onnx(graph, name).interface()


def test_tensorrt_repository_writes_parts_and_trtexec_profiles(exported, tmp_path):
    model, info = exported
    parts = tmp_path / "parts"
    written = write_repository(model, tmp_path / "repo", "tensorrt", info=info, parts_dir=parts, batch_size=8)
    assert {p.name for p in written} == {"config.pbtxt", "ich_encoder.onnx", "ich_sequence.onnx", "build_plans.sh"}
    script = (parts / "build_plans.sh").read_text()
    size = info.config.input_size
    assert f"--minShapes=slices:1x3x{size}x{size}" in script and f"--maxShapes=slices:8x3x{size}x{size}" in script
    assert "--maxShapes=features:512x" in script and "--fp16" in script
    assert f"--saveEngine={tmp_path / 'repo' / 'ich_encoder' / '1' / 'model.plan'}" in script
    assert not list((tmp_path / "repo").rglob("*.onnx")), "Triton would find stray ONNX files in a TensorRT repository"


def test_cli_writes_the_shipped_configs(exported, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("inference.ich.triton_repository.export_model", lambda net, info: exported[0])
    assert main(["--out", str(tmp_path), "--config-only"]) == 0
    printed = capsys.readouterr().out.split()
    assert sorted(Path(p).parent.name for p in printed) == ["ich_encoder", "ich_sequence"]
    assert (tmp_path / "ich_encoder" / "config.pbtxt").read_text() == (SHIPPED["onnxruntime_onnx"] / "ich_encoder" / "config.pbtxt").read_text()


def test_render_and_parse_round_trip():
    spec = ModelSpec(
        "m", "tensorrt_plan", (TensorSpec("x", "TYPE_FP16", (-1, 3)),), (TensorSpec("y", "TYPE_FP32", (2,)),),
        instance_kind="KIND_GPU", instance_count=2, parameters={"model_hash": 'a"b\\c', "v": "1"},
    )
    assert parse_config(render(spec, "comment\nline two")) == spec


def test_parser_reads_general_text_format():
    text = """
    # comment
    name: "a" 'b'   # adjacent strings concatenate
    max_batch_size: 8
    input [ { name: "x" dims: [ -1, 4 ] }, { name: "y", dims: 1 dims: 2 } ]
    dynamic_batching < preferred_batch_size: [ 4, 8 ] max_queue_delay_microseconds: 100 >
    optimization { execution_accelerators { gpu_execution_accelerator : [ { name : "tensorrt" } ] } }
    flag: true ratio: 0.5
    """
    fields = parse_pbtxt(text)
    assert fields["name"] == ["ab"] and fields["max_batch_size"] == [8]
    assert [entry["dims"] for entry in fields["input"]] == [[-1, 4], [1, 2]]
    assert fields["dynamic_batching"][0]["preferred_batch_size"] == [4, 8]
    accel = fields["optimization"][0]["execution_accelerators"][0]["gpu_execution_accelerator"]
    assert accel == [{"name": ["tensorrt"]}]
    assert fields["flag"] == [True] and fields["ratio"] == [0.5]


@pytest.mark.parametrize("text, message", [
    ('name: "a"\ninput {', "missing '}'"),
    ("name: @", "unexpected character"),
    ("input { name: }", "expected a value"),
])
def test_parser_reports_syntax_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_pbtxt(text)


def test_missing_required_field_is_named():
    with pytest.raises(ValueError, match="'name' is missing"):
        parse_config('platform: "onnxruntime_onnx"')
