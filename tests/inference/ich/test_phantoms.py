"""The phantom generator: determinism, labels, tissue densities, lesion placement, look-alikes, geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from inference.ich.labels import LABELS
from inference.ich.phantoms import ABBREVIATIONS, SUBTYPES, PhantomStudy, generate_study
from inference.ich.phantoms.anatomy import Tissue
from inference.ich.phantoms.mimics import CALCIFICATION, DENSE_VESSEL, STREAK
from inference.ich.phantoms.study import resolve_request

BRAIN = (Tissue.GREY, Tissue.WHITE, Tissue.DEEP_GREY)


def lesion_of(study: PhantomStudy, subtype: str) -> np.ndarray:
    return ((study.lesion_mask >> SUBTYPES.index(subtype)) & 1).astype(bool)


@pytest.fixture(scope="module")
def forced() -> dict[str, PhantomStudy]:
    """One small study per forced subtype."""
    return {abbr: generate_study(100 + i, abbr, n_slices=16, size=128) for i, abbr in enumerate(ABBREVIATIONS)}


@pytest.fixture(scope="module")
def negative() -> PhantomStudy:
    return generate_study(21, "none", n_slices=12, size=256)


def test_same_seed_same_study_and_different_seed_differs() -> None:
    a = generate_study(7, "any", n_slices=6, size=64)
    b = generate_study(7, "any", n_slices=6, size=64)
    c = generate_study(8, "any", n_slices=6, size=64)
    assert np.array_equal(a.hu, b.hu)
    assert np.array_equal(a.slice_labels, b.slice_labels)
    assert np.array_equal(a.geometry.positions, b.geometry.positions)
    assert a.lesions == b.lesions
    assert not np.array_equal(a.hu, c.hu)


@pytest.mark.parametrize("seed", range(6))
def test_labels_are_consistent(seed: int) -> None:
    study = generate_study(seed, "any" if seed % 2 else None, n_slices=10, size=64)
    n = study.n_slices
    assert study.hu.dtype == np.int16 and study.hu.shape == (n, 64, 64)
    assert study.slice_labels.shape == (n, len(LABELS)) and study.study_labels.shape == (len(LABELS),)
    assert study.classes == LABELS
    assert np.array_equal(study.slice_labels[:, 0], study.slice_labels[:, 1:].max(axis=1))
    assert np.array_equal(study.study_labels, study.slice_labels.max(axis=0))
    if study.request == "any":
        assert study.study_labels[0] == 1


def test_random_request_is_negative_about_half_of_the_time() -> None:
    draws = [resolve_request("random", np.random.default_rng(seed)) for seed in range(200)]
    negatives = sum(1 for subtypes in draws if not subtypes)
    assert 70 <= negatives <= 130
    assert any(len(subtypes) > 1 for subtypes in draws), "several subtypes can coexist"


def test_tissue_densities_are_plausible(negative: PhantomStudy) -> None:
    hu, tissue = negative.hu, negative.tissue

    def median(code: Tissue) -> float:
        core = ndimage.binary_erosion(tissue == code, np.ones((1, 3, 3), dtype=bool))
        assert core.any(), code.name
        return float(np.median(hu[core]))

    assert -1010 <= median(Tissue.AIR) <= -990
    assert 850 <= median(Tissue.BONE) <= 1010
    assert 690 <= median(Tissue.DIPLOE) <= 830
    assert 35 <= median(Tissue.GREY) <= 47
    assert 18 <= median(Tissue.WHITE) <= 32
    assert median(Tissue.GREY) - median(Tissue.WHITE) >= 6
    assert -2 <= median(Tissue.VENTRICLE) <= 16
    assert -120 <= median(Tissue.FAT) <= -40
    assert hu.min() >= -1024 and hu.max() <= 3071


@pytest.mark.parametrize("abbr", list(ABBREVIATIONS))
def test_forced_subtype_is_present_alone_with_blood_density(forced: dict[str, PhantomStudy], abbr: str) -> None:
    study = forced[abbr]
    subtype = ABBREVIATIONS[abbr]
    expected = np.zeros(len(LABELS), dtype=np.uint8)
    expected[0] = expected[LABELS.index(subtype)] = 1
    assert np.array_equal(study.study_labels, expected)
    positive = np.flatnonzero(study.slice_labels[:, LABELS.index(subtype)])
    assert len(positive) >= 2, "a lesion spans several slices"
    blood = lesion_of(study, subtype)
    assert 40 <= np.median(study.hu[blood]) <= 90


@pytest.mark.parametrize("abbr", ["EDH", "SDH"])
def test_extra_axial_blood_lies_against_the_inner_table(forced: dict[str, PhantomStudy], abbr: str) -> None:
    study = forced[abbr]
    blood = lesion_of(study, ABBREVIATIONS[abbr])
    bone = (study.tissue == Tissue.BONE) | (study.tissue == Tissue.DIPLOE)
    pixel = study.geometry.pixel_spacing[0]
    for k in np.flatnonzero(study.slice_labels[:, 0]):
        distance = ndimage.distance_transform_edt(~bone[k]) * pixel
        assert distance[blood[k]].min() <= 2.5 * pixel, f"slice {k}: blood not touching the skull"
        assert np.median(distance[blood[k]]) <= 16.0


def test_epidural_is_a_lens_and_subdural_a_crescent(forced: dict[str, PhantomStudy]) -> None:
    """Along the skull an EDH is short and thick, an SDH long and thin (largest slice of each)."""
    ratios = {}
    for abbr in ("EDH", "SDH"):
        study = forced[abbr]
        blood = lesion_of(study, ABBREVIATIONS[abbr])
        k = int(np.argmax(blood.reshape(len(blood), -1).sum(axis=1)))
        bone = (study.tissue[k] == Tissue.BONE) | (study.tissue[k] == Tissue.DIPLOE)
        thickness = (ndimage.distance_transform_edt(~bone)[blood[k]]).max()
        ratios[abbr] = blood[k].sum() / thickness**2  # area / thickness^2 ~ length / thickness
    assert ratios["SDH"] > ratios["EDH"]


def test_intraventricular_blood_is_inside_the_ventricles(forced: dict[str, PhantomStudy]) -> None:
    study = forced["IVH"]
    blood = lesion_of(study, "intraventricular")
    assert np.mean(study.tissue[blood] == Tissue.VENTRICLE) >= 0.8


def test_intraparenchymal_blood_is_in_brain_away_from_the_skull(forced: dict[str, PhantomStudy]) -> None:
    study = forced["IPH"]
    blood = lesion_of(study, "intraparenchymal")
    assert np.mean(np.isin(study.tissue[blood], BRAIN)) >= 0.8
    bone = (study.tissue == Tissue.BONE) | (study.tissue == Tissue.DIPLOE)
    for k in np.flatnonzero(blood.any(axis=(1, 2))):
        distance = ndimage.distance_transform_edt(~bone[k]) * study.geometry.pixel_spacing[0]
        assert distance[blood[k]].min() > 3.0


def test_subarachnoid_blood_fills_csf_spaces(forced: dict[str, PhantomStudy]) -> None:
    study = forced["SAH"]
    blood = lesion_of(study, "subarachnoid")
    assert np.mean(study.tissue[blood] == Tissue.CSF) >= 0.7


def test_negative_contains_look_alikes_in_the_blood_range(negative: PhantomStudy) -> None:
    assert negative.study_labels.sum() == 0 and negative.lesion_mask.max() == 0
    calcified = (negative.mimic_mask & CALCIFICATION) > 0
    dense = (negative.mimic_mask & DENSE_VESSEL) > 0
    assert calcified.any() and dense.any()
    assert np.median(negative.hu[calcified]) > 70
    assert 35 <= np.median(negative.hu[dense]) <= 90, "dense vessels overlap the density of blood"
    assert {m["kind"] for m in negative.mimics} >= {"falx", "superior sagittal sinus"}


def test_skull_base_slices_carry_beam_hardening_streaks() -> None:
    found = [generate_study(seed, "none", n_slices=24, size=64) for seed in range(3)]
    assert any(((s.mimic_mask & STREAK) > 0).any() for s in found)


def test_tilted_geometry_steps_along_the_table_not_the_normal() -> None:
    study = generate_study(5, "none", n_slices=6, size=32, gantry_tilt=20.0)
    g = study.geometry
    row, col = g.orientation[:3], g.orientation[3:]
    assert abs(np.dot(row, col)) < 1e-6 and np.allclose([np.linalg.norm(row), np.linalg.norm(col)], 1.0)
    normal = np.cross(row, col)
    steps = np.diff(g.positions, axis=0)
    unit = steps / np.linalg.norm(steps, axis=1, keepdims=True)
    angle = math.degrees(math.acos(float(np.clip(unit[0] @ normal, -1, 1))))
    assert angle == pytest.approx(20.0, abs=0.05)
    assert np.allclose(unit, [0.0, 0.0, 1.0], atol=1e-6)
    assert np.allclose(steps @ normal, g.slice_thickness, atol=1e-3)


def test_untilted_geometry_steps_along_the_normal() -> None:
    g = generate_study(5, "none", n_slices=4, size=32, gantry_tilt=0.0).geometry
    assert np.allclose(np.diff(g.positions, axis=0), [0.0, 0.0, g.slice_thickness])


def test_random_scan_parameters_stay_in_range() -> None:
    for seed in range(4):
        study = generate_study(seed, "none", size=16)
        assert 20 <= study.n_slices <= 60
        assert 2.5 <= study.geometry.slice_thickness <= 5.0
        assert 0.0 <= study.geometry.gantry_tilt <= 25.0


def test_bad_request_is_rejected() -> None:
    with pytest.raises(ValueError, match="subtype"):
        generate_study(1, "XYZ", n_slices=2, size=16)
