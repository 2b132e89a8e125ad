"""Re-choosing the operating points of trained weights (``dicomnode model operating-point``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from inference.ich.checkpoint import load_checkpoint, sidecar_path
from inference.ich.evaluation.operating_point import operating_points, record_operating_points
from inference.ich.evaluation.predict import predict_source
from inference.ich.training.sources import PhantomSource

VALIDATION = ["--seeds", "11-20", "--size", "32"]


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from dicomnode.cli import main

    out = tmp_path_factory.mktemp("run")
    result = CliRunner().invoke(main, [
        "train", "--source", "phantoms", "--out", str(out), "--epochs", "1,1,0", "--steps", "2,2,0",
        "--train-seeds", "1-4", "--val-seeds", "11-14", "--phantom-size", "32", "--input-size", "32",
        "--width", "4", "--lstm-hidden", "8", "--threads", "1", "--no-progress",
    ])
    assert result.exit_code == 0, result.output
    return out / "hemorrhage.pt"


def _copy(weights: Path, folder: Path) -> Path:
    folder.mkdir()
    for path in (weights, sidecar_path(weights)):
        (folder / path.name).write_bytes(path.read_bytes())
    return folder / weights.name


def test_dry_run_prints_and_leaves_the_sidecar_alone(weights: Path, tmp_path: Path) -> None:
    from dicomnode.cli import main

    copy = _copy(weights, tmp_path / "w")
    before = sidecar_path(copy).read_bytes()
    result = CliRunner().invoke(main, ["model", "operating-point", "--weights", str(copy), *VALIDATION])
    assert result.exit_code == 0, result.output
    assert "| any |" in result.output and "not written" in result.output
    assert sidecar_path(copy).read_bytes() == before


def test_write_flags_every_validation_bleed_and_records_the_change(weights: Path, tmp_path: Path) -> None:
    from dicomnode.cli import main

    copy = _copy(weights, tmp_path / "w")
    old = json.loads(sidecar_path(copy).read_text())
    _, old_info = load_checkpoint(copy)
    result = CliRunner().invoke(main, ["model", "operating-point", "--weights", str(copy), *VALIDATION,
                                       "--min-sensitivity", "1.0", "--write"])
    assert result.exit_code == 0, result.output
    meta = json.loads(sidecar_path(copy).read_text())
    net, info = load_checkpoint(copy)
    assert info.model_hash == old_info.model_hash
    assert info.threshold == meta["threshold"] == meta["operating_points"]["study"]["thresholds"]["any"]
    probs, labels, _ = predict_source(net, PhantomSource(range(11, 21), size=32, input_size=32)).level("study")
    assert 0 < labels[:, 0].sum() < len(labels)
    assert (probs[labels[:, 0] > 0, 0] >= info.threshold).all()
    [change] = meta["operating_point_changes"]
    assert change["key"] == "study" and change["min_sensitivity"] == 1.0
    assert change["previous_threshold"] == old["threshold"]
    assert change["previous"] == old["operating_points"]["study"]
    assert change["options"]["seeds"] == "11-20"


def test_calibrated_weights_get_thresholds_on_the_calibrated_scale(weights: Path, tmp_path: Path) -> None:
    from dicomnode.cli import main

    copy = _copy(weights, tmp_path / "w")
    meta = json.loads(sidecar_path(copy).read_text())
    meta["calibration"] = {"method": "temperature", "temperatures": {"any": 3.0}}
    sidecar_path(copy).write_text(json.dumps(meta))
    result = CliRunner().invoke(main, ["model", "operating-point", "--weights", str(copy), *VALIDATION,
                                       "--min-sensitivity", "1.0", "--write"])
    assert result.exit_code == 0, result.output
    net, info = load_checkpoint(copy)
    assert info.calibration is not None and info.calibration.temperature("any") == 3.0
    source = PhantomSource(range(11, 21), size=32, input_size=32)
    raw, labels, _ = predict_source(net, source).level("study")
    calibrated, _, _ = predict_source(net, source, calibration=info.calibration).level("study")
    assert np.abs(calibrated - info.calibration.apply(raw)).max() <= 1e-6
    assert (calibrated[labels[:, 0] > 0, 0] >= info.threshold).all()


def test_refuses_a_sensitivity_below_the_floor(weights: Path) -> None:
    from dicomnode.cli import main

    result = CliRunner().invoke(main, ["model", "operating-point", "--weights", str(weights), "--min-sensitivity", "0.9"])
    assert result.exit_code == 2 and "--min-sensitivity" in result.output


def test_slice_level_points_are_not_stored(weights: Path) -> None:
    net, _ = load_checkpoint(weights)
    points = operating_points(net, PhantomSource([11, 12, 13], size=32, input_size=32), "slice")
    with pytest.raises(ValueError, match="levels"):
        record_operating_points(weights, points, {})
    assert np.isfinite(list(points["thresholds"].values())).all()
