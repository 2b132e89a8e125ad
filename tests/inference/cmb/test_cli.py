"""``dicomnode phantom --kind swi`` and ``dicomnode cmb predict`` from the command line."""

from __future__ import annotations

import json

import pydicom
from click.testing import CliRunner

from dicomnode.cli import main


def test_phantom_swi_writes_two_mr_series_and_truth(tmp_path):
    out = tmp_path / "swi"
    result = CliRunner().invoke(main, ["phantom", "--kind", "swi", "--out", str(out), "--seed", "4", "--slices", "6"])
    assert result.exit_code == 0, result.output
    files = sorted(out.glob("*.dcm"))
    assert len(files) == 12
    datasets = [pydicom.dcmread(f) for f in files]
    assert {tuple(ds.ImageType)[:3] for ds in datasets} == {("ORIGINAL", "PRIMARY", "M"), ("ORIGINAL", "PRIMARY", "P")}
    assert len({ds.SeriesInstanceUID for ds in datasets}) == 2
    assert len({ds.FrameOfReferenceUID for ds in datasets}) == 1
    assert {ds.Modality for ds in datasets} == {"MR"}
    truth = json.loads((out / "ground_truth.json").read_text())
    assert truth["seed"] == 4 and len(truth["files"]) == 12


def test_predict_prints_json_with_count_and_phase_convention(tmp_path):
    out = tmp_path / "swi"
    assert CliRunner().invoke(main, ["phantom", "--kind", "swi", "--out", str(out), "--seed", "4",
                                     "--slices", "10", "--phase-encoding", "radians"]).exit_code == 0
    result = CliRunner().invoke(main, ["cmb", "predict", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["phase_convention"] == "radians" and body["count"] == len(body["microbleeds"])
    assert body["model"]["name"] == "cmb-resnet3d"


def test_predict_refuses_magnitude_only_with_the_reason(tmp_path):
    out = tmp_path / "swi"
    assert CliRunner().invoke(main, ["phantom", "--kind", "swi", "--out", str(out), "--seed", "4",
                                     "--slices", "6"]).exit_code == 0
    result = CliRunner().invoke(main, ["cmb", "predict", *map(str, sorted(out.glob("MAG*.dcm")))])
    assert result.exit_code != 0 and "no-phase" in result.output
