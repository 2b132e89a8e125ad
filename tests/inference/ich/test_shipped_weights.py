"""The weights shipped in the package: present, small, trained, loadable by every path, documented."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inference.ich.checkpoint import SHIPPED_WEIGHTS, load_model, sidecar_path
from inference.ich.evaluation.calibration import Calibration

MODEL_CARD = Path(__file__).resolve().parents[3] / "inference" / "ich" / "MODEL_CARD.md"

CALIBRATION_COMMANDS = ("python -m inference.ich.evaluation.validation_calibration",
                        "python -m inference.evaluation.validation_calibration")
"""The calibration command as sidecars record it, after and before the model moved to ``inference/ich/``."""

pytestmark = pytest.mark.skipif(not SHIPPED_WEIGHTS.is_file(), reason="no shipped weights in this checkout")


def test_shipped_weights_are_small_trained_and_load_by_default() -> None:
    assert SHIPPED_WEIGHTS.stat().st_size < 30 * 1024 * 1024
    net, info = load_model(None)
    assert info.trained and info.version != "untrained-random-init"
    assert info.weights_path == str(SHIPPED_WEIGHTS)
    assert 0.0 < info.threshold < 1.0
    meta = json.loads(sidecar_path(SHIPPED_WEIGHTS).read_text())
    assert meta["threshold"] == meta["operating_points"]["study"]["thresholds"]["any"]
    assert meta["operating_points"]["study"]["min_sensitivity"] >= 0.95
    assert meta["training"]["command"].startswith("dicomnode train")
    assert net.config.to_dict() == meta["config"]


def test_shipped_calibration_moved_the_thresholds_it_found() -> None:
    _, info = load_model(None)
    meta = json.loads(sidecar_path(SHIPPED_WEIGHTS).read_text())
    assert info.calibration is not None and info.calibration == Calibration.from_sidecar(meta)
    entry = meta["calibration"]
    assert entry["method"] == "temperature" and set(entry["temperatures"]) == set(meta["operating_points"]["study"]["thresholds"])
    assert "in-sample" in entry["note"] and entry["command"].startswith(CALIBRATION_COMMANDS)
    change = meta["operating_point_changes"][-1]
    assert change["command"] == entry["command"] and change["previous_threshold"] != meta["threshold"]
    for label, before in change["previous"]["thresholds"].items():
        assert meta["operating_points"]["study"]["thresholds"][label] == info.calibration.threshold(label, before)
    assert change["previous"]["auc"] == meta["operating_points"]["study"]["auc"]


def test_model_card_names_the_weights_and_its_limits() -> None:
    card = MODEL_CARD.read_text(encoding="utf-8")
    _, info = load_model(None)
    assert info.model_hash[:16] in card
    assert "not for diagnostic use" in card.lower()
    assert "dicomnode model evaluate" in card and "dicomnode train" in card


def test_shipped_weights_give_one_prediction_on_torch_and_onnxruntime(tmp_path: Path) -> None:
    """The two CPU sessions of the predictor, on a phantom bleed read back from DICOM, agree to float precision."""
    import numpy as np
    import pydicom

    from inference.ich.phantoms import generate_study
    from inference.ich.phantoms.dicom_writer import write_dicom
    from inference.ich.sessions import build_predictor
    from inference.ich.volume import Volume

    files = write_dicom(generate_study(4242, subtype="IPH", n_slices=20, size=256), tmp_path / "study")
    volume = Volume.from_datasets([pydicom.dcmread(f) for f in files])
    net, info = load_model(None)
    by_torch, by_ort = (build_predictor(net, info, backend=backend, device="cpu", cache_dir=tmp_path / "cache").predict(volume)
                        for backend in ("torch", "onnxruntime"))
    assert (by_torch.backend, by_ort.backend) == ("torch:cpu", "onnxruntime:CPUExecutionProvider")
    assert by_torch.study_probs[0] > info.threshold  # the bleed is found, so the comparison covers a positive study
    assert np.abs(by_torch.slice_probs - by_ort.slice_probs).max() <= 1e-4
    assert np.abs(by_torch.study_probs - by_ort.study_probs).max() <= 1e-4
    assert np.abs(by_torch.saliency - by_ort.saliency).max() <= 1e-3
