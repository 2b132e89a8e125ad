"""Abstention: :func:`inference.ich.domain.assess_domain` on phantoms made out of domain, and on real head CT."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from inference.ich.domain import CONTRAST_MAX_ML, assess_domain
from inference.ich.intracranial import intracranial_mask
from inference.ich.phantoms import generate_study
from inference.ich.volume import Volume
from tests.inference.ich.conftest import CQ500_SERIES, SHARED_DATA


def _volume(hu: np.ndarray, spacing: tuple[float, float, float]) -> Volume:
    n = hu.shape[0]
    positions = np.array([[0.0, 0.0, i * spacing[0]] for i in range(n)])
    return Volume(hu.astype(np.float32), spacing, np.array([[1.0, 0, 0], [0, 1.0, 0]]), positions, 0.0,
                  tuple(f"1.2.3.{i}" for i in range(n)))


def _header(**attributes: object) -> Dataset:
    ds = Dataset()
    ds.Modality = "CT"
    ds.BitsStored = 12
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


@pytest.fixture(scope="module")
def phantom() -> tuple[np.ndarray, tuple[float, float, float], np.ndarray]:
    study = generate_study(3, subtype="none", n_slices=16, size=192)
    spacing = (float(study.geometry.slice_thickness), *(float(v) for v in study.geometry.pixel_spacing))
    hu = study.hu.astype(np.float32)
    return hu, spacing, intracranial_mask(hu, spacing)


def test_a_plain_phantom_head_ct_is_in_domain(phantom):
    hu, spacing, mask = phantom
    result = assess_domain(_volume(hu, spacing), [_header(BodyPartExamined="HEAD")], mask)
    assert result.in_domain, result.reasons
    assert result.reasons == ()
    assert result.measurements["intracranial_ml"] > 100


def test_contrast_is_out_of_domain_by_header_and_by_enhancing_vessels(phantom):
    hu, spacing, mask = phantom
    by_header = assess_domain(_volume(hu, spacing), [_header(ContrastBolusAgent="Iohexol 350")], mask)
    assert not by_header.in_domain and "Contrast/Bolus Agent" in by_header.reasons[0]
    assert assess_domain(_volume(hu, spacing), [_header(ContrastBolusAgent="NONE")], mask).in_domain
    # enhancing vessels: tubes of 250 HU through the deep brain
    enhanced = hu.copy()
    z, y, x = np.nonzero(mask)
    cy, cx = int(np.median(y)), int(np.median(x))
    for dy in (-12, 0, 12):
        enhanced[:, cy + dy - 2 : cy + dy + 2, cx - 25 : cx + 25][mask[:, cy + dy - 2 : cy + dy + 2, cx - 25 : cx + 25]] = 250.0
    result = assess_domain(_volume(enhanced, spacing), [_header()], mask)
    assert not result.in_domain
    assert any("contrast-enhanced" in reason for reason in result.reasons)
    assert result.measurements["enhancing_ml"] > CONTRAST_MAX_ML


def test_metal_next_to_the_brain_is_out_of_domain(phantom):
    hu, spacing, mask = phantom
    clipped = hu.copy()
    z, y, x = np.nonzero(mask)
    k = len(z) // 2
    clipped[z[k], y[k] - 2 : y[k] + 3, x[k] - 2 : x[k] + 3] = 3071.0  # an aneurysm clip
    result = assess_domain(_volume(clipped, spacing), [_header()], mask)
    assert not result.in_domain and any("metal" in reason for reason in result.reasons)


def test_prewindowed_8bit_export_is_out_of_domain(phantom):
    hu, spacing, _ = phantom
    windowed = np.clip(hu, 0, 80) / 80 * 255  # gray levels, no rescale to HU
    result = assess_domain(_volume(windowed, spacing), [_header(BitsStored=8)])
    assert not result.in_domain
    assert any("Bits Stored" in reason for reason in result.reasons)
    assert any("pre-windowed" in reason for reason in result.reasons)


def test_another_body_part_is_out_of_domain(phantom):
    hu, spacing, mask = phantom
    by_header = assess_domain(_volume(hu, spacing), [_header(BodyPartExamined="CHEST")], mask)
    assert not by_header.in_domain and "Body Part Examined" in by_header.reasons[0]
    # a trunk: soft tissue and air, bone but no skull ring around a brain
    trunk = np.full_like(hu, -1000.0)
    trunk[:, 30:160, 20:170] = 40.0
    trunk[:, 120:140, 85:105] = 700.0  # a vertebra
    result = assess_domain(_volume(trunk, spacing), [_header()])
    assert not result.in_domain and any("no skull enclosing a brain" in reason for reason in result.reasons)


def test_another_modality_is_out_of_domain(phantom):
    hu, spacing, mask = phantom
    result = assess_domain(_volume(hu, spacing), [_header(Modality="MR")], mask)
    assert not result.in_domain and "Modality" in result.reasons[0]


@pytest.mark.realdata
@pytest.mark.slow
def test_real_head_cts_are_in_domain():
    from inference.ich.realct.loaders import LOADERS, load_real_volume
    from inference.ich.realct.rsna_slices import _lenient_uids

    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    for name in LOADERS:
        real = load_real_volume(SHARED_DATA / "real-ct", name)
        result = assess_domain(_volume(real.hu, real.spacing), [_header()])
        assert result.in_domain, (name, result.reasons)
    with _lenient_uids():
        for path in sorted((SHARED_DATA / "rsna-slices").glob("*/*.dcm")):
            ds = pydicom.dcmread(path)
            result = assess_domain(Volume.from_datasets([ds]), [ds])
            assert result.in_domain, (path.name, result.reasons)
    datasets = [pydicom.dcmread(path) for path in sorted(CQ500_SERIES.glob("*.dcm"))]
    result = assess_domain(Volume.from_datasets(datasets), datasets)  # a pipeline check only
    assert result.in_domain, result.reasons
