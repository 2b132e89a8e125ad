"""``dicomnode model ...`` (the CLI lives in dicomnode/, its work in inference/)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from dicomnode.cli import main
from inference.ich.checkpoint import load_model
from inference.ich.labels import LABELS
from tests.factories import ct_slice


@pytest.fixture
def series_dir(tmp_path, make_series):
    folder = tmp_path / "series" / "nested"
    folder.mkdir(parents=True)
    series = make_series(n=3, rows=64, cols=64)
    for index, ds in enumerate(series[::-1]):
        ds.save_as(folder / f"slice{index}.dcm", enforce_file_format=True)
    (folder / "README.txt").write_text("not DICOM")
    return tmp_path / "series", [ds.SOPInstanceUID for ds in series]


@pytest.fixture
def env(cache_home, onnx_path, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    monkeypatch.delenv("DICOMNODE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./dicomnode.toml


def test_predict_json_shape_on_a_directory(series_dir, env):
    folder, uids = series_dir
    result = CliRunner().invoke(main, ["model", "predict", str(folder), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == ["study", "slices", "positive", "threshold", "model", "timings_ms"]
    assert list(data["study"]) == list(LABELS)
    assert [s["sop_instance_uid"] for s in data["slices"]] == uids
    assert all(set(s) == {"sop_instance_uid", *LABELS} for s in data["slices"])
    _, info = load_model(None)  # the shipped weights, else the seeded random init
    assert data["model"] == {"name": info.name, "version": info.version}
    assert data["threshold"] == info.threshold and isinstance(data["positive"], bool)
    assert {"load", "end_to_end", "preprocess", "encoder", "sequence", "total"} <= set(data["timings_ms"])
    assert ("no trained weights" in result.stderr) is not info.trained


def test_predict_single_slice_table_with_config(tmp_path, env):
    path = tmp_path / "one.dcm"
    ct_slice(np.full((64, 64), 1064), (0, 0, 0)).save_as(path, enforce_file_format=True)
    config = tmp_path / "node.toml"
    config.write_text('[inference]\nbackend = "torch"\nthreshold = 0.25\n')
    result = CliRunner().invoke(main, ["model", "predict", str(path), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "threshold 0.250" in result.stdout
    assert "backend: torch:cpu" in result.stdout
    assert "slices: 1" in result.stdout


def test_predict_reports_bad_input_clearly(tmp_path, env, make_series):
    series = make_series(n=2)
    del series[1].PixelData
    for index, ds in enumerate(series):
        ds.save_as(tmp_path / f"{index}.dcm", enforce_file_format=True)
    result = CliRunner().invoke(main, ["model", "predict", str(tmp_path), "--backend", "torch"])
    assert result.exit_code == 1
    assert "no Pixel Data (7FE0,0010)" in result.stderr
    (tmp_path / "notes.txt").write_text("hello")
    result = CliRunner().invoke(main, ["model", "predict", str(tmp_path / "notes.txt"), "--backend", "torch"])
    assert result.exit_code == 1 and "not a readable DICOM file" in result.stderr


def test_info_names_the_model_and_backends(env):
    result = CliRunner().invoke(main, ["model", "info"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    _, info = load_model(None)
    assert data["version"] == info.version and data["trained"] is info.trained
    assert data["labels"] == list(LABELS)
    assert data["backend"] == "onnxruntime" and "torch" in data["available_backends"]


def test_benchmark_prints_a_table_with_ratios(env):
    result = CliRunner().invoke(main, ["model", "benchmark", "--slices", "2", "--size", "64", "--repeats", "1"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1].split()[:3] == ["backend", "slices", "preprocess_ms"]
    assert any(line.startswith("torch:cpu") and "1.00x" in line for line in lines)
    assert any(line.startswith("onnxruntime:CPUExecutionProvider") for line in lines)
