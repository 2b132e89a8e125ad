"""``dicomnode phantom``: writes the DICOM files and ground_truth.json."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
from click.testing import CliRunner

from dicomnode.cli import main


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["phantom", *args])
    return result.exit_code, result.output


def test_writes_a_forced_subtype_study_and_its_ground_truth(tmp_path: Path) -> None:
    out = tmp_path / "study"
    code, output = run("--out", str(out), "--subtype", "IVH", "--slices", "8", "--seed", "3", "--size", "64")
    assert code == 0, output
    files = sorted(out.glob("*.dcm"))
    assert len(files) == 8
    truth = json.loads((out / "ground_truth.json").read_text())
    assert truth["seed"] == 3 and truth["request"] == "IVH"
    assert truth["study"]["intraventricular"] == 1 and truth["study"]["any"] == 1
    assert sum(truth["study"].values()) == 2
    uids = [pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID for f in files]
    assert list(truth["slices"]) == uids
    assert any(entry["intraventricular"] for entry in truth["slices"].values())
    assert "seed 3" in output and "intraventricular" in output


def test_negative_study_and_lower_case_subtype(tmp_path: Path) -> None:
    code, output = run("--out", str(tmp_path / "neg"), "--subtype", "none", "--slices", "4", "--seed", "9", "--size", "32")
    assert code == 0, output
    truth = json.loads((tmp_path / "neg" / "ground_truth.json").read_text())
    assert not any(truth["study"].values())
    code, output = run("--out", str(tmp_path / "edh"), "--subtype", "edh", "--slices", "6", "--seed", "9", "--size", "32")
    assert code == 0, output
    assert json.loads((tmp_path / "edh" / "ground_truth.json").read_text())["study"]["epidural"] == 1


def test_same_seed_gives_the_same_uids(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert run("--out", str(tmp_path / name), "--slices", "3", "--seed", "11", "--size", "32")[0] == 0
    a = json.loads((tmp_path / "a" / "ground_truth.json").read_text())
    b = json.loads((tmp_path / "b" / "ground_truth.json").read_text())
    assert a == b


def test_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "other.txt").write_text("x")
    code, output = run("--out", str(tmp_path), "--slices", "2", "--seed", "1", "--size", "32")
    assert code == 2 and "not empty" in output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.txt"]


def test_rejects_an_unknown_subtype(tmp_path: Path) -> None:
    code, output = run("--out", str(tmp_path / "x"), "--subtype", "XYZ")
    assert code == 2 and "XYZ" in output
