"""The SWI phantom's physics: phase sign of para- and diamagnetic sources, blooming, veins elongated."""

from __future__ import annotations

import numpy as np
import pytest

from inference.cmb.phantom.anatomy import Grid, Tissue
from inference.cmb.phantom.physics import dipole_field, tissue_signal, Sequence
from inference.cmb.phantom.study import generate_swi_phantom
from inference.cmb.phase import homodyne_highpass


@pytest.fixture(scope="module")
def phantom():
    return generate_swi_phantom(7, n_slices=40, n_microbleeds=5, n_calcifications=3, snr_white=40.0)


def test_dipole_field_of_a_sphere_is_positive_at_the_poles_and_negative_at_the_equator():
    chi = np.zeros((48, 48, 48), dtype=np.float32)
    z, y, x = np.ogrid[-24:24, -24:24, -24:24]
    chi[z * z + y * y + x * x <= 16] = 1.0                     # radius 4 voxels, 1 ppm
    field = dipole_field(chi, (1.0, 1.0, 1.0))
    assert field[24 + 7, 24, 24] > 0 > field[24, 24, 24 + 7]   # along B0 vs across it
    # outside the sphere the field falls off as the dipole: chi/3 (a/r)^3 (3 cos^2 - 1)
    assert field[24 + 8, 24, 24] == pytest.approx(2 / 3 * (4 / 8) ** 3, rel=0.25)
    assert abs(field[24, 24, 24]) < 0.05                       # uniform sphere: no field inside


def _pole_phase(phantom, lesion, hp):
    k, j, i = (int(round(c)) for c in lesion.centre_voxel)
    r = int(np.ceil(lesion.diameter_mm / 2 / 2.0)) + 1
    return float(hp[k - r, j, i] + hp[k + r, j, i])


def test_microbleed_phase_is_paramagnetic_and_calcification_opposite(phantom):
    hp = homodyne_highpass(phantom.magnitude, phantom.phase, phantom.spacing_mm)
    kinds = {lesion.kind for lesion in phantom.lesions}
    assert kinds == {"microbleed", "calcification"}
    for lesion in phantom.lesions:
        pole = _pole_phase(phantom, lesion, hp)
        # exp(-i gamma dB TE): paramagnetic -> dB > 0 at the poles -> negative phase
        assert np.sign(pole) == (-1 if lesion.kind == "microbleed" else 1), lesion


def test_microbleeds_bloom(phantom):
    """The dark volume (below half the local median) exceeds the source sphere: blooming by dephasing."""
    inside = [les for les in phantom.lesions if les.kind == "microbleed"
              and 4 <= les.centre_voxel[0] <= phantom.magnitude.shape[0] - 5]
    assert len(inside) >= 2
    for lesion in inside:
        k, j, i = (int(round(c)) for c in lesion.centre_voxel)
        box = phantom.magnitude[k - 4:k + 5, j - 12:j + 13, i - 12:i + 13]
        dark_mm3 = float((box < 0.5 * np.median(box)).sum()) * float(np.prod(phantom.spacing_mm))
        assert dark_mm3 > 4 / 3 * np.pi * (lesion.diameter_mm / 2) ** 3, lesion


def test_veins_are_continuous_across_slices_and_elongated():
    from inference.cmb.phantom.anatomy import HeadModel, Vein, label_map

    vein = Vein(points_mm=np.array([[0, 0, -20], [0, 0, 20]], dtype=np.float32), radius_mm=1.0, chi_ppm=0.4)
    grid = Grid((24, 32, 32), (2.0, 1.0, 1.0), (-23.0, -15.5, -15.5))
    labels, chi = label_map(HeadModel(brain_axes_mm=(60, 70, 55), veins=[vein]), grid)
    slices = np.nonzero((labels == Tissue.VEIN).any(axis=(1, 2)))[0]
    assert len(slices) >= 19 and np.all(np.diff(slices) == 1)       # 40 mm at 2 mm slices, no gap
    assert chi[labels == Tissue.VEIN].max() == pytest.approx(0.4)


def test_signal_contrast_order_follows_t2star():
    s = tissue_signal(np.array([Tissue.WHITE, Tissue.VEIN, Tissue.MICROBLEED, Tissue.AIR], dtype=np.uint8),
                      Sequence())
    assert s[0] > s[1] > s[2] > s[3] == 0


def test_same_seed_same_phantom():
    a = generate_swi_phantom(3, n_slices=8, n_microbleeds=1, n_calcifications=0)
    b = generate_swi_phantom(3, n_slices=8, n_microbleeds=1, n_calcifications=0)
    assert np.array_equal(a.magnitude, b.magnitude) and np.array_equal(a.phase, b.phase)
    assert a.truth_dict() == b.truth_dict()


def test_calcification_diameters_follow_the_range_given():
    phantom = generate_swi_phantom(11, n_slices=40, n_microbleeds=0, n_calcifications=4, calcification_mm=(1.5, 2.0))
    calcifications = [les for les in phantom.lesions if les.kind == "calcification"]
    assert calcifications and all(1.5 <= les.diameter_mm <= 2.0 for les in calcifications)


def _sphere_highpass(chi_ppm: float, diameter_mm: float, centre_z_mm: float) -> np.ndarray:
    """High-pass phase on the 2 x 1 x 1 mm grid of one sphere in white matter (no noise, no background)."""
    from inference.cmb.phantom.physics import GAMMA_HZ_PER_T, block_mean

    fine_mm, shape = (1.0, 0.5, 0.5), (32, 64, 64)
    z, y, x = np.meshgrid(*[(np.arange(n) + 0.5) * s for n, s in zip(shape, fine_mm)], indexing="ij", sparse=True)
    inside = (z - centre_z_mm) ** 2 + (y - 16.5) ** 2 + (x - 16.5) ** 2 <= (diameter_mm / 2) ** 2
    tissue = Tissue.MICROBLEED if chi_ppm > 0 else Tissue.CALCIFICATION
    labels = np.where(inside, tissue, Tissue.WHITE).astype(np.uint8)
    field = dipole_field(np.where(inside, chi_ppm, 0.0).astype(np.float32), fine_mm)
    omega_te = 2 * np.pi * GAMMA_HZ_PER_T * 3.0 * 1e-6 * Sequence().te_s
    image = block_mean(tissue_signal(labels, Sequence()) * np.exp(-1j * omega_te * field), (2, 2, 2))
    return homodyne_highpass(np.abs(image), np.angle(image), (2.0, 1.0, 1.0))


def test_a_small_strong_lesion_has_no_fixed_phase_sign_at_its_centre():
    """Why the centre phase alone cannot tell the two apart: a calcification's pattern is the negative of
    a microbleed's (up to their own signal), but once the phase of a small, strong sphere wraps, its sign at
    the lesion depends on where the centre falls within the 2 mm slice. Centred on a slice boundary (z = 16 mm), a 1.6 mm,
    -1.63 ppm calcification gives both slices negative (paramagnetic) phase; a microbleed of the same size
    centred in a slice (z = 17 mm) gives that slice positive phase and its two neighbours negative."""
    calcification = _sphere_highpass(-1.63, 1.6, 16.0)[7:9, 16, 16]        # slices 7 and 8 share the boundary
    assert np.allclose(calcification, -_sphere_highpass(+1.63, 1.6, 16.0)[7:9, 16, 16], atol=0.05)
    assert np.all(calcification < -1.5)
    microbleed = _sphere_highpass(+1.63, 1.6, 17.0)[7:10, 16, 16]           # slice 8 spans 16-18 mm
    assert microbleed[1] > 1.5 and microbleed[0] < -1.5 and microbleed[2] < -1.5
