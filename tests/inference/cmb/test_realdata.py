"""Smoke test on the real 3-echo GRE crop (CLEARSWI test data, no labels): the whole path runs."""

from __future__ import annotations

import numpy as np
import pytest

from inference.cmb.detector import detect, load_model
from tests.inference.cmb.conftest import SWI_CROP
from tests.inference.cmb.nifti import read_nifti1

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def crop():
    if not SWI_CROP.exists():
        pytest.skip(f"{SWI_CROP} absent (../shared/data is not part of a clone)")
    magnitude, pixdim = read_nifti1(SWI_CROP / "Mag.nii")
    phase, _ = read_nifti1(SWI_CROP / "Phase.nii")
    echo = 2                                              # TE 12 ms, the echo nearest the method's 20 ms
    mag = np.ascontiguousarray(magnitude[..., echo].transpose(2, 1, 0))
    ph = phase[..., echo].transpose(2, 1, 0)
    ph = np.ascontiguousarray(ph * np.float32(np.pi / np.abs(phase).max()))   # stored scaled to about +-0.00367
    return mag, ph, (pixdim[2], pixdim[1], pixdim[0])


def test_crop_reads_as_documented(crop):
    mag, ph, spacing = crop
    assert mag.shape == (20, 40, 40)
    assert spacing == pytest.approx((1.0, 0.46875, 0.46875))
    assert ph.min() < -3.0 and ph.max() > 3.0                # wrapped phase spans -pi..pi after rescaling


@pytest.mark.parametrize("with_phase", [True, False])
def test_whole_path_runs_on_the_real_crop(crop, with_phase):
    mag, ph, spacing = crop
    result = detect(mag, ph if with_phase else None, spacing, load_model())
    assert isinstance(result.microbleeds, list)
    assert result.magnitude_only is (not with_phase)
    assert bool(result.notes) or with_phase
    for finding in result.microbleeds:
        assert finding.probability >= result.threshold
        assert all(0 <= v < n for v, n in zip(finding.voxel, mag.shape))
    assert result.timings_ms["total"] > 0
