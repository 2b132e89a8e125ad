"""Bone is not blood: slices without brain carry no finding, saliency stays inside the skull."""

from __future__ import annotations

import numpy as np
import pytest

from inference.ich.phantoms import generate_study
from inference.ich.postprocess import GATE_CM2, restrict_to_brain, series_intracranial_mask, slice_gate
from inference.ich.prediction import Prediction
from inference.ich.sessions import build_predictor
from inference.ich.volume import Volume

SPACING = (5.0, 1.0, 1.0)


def _mask(areas_cm2: list[float], size: int = 64) -> np.ndarray:
    mask = np.zeros((len(areas_cm2), size, size), bool)
    for i, area in enumerate(areas_cm2):
        pixels = int(round(area * 100))  # 1 mm pixels: 100 per cm2
        mask[i].flat[:pixels] = True
    return mask


def test_slice_gate_is_zero_without_brain_and_one_with_enough():
    gate = slice_gate(_mask([0.0, GATE_CM2[0], 15.0, GATE_CM2[1], 40.0]), SPACING)
    np.testing.assert_allclose(gate, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-6)


def test_a_finding_cannot_rest_on_slices_without_brain():
    slice_probs = np.array([[0.99] * 6, [0.2] * 6, [0.1] * 6], np.float32)  # the vertex cap scores high
    study = np.full(6, 0.97, np.float32)
    gated, study_out, _ = restrict_to_brain(slice_probs, study, None, _mask([1.0, 30.0, 30.0]), SPACING)
    np.testing.assert_allclose(gated[0], 0.0)
    np.testing.assert_allclose(gated[1:], slice_probs[1:])
    np.testing.assert_allclose(study_out, 0.2)  # no higher than the best slice with brain
    kept, study_kept, _ = restrict_to_brain(slice_probs, study, None, _mask([30.0, 30.0, 30.0]), SPACING)
    np.testing.assert_allclose(kept, slice_probs)
    np.testing.assert_allclose(study_kept, study)


def test_saliency_is_zero_outside_the_intracranial_space():
    mask = np.zeros((1, 64, 64), bool)
    mask[0, 16:48, 16:48] = True
    saliency = np.ones((1, 8, 8), np.float32)
    _, _, clipped = restrict_to_brain(np.full((1, 6), 0.5, np.float32), np.full(6, 0.5, np.float32), saliency,
                                      mask, (5.0, 3.0, 3.0))
    assert clipped[0, 0, 0] == 0 and clipped[0, 4, 4] == 1
    prediction = Prediction(np.zeros((1, 6), np.float32), np.zeros(6, np.float32), clipped, ("1",), intracranial=mask)
    full = prediction.saliency_map(0, 128, 128)
    assert full[~np.kron(mask[0], np.ones((2, 2), bool))].max() == 0
    assert full[64, 64] > 0.9


def test_mask_planes_at_most_2_5_mm_apart_cover_every_slice():
    study = generate_study(5, subtype="none", n_slices=12, size=128)
    spacing = (0.625, *study.geometry.pixel_spacing)
    mask = series_intracranial_mask(study.hu.astype(np.float32), spacing)
    assert mask.shape == study.hu.shape and mask.any()
    assert np.array_equal(mask[1], mask[0])  # planes 0, 4, 8 and the last are computed, others copied


def test_engine_output_is_restricted_to_the_brain(random_net, tmp_path):
    net, info = random_net
    study = generate_study(7, subtype="none", n_slices=6, size=128)
    n = study.hu.shape[0]
    volume = Volume(study.hu.astype(np.float32), (5.0, *study.geometry.pixel_spacing), np.array([[1.0, 0, 0], [0, 1, 0]]),
                    np.array([[0, 0, 5.0 * i] for i in range(n)]), 0.0, tuple(str(i) for i in range(n)))
    prediction = build_predictor(net, info, backend="torch", device="cpu", cache_dir=tmp_path).predict(volume)
    gate = slice_gate(prediction.intracranial, volume.spacing)
    assert (prediction.slice_probs[gate == 0] == 0).all()
    assert (prediction.study_probs <= prediction.slice_probs.max(axis=0) + 1e-7).all()
    outside = ~prediction.intracranial[n // 2]
    assert prediction.saliency_map(n // 2, 128, 128)[outside].max() == 0


@pytest.mark.realdata
@pytest.mark.slow
def test_real_series_findings_rest_on_slices_with_brain():
    import pydicom

    from inference.ich.checkpoint import load_model
    from tests.inference.ich.conftest import CQ500_SERIES

    if not CQ500_SERIES.is_dir():
        pytest.skip(f"CQ500 series not found at {CQ500_SERIES}")
    volume = Volume.from_datasets([pydicom.dcmread(p) for p in sorted(CQ500_SERIES.glob("*.dcm"))])
    net, info = load_model(None)
    prediction = build_predictor(net, info, backend="torch", device="cpu").predict(volume)
    gate = slice_gate(prediction.intracranial, volume.spacing)
    assert (gate == 0).sum() >= 10  # vertex cap and below the foramen magnum
    assert (prediction.slice_probs[gate == 0] == 0).all()
    top = int(np.argmax(prediction.slice_probs[:, 0]))
    assert gate[top] == 1.0, f"the top 'any' slice {top} has little brain"


def test_saliency_share_counts_cells_as_torch_pools_them():
    import torch
    import torch.nn.functional as F

    from inference.ich.postprocess import saliency_share

    mask = np.random.default_rng(1).random((3, 64, 48)) > 0.4
    pooled = F.adaptive_avg_pool2d(torch.from_numpy(mask.astype(np.float32))[:, None], (8, 8))[:, 0].numpy()
    np.testing.assert_allclose(saliency_share(mask, (8, 8)), pooled, atol=1e-6)
    odd = saliency_share(mask[:, :61, :45], (8, 8))
    assert odd.shape == (3, 8, 8) and odd.dtype == np.float32
