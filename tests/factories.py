"""Small DICOM datasets for tests, made with pydicom (no patient data: synthetic names and IDs)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid
from sqlalchemy.orm import Session, sessionmaker

from db.ingest import InstanceInfo, add_instance
from db.jobs import NewJob, Ticket, claim_next, create_job
from db.models import utcnow


def ct_slice(
    pixels: np.ndarray, position: Sequence[float], orientation: Sequence[float] = (1, 0, 0, 0, 1, 0),
    series_uid: str = "1.2.3.4", slope: float = 1.0, intercept: float = -1024.0, spacing: float = 0.5,
) -> Dataset:
    """One CT Image Storage slice (Explicit VR Little Endian) holding ``pixels`` as stored values.

    int16 pixels are stored signed (PixelRepresentation 1), uint16 unsigned; HU = stored x slope + intercept.
    """
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.SeriesInstanceUID = series_uid
    ds.Modality = "CT"
    ds.ImageOrientationPatient = [float(v) for v in orientation]
    ds.ImagePositionPatient = [float(v) for v in position]
    ds.PixelSpacing = [spacing, spacing]
    ds.SliceThickness = 5.0
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    unsigned = pixels.dtype == np.uint16
    ds.PixelRepresentation = 0 if unsigned else 1
    ds.RescaleSlope = slope
    ds.RescaleIntercept = intercept
    ds.PixelData = pixels.astype(np.uint16 if unsigned else np.int16).tobytes()
    return ds


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
        hounsfield = rng.integers(-1000, 1000, (size, size), dtype=np.int16)
        stored = hounsfield if signed else (hounsfield + 1024).astype(np.uint16)
        position = (-0.5 * size, -0.5 * size, index * spacing)
        ds = ct_slice(stored, position, series_uid=series_uid, intercept=0 if signed else -1024)
        ds.SliceThickness = spacing
        ds.StudyInstanceUID = study_uid
        ds.FrameOfReferenceUID = frame_uid
        ds.PatientName = "TEST^SYNTHETIC"
        ds.PatientID = "SYNTH-0001"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.SeriesNumber = 1
        ds.InstanceNumber = index + 1
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


def claimed_job(sessions: sessionmaker[Session], files: Sequence[Path], worker_id: str = "w1") -> Ticket:
    """Record ``files`` (one series, already in storage) as received instances, queue a job for the series and
    claim it as ``worker_id``: the ticket a worker would hand to the analysis step."""
    for path in files:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        info = InstanceInfo(str(ds.SOPInstanceUID), str(ds.SOPClassUID), str(ds.StudyInstanceUID),
                            str(ds.SeriesInstanceUID), str(ds.get("Modality", "CT")),
                            str(ds.file_meta.TransferSyntaxUID), str(path), path.stat().st_size)
        assert add_instance(sessions, info, None, lambda: None)
    with sessions.begin() as session:
        create_job(session, NewJob(str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), "test", len(files),
                                   len(files), utcnow()), None)
    ticket = claim_next(sessions, worker_id)
    assert ticket is not None
    return ticket
