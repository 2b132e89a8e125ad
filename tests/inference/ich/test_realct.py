"""Real head-CT volumes as data: readers, brain-density correction, compartments, lesion insertion, labels."""

from __future__ import annotations

import numpy as np
import pytest

from inference.ich.labels import LABELS
from inference.ich.realct.background import Background, prepare, prepare_cached
from inference.ich.realct.compartments import PARENCHYMA, SKULL, SULCAL_CSF, VENTRICLE
from inference.ich.realct.lesions import SUBTYPES, apply_lesions, is_blood, make_lesion
from inference.ich.realct.loaders import LOADERS, NORMAL_BRAIN_HU, RealVolume, correct_postmortem_brain, load_real_volume
from inference.ich.realct.source import MIN_BLOOD_MM2, SPLITS, RealInsertionSource, slice_labels
from tests.inference.ich.conftest import SHARED_DATA

REAL_CT = SHARED_DATA / "real-ct"
ALLOWED = {  # compartments each subtype's blood may occupy
    "EDH": {PARENCHYMA, SULCAL_CSF, VENTRICLE, 5},
    "SDH": {PARENCHYMA, SULCAL_CSF, VENTRICLE, 5},
    "SAH": {SULCAL_CSF},
    "IPH": {PARENCHYMA, SULCAL_CSF, VENTRICLE, 5},
    "IVH": {VENTRICLE},
}


def _synthetic_head(n: int = 24, size: int = 96) -> RealVolume:
    """A head of 1 mm voxels: air, a 6 mm skull shell, brain 32 HU, CSF rim and two ventricles 5 HU."""
    z, y, x = np.mgrid[:n, :size, :size].astype(np.float32)
    c = (size - 1) / 2
    r = np.sqrt(((y - c) / 40) ** 2 + ((x - c) / 34) ** 2 + ((z - n / 2) / (n * 0.9)) ** 2)
    hu = np.full((n, size, size), -1000.0, np.float32)
    hu[r < 1.0] = 1200.0
    hu[r < 0.85] = 8.0
    hu[r < 0.8] = 32.0
    for side in (-1, 1):
        hu[(np.abs(y - c + 5) < 10) & (np.abs(x - c - side * 7) < 3) & (np.abs(z - n / 2) < 6)] = 5.0
    rng = np.random.default_rng(0)
    return RealVolume("synthetic", hu + rng.normal(0, 3, hu.shape).astype(np.float32), (1.0, 1.0, 1.0))


@pytest.fixture(scope="module")
def synthetic_background() -> Background:
    return prepare(_synthetic_head(), size=96)


def test_postmortem_correction_moves_only_intracranial_soft_tissue():
    hu = np.full((4, 20, 20), 60.0, np.float32)
    hu[:, :2] = 1000.0  # bone stays
    hu[:, -2:] = 60.0  # scalp outside the mask stays
    mask = np.zeros(hu.shape, bool)
    mask[:, 2:-2] = True
    hu[:, 10, 10] = -500.0  # air inside the mask stays
    corrected = correct_postmortem_brain(RealVolume("cadaver", hu, (1, 1, 1), postmortem=True), mask)
    assert np.median(corrected.hu[mask & (hu == 60)]) == pytest.approx(NORMAL_BRAIN_HU)
    assert np.all(corrected.hu[:, :2] == 1000) and np.all(corrected.hu[:, -2:] == 60)
    assert corrected.hu[0, 10, 10] == -500 and not corrected.postmortem
    living = RealVolume("living", hu, (1, 1, 1))
    assert correct_postmortem_brain(living, mask) is living


