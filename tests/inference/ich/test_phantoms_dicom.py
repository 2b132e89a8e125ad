"""The phantom DICOM writer and ground truth: valid CT Image Storage files that read back to the same HU."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import UID, CTImageStorage, ExplicitVRLittleEndian

from inference.ich.labels import LABELS
from inference.ich.phantoms import (
    GROUND_TRUTH_NAME,
    PhantomStudy,
    generate_study,
    phantom_uids,
    write_dicom,
    write_ground_truth,
)
from inference.ich.volume import Volume


@pytest.fixture(scope="module")
def tilted() -> PhantomStudy:
    return generate_study(42, "SDH", n_slices=8, size=64, gantry_tilt=18.0)


@pytest.fixture(scope="module")
def written(tilted: PhantomStudy, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_dicom(tilted, tmp_path_factory.mktemp("phantom"))


def read_all(paths: list[Path]) -> list[pydicom.Dataset]:
    return [pydicom.dcmread(p) for p in paths]


def test_one_ct_image_file_per_slice_with_file_meta(tilted: PhantomStudy, written: list[Path]) -> None:
    assert [p.name for p in written] == [f"CT{i:04d}.dcm" for i in range(1, tilted.n_slices + 1)]
    for ds in read_all(written):
        assert ds.preamble is not None
        assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert ds.file_meta.MediaStorageSOPClassUID == CTImageStorage == ds.SOPClassUID
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.Modality == "CT" and list(ds.ImageType) == ["ORIGINAL", "PRIMARY", "AXIAL"]
        assert ds.PatientName == "PHANTOM^42" and ds.PatientID == "PHANTOM-42"
        assert ds.Manufacturer == "dicomnode phantom" and ds.BodyPartExamined == "HEAD"
        assert ds.StudyDescription == "CT HEAD WO CONTRAST"
        assert (ds.RescaleIntercept, ds.RescaleSlope) == (-1024, 1)
        assert (ds.WindowCenter, ds.WindowWidth) == (40, 80)
        assert ds.BitsAllocated == 16 and ds.HighBit == ds.BitsStored - 1
        assert (ds.BitsStored, ds.PixelRepresentation) == (12, 0)
        assert float(ds.KVP) > 0 and ds.PatientPosition == "HFS"


def test_uids_are_valid_shared_and_unique(written: list[Path]) -> None:
    datasets = read_all(written)
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"):
        values = {ds.data_element(keyword).value for ds in datasets}
        assert len(values) == 1 and UID(values.pop()).is_valid
    sops = [ds.SOPInstanceUID for ds in datasets]
    assert len(set(sops)) == len(sops) and all(UID(s).is_valid for s in sops)


def test_pixels_read_back_as_the_generated_hu(tilted: PhantomStudy, written: list[Path]) -> None:
    for k, ds in enumerate(read_all(written)):
        hu = ds.pixel_array.astype(np.int32) * int(ds.RescaleSlope) + int(ds.RescaleIntercept)
        assert np.array_equal(hu, tilted.hu[k])


def test_signed_pixels_read_back_too(tilted: PhantomStudy, tmp_path: Path) -> None:
    paths = write_dicom(tilted, tmp_path, signed=True)
    ds = pydicom.dcmread(paths[3])
    assert (ds.PixelRepresentation, ds.BitsStored, ds.HighBit) == (1, 16, 15)
    assert ds.pixel_array.dtype == np.int16
    assert np.array_equal(ds.pixel_array.astype(np.int32) - 1024, tilted.hu[3])


def test_tilted_positions_do_not_step_along_the_orientation_normal(tilted: PhantomStudy, written: list[Path]) -> None:
    datasets = read_all(written)
    iop = np.array(datasets[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    positions = np.array([ds.ImagePositionPatient for ds in datasets], dtype=float)
    step = positions[1] - positions[0]
    cos = float(step @ normal / np.linalg.norm(step))
    assert np.degrees(np.arccos(cos)) == pytest.approx(18.0, abs=0.1)
    assert float(datasets[0].GantryDetectorTilt) == pytest.approx(18.0)
    assert np.allclose(np.diff(positions @ normal), float(datasets[0].SliceThickness), atol=1e-3)
    assert np.allclose(positions, tilted.geometry.positions, atol=1e-4)
    assert [float(v) for v in datasets[0].PixelSpacing] == pytest.approx(list(tilted.geometry.pixel_spacing))


def test_series_loads_as_a_volume_with_the_same_hu_and_tilt(tilted: PhantomStudy, written: list[Path]) -> None:
    datasets = read_all(written)[::-1]
    volume = Volume.from_datasets(datasets)
    assert np.array_equal(volume.hu, tilted.hu.astype(volume.hu.dtype))
    assert volume.tilt_degrees == pytest.approx(18.0, abs=0.1)
    assert volume.sop_instance_uids == phantom_uids(tilted).sop_instances


def test_same_seed_writes_identical_files(tmp_path: Path) -> None:
    first = write_dicom(generate_study(3, "none", n_slices=3, size=32), tmp_path / "a")
    second = write_dicom(generate_study(3, "none", n_slices=3, size=32), tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_ground_truth_is_keyed_by_sop_instance_uid(tilted: PhantomStudy, written: list[Path]) -> None:
    path = write_ground_truth(tilted, written[0].parent, written)
    assert path.name == GROUND_TRUTH_NAME
    truth = json.loads(path.read_text())
    datasets = read_all(written)
    assert truth["classes"] == list(LABELS)
    assert truth["study_instance_uid"] == datasets[0].StudyInstanceUID
    assert list(truth["slices"]) == [ds.SOPInstanceUID for ds in datasets]
    assert truth["study"] == {name: int(v) for name, v in zip(LABELS, tilted.study_labels)}
    assert truth["study"]["subdural"] == 1
    for k, ds in enumerate(datasets):
        entry = truth["slices"][ds.SOPInstanceUID]
        assert entry["file"] == written[k].name and entry["instance_number"] == ds.InstanceNumber
        assert [entry[name] for name in LABELS] == tilted.slice_labels[k].tolist()


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy (dicom3tools) not on PATH")
@pytest.mark.parametrize("signed", [False, True])
def test_dciodvfy_reports_no_errors(tilted: PhantomStudy, tmp_path: Path, signed: bool) -> None:
    path = write_dicom(tilted, tmp_path, signed=signed)[4]
    result = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    assert "CTImage" in output, output
    errors = [line for line in output.splitlines() if "Error" in line]
    assert not errors, output
