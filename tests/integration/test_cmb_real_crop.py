"""The microbleed pipeline end to end on real MR data: the CLEARSWI 3-echo GRE crop as two DICOM series.

The crop (``../shared/data/swi-clearswi``, 40 x 40 x 20 voxels, 3 echoes, no labels) is written as a
magnitude and a phase MR series the way a scanner sends multi-echo GRE (one instance per slice and echo,
phase as 12-bit values for -pi..pi); the assembler makes the job, the pipeline runs it (the echo nearest
20 ms is read), and every result passes dciodvfy. Nothing here says whether the crop holds a microbleed.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid
from sqlalchemy.orm import Session, sessionmaker

from db.jobs import Ticket
from db.models import utcnow
from dicomnode.assembly.assembler import Assembler
from dicomnode.config import Config
from dicomnode.pipelines import load_pipeline
from dicomnode.workers.step import StepContext
from tests.dicomnode.assembly.test_assembler import jobs, store
from tests.inference.cmb.conftest import SWI_CROP
from tests.inference.cmb.nifti import read_nifti1
from tests.integration.test_results_dicom import check_dciodvfy

pytestmark = [pytest.mark.integration, pytest.mark.realdata]

ECHO_TIMES_MS = (4.0, 8.0, 12.0)


def crop_series() -> list[Dataset]:
    """The crop as MR datasets: magnitude series (Image Type M) and phase series (P), one frame of reference."""
    if not SWI_CROP.exists():
        pytest.skip(f"{SWI_CROP} absent (../shared/data is not part of a clone)")
    magnitude, pixdim = read_nifti1(SWI_CROP / "Mag.nii")
    phase, _ = read_nifti1(SWI_CROP / "Phase.nii")
    radians = phase * (np.pi / np.abs(phase).max())  # stored scaled to about +-0.00367 (data README)
    mag_scale = 4000.0 / float(magnitude.max())
    study, frame = generate_uid(), generate_uid()
    series = {"M": generate_uid(), "P": generate_uid()}
    datasets = []
    for kind, volume in (("M", magnitude * mag_scale), ("P", (radians + np.pi) / (2 * np.pi) * 4095.0)):
        for echo, te in enumerate(ECHO_TIMES_MS):
            for k in range(volume.shape[2]):
                plane = np.clip(np.round(volume[:, :, k, echo].T), 0, 4095).astype(np.uint16)
                datasets.append(_slice(plane, kind, te, k, float(pixdim[0]), float(pixdim[2]), study,
                                       series[kind], frame, echo + 1))
    return datasets


def _slice(pixels: np.ndarray, kind: str, te: float, k: int, in_plane: float, step: float, study: str,
           series: str, frame: str, echo: int) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
    ds.SOPClassUID, ds.SOPInstanceUID = MRImageStorage, generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
    ds.Modality, ds.PatientName, ds.PatientID = "MR", "Crop^Real", "CROP1"
    ds.StudyDate, ds.StudyTime, ds.StudyID, ds.AccessionNumber, ds.ReferringPhysicianName = "20260101", "120000", "1", "", ""
    ds.PatientBirthDate, ds.PatientSex = "", "O"
    ds.SeriesNumber, ds.InstanceNumber = 1 if kind == "M" else 2, (echo - 1) * 100 + k + 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", kind, "ND"]
    ds.ScanningSequence, ds.SequenceVariant, ds.ScanOptions, ds.MRAcquisitionType = "GR", "SP", "", "3D"
    ds.SeriesDescription = f"GRE multi-echo {'magnitude' if kind == 'M' else 'phase'}"
    ds.EchoTime, ds.EchoNumbers, ds.RepetitionTime, ds.FlipAngle = f"{te:g}", echo, "20", "15"
    ds.MagneticFieldStrength, ds.BodyPartExamined = "3", "HEAD"
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [0.0, 0.0, k * step]
    ds.PixelSpacing, ds.SliceThickness = [in_plane, in_plane], f"{step:g}"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = pixels.tobytes()
    return ds


@pytest.mark.slow
def test_the_real_crop_runs_through_selection_analysis_and_valid_results(
    sessions: sessionmaker[Session], tmp_path: Path,
) -> None:
    datasets = crop_series()
    store(sessions, datasets, tmp_path / "stored", None)
    Assembler(Config(assembly={"quiet_seconds": 5.0}), sessions).tick(utcnow() + timedelta(seconds=6))
    [job] = [job for job in jobs(sessions) if job.pipeline == "cmb_swi"]
    assert job.state == "queued" and job.inputs is not None and len(job.inputs) == 2
    ticket = Ticket(job.id, job.study_uid, job.series_uid, job.version, 1, 3, job.instance_count,
                    job.max_instance_id, "w1", dict(job.detail), job.created_at, job.pipeline, tuple(job.inputs))
    config = Config(results={"dir": str(tmp_path / "results")})
    pipeline = load_pipeline("cmb_swi")
    result = pipeline.run(ticket, ticket.inputs, pipeline.load_model(config), StepContext(config, sessions, "w1")).result
    assert result["magnitude_only"] is False and result["candidates"] >= 0
    files = sorted((tmp_path / "results").rglob("*.dcm"))
    assert [pydicom.dcmread(p).SOPClassUID for p in files].count("1.2.840.10008.5.1.4.1.1.88.34") == 1
    check_dciodvfy({"real-crop": files})