def test_segmentation_of_a_synthetic_head(synthetic_background):
    comp = synthetic_background.compartments
    assert comp.labels[comp.intracranial].min() >= PARENCHYMA
    assert comp.fraction("parenchyma") > 0.6
    assert comp.volume_ml("ventricle") > 1.0
    assert comp.labels[12, 96 // 2 - 5, 96 // 2 + 7] == VENTRICLE
    assert not (comp.labels == SKULL)[comp.intracranial].any()


@pytest.mark.parametrize("code", sorted(SUBTYPES))
def test_each_subtype_stays_in_its_compartment(synthetic_background, code):
    bg = synthetic_background
    made = 0
    for seed in range(12):
        lesions = make_lesion(bg, code, np.random.default_rng(seed))
        for lesion in lesions:
            full = lesion.full(bg.hu.shape)
            assert full.min() >= 0 and full.max() <= 1.0 + 1e-6
            assert bg.compartments.intracranial[full > 0].all(), "blood outside the intracranial space"
            if is_blood(lesion):
                made += 1
                codes = set(np.unique(bg.compartments.labels[full > 0]).tolist())
                assert codes <= ALLOWED[code], f"{code} ({lesion.site}) in compartments {codes}"
            else:
                assert bg.compartments.labels[full > 0].max() == PARENCHYMA  # oedema in brain only
    assert made >= 6, f"{code}: only {made} of 12 placements found room"


def test_blood_raises_hu_and_keeps_noise(synthetic_background):
    bg = synthetic_background
    lesion = next(les for seed in range(20) for les in make_lesion(bg, "IPH", np.random.default_rng(seed)) if is_blood(les))
    hu = apply_lesions(bg, [lesion])
    full = lesion.full(bg.hu.shape)
    core = full > 0.99
    assert core.sum() > 10
    assert abs(float(hu[core].mean()) - lesion.blood_hu) < 3
    assert hu[core].std() > 1.0  # the scan's noise texture is kept
    assert np.array_equal(hu[full == 0], bg.hu[full == 0])


def test_slice_labels_follow_the_inserted_blood(synthetic_background):
    bg = synthetic_background
    lesions = [les for seed in range(30) for les in make_lesion(bg, "EDH", np.random.default_rng(seed))][:1]
    full = lesions[0].full(bg.hu.shape)
    area = full.sum(axis=(1, 2)) * bg.spacing[1] * bg.spacing[2]
    labels = slice_labels(bg, lesions, 0, bg.hu.shape[0], 1)
    np.testing.assert_array_equal(labels[:, LABELS.index("epidural")], area >= MIN_BLOOD_MM2)
    np.testing.assert_array_equal(labels[:, LABELS.index("any")], labels[:, LABELS.index("epidural")])
    assert labels[:, [2, 3, 4, 5]].sum() == 0
    thick = slice_labels(bg, lesions, 0, bg.hu.shape[0] // 4, 4)
    slab = area[: 4 * (bg.hu.shape[0] // 4)].reshape(-1, 4).mean(axis=1)
    np.testing.assert_array_equal(thick[:, LABELS.index("epidural")], slab >= MIN_BLOOD_MM2)


def test_splits_are_disjoint_by_volume():
    train, validation, test = (set(SPLITS[part]) for part in ("train", "validation", "test"))
    assert not train & validation and not train & test and not validation & test
    assert train | validation | test == set(LOADERS) and test


def test_test_volume_never_enters_training_or_threshold_choice(tmp_path, monkeypatch):
    """The training run's series (training and validation, hence operating points) and the validation
    sources of the operating points and the calibration hold no volume of the ``test`` split."""
    import inference.ich.training.run
    from click.testing import CliRunner

    from dicomnode.cli import main
    from inference.ich.evaluation.validation_points import validation_sources
    from inference.ich.training.factory import build_source

    seen: dict[str, object] = {}

    def capture(config, train, val, out_dir, version, **kwargs):
        seen.update(train=train, val=val)
        return tmp_path / "hemorrhage.pt"

    def volumes(source) -> set[str]:
        if hasattr(source, "sources"):
            return set().union(*(volumes(part) for part in source.sources))
        return set(getattr(source, "volumes", ()))

    monkeypatch.setattr(inference.ich.training.run, "train_and_save", capture)
    result = CliRunner().invoke(main, ["train", "--source", "phantoms", "--out", str(tmp_path), "--train-seeds", "0-3",
                                       "--val-seeds", "10-11", "--real-ct", str(tmp_path), "--real-seeds", "0-8",
                                       "--real-val-seeds", "0-2", "--no-progress"])
    assert result.exit_code == 0, result.output
    test = set(SPLITS["test"])
    assert volumes(seen["train"]) == set(SPLITS["train"]) and volumes(seen["val"]) == set(SPLITS["validation"])
    assert not (volumes(seen["train"]) | volumes(seen["val"])) & test
    assert not set().union(*(volumes(part) for part in validation_sources(tmp_path))) & test
    for split in ("all", "finetune", "validation"):
        assert not set(build_source("realct", tmp_path, seeds="0-3", split=split).volumes) & test


def _captured_train_sources(tmp_path, monkeypatch, *options: str):
    """(training, validation) sources that ``dicomnode train --real-ct ...`` with ``options`` would train on."""
    import inference.ich.training.run
    from click.testing import CliRunner

    from dicomnode.cli import main

    seen: dict[str, object] = {}

    def capture(config, train, val, out_dir, version, **kwargs):
        seen.update(train=train, val=val, data=kwargs["data"])
        return tmp_path / "hemorrhage.pt"

    monkeypatch.setattr(inference.ich.training.run, "train_and_save", capture)
    result = CliRunner().invoke(main, ["train", "--source", "phantoms", "--out", str(tmp_path), "--train-seeds", "0-3",
                                       "--val-seeds", "10-11", "--real-ct", str(tmp_path), "--real-seeds", "0-199",
                                       "--real-val-seeds", "0-2", "--no-progress", *options])
    assert result.exit_code == 0, result.output
    return seen


def _real_parts(source) -> list[RealInsertionSource]:
    if hasattr(source, "sources"):
        return [real for part in source.sources for real in _real_parts(part)]
    return [source] if isinstance(source, RealInsertionSource) else []


def test_real_negative_share_sets_the_real_training_negatives_only(tmp_path, monkeypatch, synthetic_background):
    """``--real-negative-share`` changes the share of real training samples drawn without bleeds, keeps the
    validation volume's mix, and its default is the source's own mix (the training behaviour before it)."""
    default = _captured_train_sources(tmp_path, monkeypatch)
    (train,), (val,) = _real_parts(default["train"]), _real_parts(default["val"])
    assert train.bleed_share == RealInsertionSource(tmp_path, ["x"], [0]).bleed_share == val.bleed_share
    assert default["data"]["real_train"]["negative_share"] == pytest.approx(0.4)
    shared = _captured_train_sources(tmp_path, monkeypatch, "--real-negative-share", "0.7")
    (train7,), (val7,) = _real_parts(shared["train"]), _real_parts(shared["val"])
    assert train7.bleed_share == pytest.approx(0.3) and val7.bleed_share == val.bleed_share
    assert shared["data"]["real_train"]["negative_share"] == pytest.approx(0.7)
    assert set(train.volumes) == set(train7.volumes) == set(SPLITS["train"]) and train.seeds == train7.seeds

    def negatives(source: RealInsertionSource) -> set[int]:
        """Indices drawn without a lesion, every volume read as the synthetic head."""
        monkeypatch.setattr(source, "background", lambda name: synthetic_background)
        return {index for index in range(len(source)) if not source.draw(index)[1]}

    few, many = negatives(train), negatives(train7)
    assert 0.3 < len(few) / len(train) < 0.55 and 0.6 < len(many) / len(train7) < 0.85
    assert few < many  # a sample drawn as a negative at a share stays one at a larger share
    with pytest.raises(AssertionError, match="0.0<=x<=1.0"):
        _captured_train_sources(tmp_path, monkeypatch, "--real-negative-share", "1.5")


# ---------------------------------------------------------------------------------------------- real data
realdata = pytest.mark.realdata


@pytest.fixture(scope="module")
def real_backgrounds(tmp_path_factory) -> dict[str, Background]:
    if not REAL_CT.is_dir():
        pytest.skip(f"real head-CT volumes not found at {REAL_CT}")
    cache = tmp_path_factory.mktemp("realct")
    return {name: prepare_cached(REAL_CT, name, cache_dir=cache) for name in LOADERS}


@realdata
@pytest.mark.slow
def test_every_real_volume_loads_in_hu():
    if not REAL_CT.is_dir():
        pytest.skip(f"real head-CT volumes not found at {REAL_CT}")
    for name in LOADERS:
        volume = load_real_volume(REAL_CT, name)
        assert volume.hu.ndim == 3 and volume.hu.dtype == np.float32
        assert volume.hu.min() >= -1024 and np.percentile(volume.hu, 99.5) > 700, name  # air and bone
        assert all(s > 0 for s in volume.spacing)


@realdata
@pytest.mark.slow
def test_real_volumes_segment_sanely(real_backgrounds):
    for name, bg in real_backgrounds.items():
        comp = bg.compartments
        ml = comp.intracranial.sum() * np.prod(bg.spacing) / 1000
        lower = 100 if name == "vtk-headsq" else 400  # vtk covers chin to mid-skull only
        assert lower < ml < 1900, f"{name}: intracranial volume {ml:.0f} ml"
        brain = bg.hu[comp.labels == PARENCHYMA]
        assert 25 < np.median(brain) < 45, f"{name}: brain median {np.median(brain):.1f} HU after correction"
        assert comp.fraction("parenchyma") > 0.6, name
        assert not (comp.labels == SKULL)[comp.intracranial].any()
    assert real_backgrounds["ge-head-dcmqa"].compartments.volume_ml("ventricle") > 5


@realdata
@pytest.mark.slow
def test_real_insertion_samples_label_what_was_inserted(tmp_path):
    if not REAL_CT.is_dir():
        pytest.skip(f"real head-CT volumes not found at {REAL_CT}")
    source = RealInsertionSource(REAL_CT, SPLITS["validation"], range(12), cache_dir=tmp_path, bleed_share=1.0,
                                 reslice=False)
    for index in range(len(source)):
        bg, lesions, _ = source.draw(index)
        sample = source[index]
        assert sample.hu.shape[1:] == (256, 256) and sample.n_slices == bg.hu.shape[0]
        for lesion in lesions:
            full = lesion.full(bg.hu.shape)
            assert bg.compartments.intracranial[full > 0].all(), f"{lesion.code} ({lesion.site}) outside the skull"
            if is_blood(lesion):
                codes = set(np.unique(bg.compartments.labels[full > 0]).tolist())
                assert codes <= ALLOWED[lesion.code], f"{lesion.code} ({lesion.site}) in compartments {codes}"
        blood = {les.label for les in lesions if is_blood(les)}
        labelled = {LABELS[c] for c in range(1, 6) if sample.study_labels[c]}
        assert labelled <= blood
        assert sample.study_labels[0] == float(bool(labelled))
        cached = source[index]
        np.testing.assert_array_equal(cached.slice_labels, sample.slice_labels)
        np.testing.assert_array_equal(cached.hu, sample.hu)  # the first read is what the cache gives back


@realdata
def test_labelled_rsna_slices_read_as_one_slice_series():
    from inference.ich.realct.rsna_slices import RsnaSliceSource

    folder = SHARED_DATA / "rsna-slices" / "labelled"
    if not folder.is_dir():
        pytest.skip(f"RSNA slices not found at {folder}")
    source = RsnaSliceSource(folder)
    assert len(source) == 10
    samples = [source[i] for i in range(len(source))]
    assert sum(s.study_labels[0] for s in samples) == 5
    for sample in samples:
        assert sample.hu.shape == (1, 256, 256) and sample.known.all()
        assert sample.hu.min() < -500 and sample.hu.max() > 300  # HU: air and bone


@realdata
def test_build_source_realct_splits_by_volume(tmp_path):
    from inference.ich.training.factory import build_source

    if not REAL_CT.is_dir():
        pytest.skip(f"real head-CT volumes not found at {REAL_CT}")
    val = build_source("realct", REAL_CT, seeds="0-3", split="validation", cache_dir=tmp_path)
    assert val.volumes == list(SPLITS["validation"]) and not val.reslice
    train = build_source("realct", REAL_CT, seeds="0-3", split="finetune", cache_dir=tmp_path)
    assert train.volumes == list(SPLITS["train"]) and train.reslice
    test = build_source("realct", REAL_CT, seeds="0-3", split="test", cache_dir=tmp_path)
    assert test.volumes == list(SPLITS["test"]) and test.reslice
    everything = build_source("realct", REAL_CT, seeds="0-3", split="all", cache_dir=tmp_path)
    assert not set(everything.volumes) & set(SPLITS["test"])
