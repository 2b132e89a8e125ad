"""Small DICOM datasets for tests, made with pydicom (no patient data: synthetic names and IDs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid


def ct_series(
    n_slices: int = 40,
    size: int = 64,
    *,
    study_uid: str | None = None,
    series_uid: str | None = None,
    spacing: float = 5.0,
    seed: int = 0,
    signed: bool = True,
) -> list[Dataset]:
    """An axial CT series of ``n_slices`` slices, ``size`` x ``size`` pixels, positions ``spacing`` mm apart.

    Pixels are random HU in [-1000, 1000); ``signed=False`` stores them unsigned with intercept -1024.
    """
    rng = np.random.default_rng(seed)
    study_uid = study_uid or generate_uid()
    series_uid = series_uid or generate_uid()
    frame_uid = generate_uid()
    datasets = []
    for index in range(n_slices):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.FrameOfReferenceUID = frame_uid
        ds.PatientName = "TEST^SYNTHETIC"
        ds.PatientID = "SYNTH-0001"
        ds.Modality = "CT"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.SeriesNumber = 1
        ds.InstanceNumber = index + 1
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [-0.5 * size, -0.5 * size, index * spacing]
        ds.PixelSpacing = [0.5, 0.5]
        ds.SliceThickness = spacing
        ds.Rows = ds.Columns = size
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1 if signed else 0
        ds.RescaleIntercept = 0 if signed else -1024
        ds.RescaleSlope = 1
        hounsfield = rng.integers(-1000, 1000, (size, size), dtype=np.int16)
        stored = hounsfield if signed else (hounsfield + 1024).astype(np.uint16)
        ds.PixelData = stored.tobytes()
        datasets.append(ds)
    return datasets


def write_series(datasets: list[Dataset], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, ds in enumerate(datasets):
        path = folder / f"slice{index:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths
