"""Selection rules, one broken series each (made with pydicom), and the real CQ500 series."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from db.series import InstanceRef
from dicomnode.assembly.headers import read_headers
from dicomnode.config import SelectionSection
from dicomnode.pipelines.ich_ct.selection import select_series
from tests.conftest import SHARED_DATA
from tests.factories import ct_series, write_series

RULES = SelectionSection(modalities=["CT"], min_slices=10, max_gap_factor=1.5, max_tilt_degrees=30)


def series(mutate: Callable[[list[Dataset]], None] | None = None, n: int = 20) -> list[Dataset]:
    datasets = ct_series(n, 32)
    if mutate is not None:
        mutate(datasets)
    return datasets


def headers_of(datasets: list[Dataset], folder: Path) -> list[Dataset]:
    paths = write_series(datasets, folder)
    headers, unreadable = read_headers([InstanceRef(str(i), str(p)) for i, p in enumerate(paths)])
    assert not unreadable
    return headers


def test_good_series_is_accepted_with_facts(tmp_path: Path) -> None:
    result = select_series(headers_of(series(), tmp_path), RULES)
    assert result.accepted, result.reason
    assert result.facts["slices"] == 20 and result.facts["tilt_degrees"] == 0.0
    assert result.facts["slice_spacing_mm"] == 5.0 and result.facts["gaps"] == []


def _set_all(keyword: str, value: object) -> Callable[[list[Dataset]], None]:
    return lambda datasets: [setattr(ds, keyword, value) for ds in datasets] and None


def _set_some(keyword: str, value: object, every: int = 7) -> Callable[[list[Dataset]], None]:
    return lambda datasets: [setattr(ds, keyword, value) for ds in datasets[::every]] and None


def _drop_pixels(datasets: list[Dataset]) -> None:
    del datasets[3].PixelData


def _drop_slices(datasets: list[Dataset]) -> None:
    del datasets[8:11]  # three slices missing: one 20 mm gap


def _duplicate_position(datasets: list[Dataset]) -> None:
    datasets[5].ImagePositionPatient = list(datasets[4].ImagePositionPatient)


def _two_frames(datasets: list[Dataset]) -> None:
    other = generate_uid()
    for ds in datasets[10:]:
        ds.FrameOfReferenceUID = other


def _sagittal(datasets: list[Dataset]) -> None:
    for index, ds in enumerate(datasets):
        ds.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]
        ds.ImagePositionPatient = [index * 5.0, -16, 16]


def _too_tilted(datasets: list[Dataset]) -> None:
    angle = np.radians(40)
    for ds in datasets:
        ds.ImageOrientationPatient = [1, 0, 0, 0, float(np.cos(angle)), float(-np.sin(angle))]


@pytest.mark.parametrize(
    ("mutate", "n", "expected"),
    [
        (_set_all("Modality", "MR"), 20, "Modality MR (20) is not one of CT (selection.modalities)"),
        (_set_some("ImageType", ["ORIGINAL", "PRIMARY", "LOCALIZER"]), 20, "are localizers (ImageType contains LOCALIZER)"),
        (_drop_pixels, 20, "1 of 20 instances have no Pixel Data (7FE0,0010)"),
        (None, 4, "4 slice(s); at least 10 needed (selection.min_slices)"),
        (_two_frames, 20, "2 Frame of Reference UIDs in one series"),
        (_set_some("Rows", 16), 20, "Rows x Columns differ: 32x32 (17), 16x32 (3)"),
        (_set_some("PixelSpacing", [0.7, 0.7]), 20, "PixelSpacing differs: 0.500/0.500 (17), 0.700/0.700 (3) mm"),
        (_sagittal, 20, "not axial: slice normal is 90.0 degrees from the patient z axis"),
        (_too_tilted, 20, "not axial: slice normal is 40.0 degrees"),
        (_drop_slices, 20, "1 missing-slice gap(s) larger than 1.5 x the median spacing 5.00 mm (selection.max_gap_factor) and 2 mm (selection.gap_tolerance_mm): 20 mm after"),
        (_duplicate_position, 20, "1 duplicated slice position(s) along the normal at 20 mm"),
    ],
    ids=["modality", "localizer", "pixel-data", "min-slices", "frame-of-reference", "rows-columns",
         "pixel-spacing", "sagittal", "tilt-beyond-tolerance", "gap", "duplicate"],
)
def test_each_rule_rejects_with_a_reason(
    mutate: Callable[[list[Dataset]], None] | None, n: int, expected: str, tmp_path: Path
) -> None:
    result = select_series(headers_of(series(mutate, n), tmp_path), RULES)
    assert not result.accepted
    assert expected in result.reason, result.reason


def test_tilt_within_tolerance_is_accepted_and_recorded(tmp_path: Path) -> None:
    angle = np.radians(12)

    def tilt(datasets: list[Dataset]) -> None:
        for index, ds in enumerate(datasets):  # gantry tilt: slices stacked along z, planes tilted
            ds.ImageOrientationPatient = [1, 0, 0, 0, float(np.cos(angle)), float(-np.sin(angle))]
            ds.ImagePositionPatient = [-16, -16, index * 5.0]

    result = select_series(headers_of(series(tilt), tmp_path), RULES)
    assert result.accepted, result.reason
    assert result.facts["tilt_degrees"] == pytest.approx(12, abs=0.01)
    assert result.facts["obliquity_degrees"] == pytest.approx(12, abs=0.01)


def test_empty_series_is_refused() -> None:
    assert select_series([], RULES).reason == "no readable instance in the series"


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"not dicom")
    headers, unreadable = read_headers([InstanceRef("1.2.3", str(bad)), InstanceRef("1.2.4", str(tmp_path / "gone"))])
    assert headers == [] and unreadable == ["1.2.3", "1.2.4"]


@pytest.mark.realdata
def test_cq500_tilted_series_is_accepted_and_stray_is_not() -> None:
    folder = SHARED_DATA / "cq500-ct0"
    if not folder.is_dir():
        pytest.skip(f"no real data at {folder}")
    paths = sorted((folder / "series").glob("*.dcm"))
    headers, _ = read_headers([InstanceRef(p.stem, str(p)) for p in paths])
    result = select_series(headers, RULES)
    assert result.accepted, result.reason
    assert result.facts["slices"] == 238
    assert result.facts["tilt_degrees"] == pytest.approx(8.5, abs=0.1)
    assert result.facts["gantry_detector_tilt"] == pytest.approx(8.5)
    # instance 237 is missing from the real series: a 1.25 mm gap along z (1.24 mm along the tilted
    # normal), reported in the facts, within selection.gap_tolerance_mm
    [gap] = result.facts["gaps"]
    assert gap["gap_mm"] == pytest.approx(1.24, abs=0.01) and gap["after_mm"] == pytest.approx(116.83, abs=0.01)
    stray = [p for p in (folder / "stray").glob("*.dcm")]
    stray_headers, _ = read_headers([InstanceRef(p.stem, str(p)) for p in stray])
    assert stray_headers[0].SeriesInstanceUID != headers[0].SeriesInstanceUID
    rejected = select_series(stray_headers, RULES)
    assert "1 slice(s); at least 10 needed" in rejected.reason


def _strip(keyword: str, indices: range) -> Callable[[list[Dataset]], None]:
    def mutate(datasets: list[Dataset]) -> None:
        for index in indices:
            delattr(datasets[index], keyword)
    return mutate


def test_missing_pixel_spacing_and_matrix_are_refused_naming_the_attribute(tmp_path: Path) -> None:
    result = select_series(headers_of(series(_strip("PixelSpacing", range(3))), tmp_path / "a"), RULES)
    assert "PixelSpacing (0028,0030) missing, empty or not positive in 3 of 20 instances" in result.reason
    datasets = series()
    datasets[4].PixelSpacing = [0, 0]
    assert "PixelSpacing (0028,0030)" in select_series(headers_of(datasets, tmp_path / "b"), RULES).reason
    datasets = series()
    datasets[0].Rows = 0
    assert "Rows (0028,0010) missing, empty or not positive in 1 of 20" in select_series(datasets, RULES).reason


def test_colour_images_are_refused(tmp_path: Path) -> None:
    datasets = series()
    datasets[0].SamplesPerPixel = 3
    assert "not greyscale (SamplesPerPixel (0028,0002) != 1)" in select_series(datasets, RULES).reason


def test_stripped_type2_and_type3_attributes_do_not_refuse_a_series(tmp_path: Path) -> None:
    def strip(datasets: list[Dataset]) -> None:
        for ds in datasets:
            for keyword in ("SliceThickness", "ImageType", "FrameOfReferenceUID", "SOPClassUID", "InstanceNumber"):
                if keyword in ds:
                    delattr(ds, keyword)

    result = select_series(headers_of(series(strip), tmp_path), RULES)
    assert result.accepted, result.reason
