"""The real CQ500 series (238 slices, JPEG lossless, 8.5 degree tilt) through every CPU engine."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from inference.errors import InconsistentSeriesError
from inference.ich.preprocess import preprocess
from inference.ich.sessions import build_predictor
from inference.ich.volume import Volume

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


@pytest.fixture(scope="module")
def cq500_volume(cq500_series) -> Volume:
    series = cq500_series
    return Volume.from_datasets([pydicom.dcmread(path) for path in sorted(series.glob("*.dcm"))])


def test_cq500_loads_sorted_with_its_tilt(cq500_volume):
    volume = cq500_volume
    assert volume.hu.shape == (238, 512, 512)
    assert volume.tilt_degrees == pytest.approx(8.5, abs=0.05)
    assert volume.spacing[0] == pytest.approx(0.625 * np.cos(np.radians(8.5)), abs=1e-3)
    assert np.all(np.diff(volume.positions @ volume.normal) > 0)
    assert len(set(volume.sop_instance_uids)) == 238
    brain = volume.hu[120, 200:300, 200:300]
    assert -50 < float(np.median(brain)) < 100  # soft tissue of the brain in HU
    assert volume.hu.min() < -900  # air


def test_cq500_preprocesses(cq500_volume):
    batch = preprocess(cq500_volume.hu[100:104])
    assert batch.shape == (4, 3, 256, 256)
    assert 0.2 < float(batch[:, 0].mean()) < 0.8


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_cq500_runs_through_every_cpu_engine(cq500_volume, random_net, onnx_path, backend, tmp_path):
    net, info = random_net
    cache = onnx_path.parent if backend == "onnxruntime" else tmp_path
    engine = build_predictor(net, info, backend=backend, device="cpu", cache_dir=cache)
    prediction = engine.predict(cq500_volume)
    assert prediction.slice_probs.shape == (238, 6)
    assert prediction.saliency.shape == (238, 8, 8)
    assert np.isfinite(prediction.study_probs).all()
    assert prediction.sop_instance_uids == cq500_volume.sop_instance_uids


def test_stray_slice_of_another_patient_is_refused(cq500_series):
    stray = sorted((cq500_series.parent / "stray").glob("*.dcm"))
    if not stray:
        pytest.skip("no stray slice in the CQ500 folder")
    datasets = [pydicom.dcmread(path) for path in sorted(cq500_series.glob("*.dcm"))[:3] + stray]
    with pytest.raises(InconsistentSeriesError, match="SeriesInstanceUID differs"):
        Volume.from_datasets(datasets)
