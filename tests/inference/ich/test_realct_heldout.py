"""The held-out lesion family: labels follow the inserted blood, blood stays in its compartments, training cannot reach it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from inference.ich.labels import LABELS
from inference.ich.realct.background import Background, prepare
from inference.ich.realct.heldout_lesions import make_heldout_lesion
from inference.ich.realct.heldout_source import HeldOutInsertionSource
from inference.ich.realct.lesions import SUBTYPES, make_lesion
from inference.ich.realct.source import SPLITS, RealInsertionSource
from tests.inference.ich.test_realct import ALLOWED, REAL_CT, _synthetic_head

TRAINING_MODULES = ("inference.ich.training.run", "inference.ich.training.trainer", "inference.ich.training.factory", "inference.ich.realct.source", "dicomnode.cli.train")


@pytest.fixture(scope="module")
def synthetic_background() -> Background:
    return prepare(_synthetic_head(), size=96)


def _sites(maker, bg: Background, code: str, seeds: range) -> set[str]:
    return {les.site for seed in seeds for les in maker(bg, code, np.random.default_rng(seed))}


@pytest.mark.parametrize("code", sorted(SUBTYPES))
def test_heldout_blood_stays_in_its_compartment(synthetic_background, code):
    bg = synthetic_background
    made = 0
    for seed in range(16):
        for lesion in make_heldout_lesion(bg, code, np.random.default_rng(seed)):
            full = lesion.full(bg.hu.shape)
            assert full.min() >= 0 and full.max() <= 1.0 + 1e-6
            assert bg.compartments.intracranial[full > 0].all(), "blood outside the intracranial space"
            codes = set(np.unique(bg.compartments.labels[full > 0]).tolist())
            assert codes <= ALLOWED[code], f"{code} ({lesion.site}) in compartments {codes}"
            made += 1
    assert made >= 4, f"{code}: only {made} of 16 placements found room"


@pytest.mark.parametrize("code", sorted(SUBTYPES))
def test_heldout_sites_are_not_the_training_families(synthetic_background, code):
    bg = synthetic_background
    heldout = _sites(make_heldout_lesion, bg, code, range(16))
    assert heldout and not heldout & _sites(make_lesion, bg, code, range(40))


def test_training_sampler_cannot_reach_the_heldout_family(tmp_path):
    assert RealInsertionSource.lesion_maker is make_lesion
    assert HeldOutInsertionSource.lesion_maker is make_heldout_lesion
    code = f"import sys, {', '.join(TRAINING_MODULES)}; print('inference.ich.realct.heldout_lesions' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", "a training module imports the held-out family"
    from dicomnode.cli.train import _split
    from inference.ich.training.factory import build_source

    with pytest.raises(ValueError, match="evaluation only"):
        _split("realct-heldout", tmp_path, "0-3", "4-5", 0.2, 64, None, 256)
    with pytest.raises(ValueError, match="evaluation only"):
        build_source("realct-heldout", tmp_path, seeds="0-3")


def test_heldout_cache_is_apart_from_the_training_family(tmp_path):
    a = RealInsertionSource(tmp_path, SPLITS["validation"], [3], cache_dir=tmp_path)
    b = HeldOutInsertionSource(tmp_path, SPLITS["validation"], [3], cache_dir=tmp_path)
    assert a._cache_path(0) != b._cache_path(0)


@pytest.mark.realdata
@pytest.mark.slow
def test_heldout_samples_on_the_validation_volume_label_what_was_inserted(tmp_path):
    if not REAL_CT.is_dir():
        pytest.skip(f"real head-CT volumes not found at {REAL_CT}")
    source = HeldOutInsertionSource(REAL_CT, SPLITS["validation"], range(16), cache_dir=tmp_path, bleed_share=1.0,
                                    reslice=False)
    seen: set[str] = set()
    for index in range(len(source)):
        bg, lesions, _ = source.draw(index)
        sample = source[index]
        for lesion in lesions:
            full = lesion.full(bg.hu.shape)
            assert bg.compartments.intracranial[full > 0].all(), f"{lesion.code} ({lesion.site}) outside the skull"
            codes = set(np.unique(bg.compartments.labels[full > 0]).tolist())
            assert codes <= ALLOWED[lesion.code], f"{lesion.code} ({lesion.site}) in compartments {codes}"
        blood = {les.label for les in lesions}
        labelled = {LABELS[c] for c in range(1, 6) if sample.study_labels[c]}
        assert labelled <= blood
        assert sample.study_labels[0] == float(bool(labelled))
        seen |= labelled
    assert len(seen) >= 4, f"only {sorted(seen)} labelled in 16 samples"
