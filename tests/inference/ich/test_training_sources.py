"""Each training data layout, read from a tiny fixture written in the test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.ich.labels import ANY_INDEX, LABELS
from inference.ich.training.dicom_sources import Cq500Source, RsnaSource, read_cq500_reads
from inference.ich.training.factory import Concat, Subset, build_source, hashed_split, parse_range
from inference.ich.training.sources import PhantomSource, PngSource, png_to_hu, split_ids
from tests.inference.ich.training_fixtures import write_cq500_folder, write_png_folder, write_rsna_folder

pytestmark = pytest.mark.filterwarnings("ignore:Invalid value for VR UI")  # RSNA SOP Instance UIDs are "ID_..."


def test_phantom_source_generates_and_caches(tmp_path: Path) -> None:
    source = PhantomSource([3, 4], size=32, n_slices=4, cache_dir=tmp_path, input_size=32)
    first = source[0]
    assert first.hu.shape == (4, 32, 32) and first.hu.dtype == np.float32
    assert first.slice_labels.shape == (4, 6) and first.known.all()
    np.testing.assert_array_equal(first.study_labels, first.slice_labels.max(axis=0))
    assert len(list(tmp_path.glob("*.npz"))) == 1
    again = source[0]
    np.testing.assert_array_equal(again.hu, first.hu)
    np.testing.assert_array_equal(again.slice_labels, first.slice_labels)


def test_phantom_cache_filled_by_worker_processes_matches_on_demand_generation(tmp_path: Path) -> None:
    source = PhantomSource([3, 4, 5], size=32, n_slices=4, cache_dir=tmp_path / "filled", input_size=32)
    assert source.fill_cache(workers=2) == 3
    assert source.fill_cache(workers=2) == 0
    on_demand = PhantomSource([4], size=32, n_slices=4, input_size=32)[0]
    np.testing.assert_array_equal(source[1].slice_labels, on_demand.slice_labels)
    np.testing.assert_array_equal(source[1].hu, np.rint(on_demand.hu))


def test_phantom_cache_fill_needs_a_folder() -> None:
    with pytest.raises(ValueError, match="cache folder"):
        PhantomSource([1], size=32).fill_cache(workers=2)


def test_phantom_source_with_a_subtype_request_draws_that_subtype_and_caches_it_apart(tmp_path: Path) -> None:
    natural = PhantomSource([7], size=32, n_slices=8, cache_dir=tmp_path, input_size=32)[0]
    source = PhantomSource([7], size=32, n_slices=8, cache_dir=tmp_path, input_size=32, subtype="IPH")
    sample = source[0]
    assert sample.key == "phantom-IPH-7" and natural.key == "phantom-7"
    np.testing.assert_array_equal(sample.study_labels, [1, 0, 1, 0, 0, 0])
    assert len(list(tmp_path.glob("phantom-s7-rIPH-*.npz"))) == 1 and len(list(tmp_path.glob("*.npz"))) == 2
    np.testing.assert_array_equal(source[0].hu, sample.hu)


def test_concat_reads_its_sources_in_order() -> None:
    first = PhantomSource([1, 2], size=32, n_slices=2, input_size=32)
    second = PhantomSource([3], size=32, n_slices=2, input_size=32, subtype="none")
    both = Concat([first, second])
    assert len(both) == 3 and both.name == "phantoms"
    assert [both[i].key for i in range(3)] == ["phantom-1", "phantom-2", "phantom-none-3"]
    assert not both[2].study_labels.any()
    with pytest.raises(IndexError):
        both[3]
    with pytest.raises(ValueError, match="at least one"):
        Concat([])


def test_phantom_source_resamples_to_input_size() -> None:
    sample = PhantomSource([5], size=48, n_slices=3, input_size=32)[0]
    assert sample.hu.shape == (3, 32, 32)


def test_png_source_reads_labels_and_maps_gray_to_brain_window(tmp_path: Path) -> None:
    root = write_png_folder(tmp_path / "png", n=10)
    source = PngSource(root, input_size=32)
    assert len(source) == 10
    sample = source[0]
    assert sample.hu.shape == (1, 32, 32)
    assert sample.known.tolist() == [i == ANY_INDEX for i in range(6)]
    assert sample.study_labels[ANY_INDEX] == 1.0 and source[9].study_labels[ANY_INDEX] == 0.0
    assert png_to_hu(np.array([0, 255])).tolist() == [0.0, 80.0]
    assert 0.0 <= sample.hu.min() and sample.hu.max() <= 80.0


def test_png_splits_are_disjoint_deterministic_and_stratified(tmp_path: Path) -> None:
    root = write_png_folder(tmp_path / "png", n=20)
    parts = {name: PngSource(root, split=name).rows for name in ("finetune", "validation", "test")}
    ids = [set(r[0] for r in rows) for rows in parts.values()]
    assert sum(len(s) for s in ids) == 20 and len(set().union(*ids)) == 20
    assert parts["test"] == PngSource(root, split="test").rows
    for rows in parts.values():
        assert sum(label for _, label in rows) * 2 == len(rows)
    assert split_ids(["a", "b", "c", "d"], seed=1) == split_ids(["d", "c", "b", "a"], seed=1)


def test_png_source_rejects_bad_split(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="split"):
        PngSource(write_png_folder(tmp_path / "png"), split="train")


def test_rsna_source_rebuilds_series_from_headers(tmp_path: Path) -> None:
    truth = write_rsna_folder(tmp_path / "rsna", seeds=(1, 2), size=32, n_slices=5)
    source = RsnaSource(tmp_path / "rsna", input_size=32)
    assert len(source) == 2 and sorted(source.keys) == sorted(truth)
    for i in range(len(source)):
        sample = source[i]
        assert sample.hu.shape == (5, 32, 32)
        np.testing.assert_array_equal(sample.slice_labels, truth[sample.key])
        np.testing.assert_array_equal(sample.study_labels, truth[sample.key].max(axis=0))
    assert {source[i].study_labels[ANY_INDEX] for i in range(2)} == {0.0, 1.0}


def test_cq500_source_majority_vote(tmp_path: Path) -> None:
    reads = {
        # ICH, IPH, IVH, SDH, EDH, SAH as (R1, R2, R3)
        "CQ500-CT-0": [(1, 1, 0), (1, 0, 1), (0, 0, 1), (0, 0, 0), (0, 0, 0), (1, 0, 0)],
        "CQ500-CT-1": [(0, 0, 0)] * 6,
    }
    root = write_cq500_folder(tmp_path / "cq500", reads, size=32, n_slices=10)
    labels = read_cq500_reads(root / "reads.csv")
    assert labels["cq500ct0"].tolist() == [1, 0, 1, 0, 0, 0]  # any, EDH, IPH, IVH, SAH, SDH
    source = Cq500Source(root, input_size=32)
    assert len(source) == 2
    by_any = sorted(source[i].study_labels[ANY_INDEX] for i in range(2))
    assert by_any == [0.0, 1.0]
    sample = source[0]
    assert sample.slice_labels is None and sample.hu.shape == (10, 32, 32)


def test_cq500_reads_must_have_reader_columns(tmp_path: Path) -> None:
    (tmp_path / "reads.csv").write_text("name,Category,R1:ICH\nCQ500-CT-0,B1,1\n")
    with pytest.raises(ValueError, match="R2:ICH"):
        read_cq500_reads(tmp_path / "reads.csv")


def test_factory_ranges_and_splits(tmp_path: Path) -> None:
    assert parse_range("0-3,7") == [0, 1, 2, 3, 7]
    with pytest.raises(ValueError):
        parse_range("5-2")
    parts = hashed_split([f"k{i}" for i in range(200)], 0.2, 0.1)
    assert sorted(sum(parts.values(), [])) == list(range(200))
    assert 20 < len(parts["val"]) < 60 and parts == hashed_split([f"k{i}" for i in range(200)], 0.2, 0.1)
    source = build_source("phantoms", seeds="1-2", size=32, input_size=32)
    assert len(Subset(source, [1])) == 1
    with pytest.raises(ValueError, match="data folder"):
        build_source("png")
    assert LABELS[ANY_INDEX] == "any"
