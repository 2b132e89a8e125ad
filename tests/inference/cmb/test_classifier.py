"""The classifier as a runtime session: torch and ONNX Runtime agree on real candidate patches of a phantom."""

from __future__ import annotations

import numpy as np
import pytest

from inference.cmb.candidates import screen
from inference.cmb.classifier import INPUT_NAME, OUTPUT_NAME, classifier_session
from inference.cmb.detector import detect, load_model
from inference.cmb.patches import extract_patches
from inference.cmb.phantom.study import generate_swi_phantom
from inference.cmb.preprocess import prepare
from inference.errors import BackendUnavailableError

pytestmark = pytest.mark.slow   # a 24-slice phantom and an ONNX export: about 20 s


@pytest.fixture(scope="module")
def phantom():
    return generate_swi_phantom(9002, n_slices=24, n_microbleeds=4, n_calcifications=2)


@pytest.fixture(scope="module")
def patches(phantom):
    prep = prepare(phantom.magnitude, phantom.phase, phantom.spacing_mm, phantom.affine)
    voxels = [c.voxel for c in screen(prep.swi, prep.mask, prep.spacing_mm)]
    assert len(voxels) >= 4
    return extract_patches(prep.swi, prep.hp_phase, voxels)


def test_torch_and_onnxruntime_agree_on_candidate_patches(patches):
    network = load_model().network
    torch_session, ort_session = (classifier_session(network, backend) for backend in ("torch", "onnxruntime"))
    assert torch_session.description == "torch:cpu" and ort_session.description == "onnxruntime:CPUExecutionProvider"
    assert ort_session.input_names == (INPUT_NAME,) and ort_session.output_names == (OUTPUT_NAME,)
    by_torch = torch_session.run({INPUT_NAME: patches})[OUTPUT_NAME]
    by_ort = ort_session.run({INPUT_NAME: patches})[OUTPUT_NAME]
    assert by_torch.shape == by_ort.shape == (len(patches),) and by_ort.dtype == np.float32
    assert by_torch.max() > 0.5 > by_torch.min()   # the patches hold microbleeds and mimics
    assert np.abs(by_torch - by_ort).max() <= 1e-4


def test_detection_is_the_same_on_either_backend(phantom):
    results = [detect(phantom.magnitude, phantom.phase, phantom.spacing_mm, load_model(backend=backend),
                      phantom.affine) for backend in ("torch", "onnxruntime")]
    assert results[0].microbleeds and results[0].n_candidates == results[1].n_candidates
    assert [m.voxel for m in results[0].microbleeds] == [m.voxel for m in results[1].microbleeds]
    np.testing.assert_allclose([m.probability for m in results[0].microbleeds],
                               [m.probability for m in results[1].microbleeds], atol=1e-4)


def test_unknown_backend_is_refused():
    with pytest.raises(BackendUnavailableError, match="torch or onnxruntime"):
        classifier_session(load_model().network, "tensorrt")
