"""Write a :class:`PhantomStudy` as a CT Image Storage series, one Part 10 file per slice.

Each file is a CT Image IOD (PS3.3 A.3) in Explicit VR Little Endian with these modules filled:
Patient (C.7.1.1), General Study (C.7.2.1), Patient Study (C.7.2.2), General Series (C.7.3.1),
Frame of Reference (C.7.4.1), General Equipment (C.7.5.1), General Acquisition (C.7.10.1),
General Image (C.7.6.1), Image Plane (C.7.6.2), Image Pixel (C.7.6.3), CT Image (C.8.2.1),
VOI LUT (C.11.2) and SOP Common (C.12.1); the file meta information follows PS3.10 7.1.

All identifiers, dates and UIDs derive from the seed and the generation parameters, so the same seed
gives byte-identical files. Patient data are synthetic (``PHANTOM^<seed>``).
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, CTImageStorage, ExplicitVRLittleEndian, generate_uid

from inference.ich.phantoms.study import PhantomStudy

logger = logging.getLogger(__name__)

RESCALE_INTERCEPT = -1024
MANUFACTURER = "dicomnode phantom"
FILE_PATTERN = "CT{:04d}.dcm"


@dataclass(frozen=True)
class PhantomUids:
    """Deterministic UIDs of one phantom series."""

    study: str
    series: str
    frame_of_reference: str
    sop_instances: tuple[str, ...]


def phantom_uids(study: PhantomStudy) -> PhantomUids:
    """UIDs from the seed and generation parameters (``generate_uid`` with ``entropy_srcs``)."""
    g = study.geometry
    key = ["dicomnode-phantom", str(study.seed), study.request, str(study.n_slices), str(g.rows),
           f"{g.slice_thickness:.3f}", f"{g.gantry_tilt:.3f}"]

    def uid(*extra: str) -> str:
        return str(generate_uid(entropy_srcs=[*key, *extra]))

    return PhantomUids(uid("study"), uid("series"), uid("frame-of-reference"),
                       tuple(uid("sop", str(i)) for i in range(study.n_slices)))


def _ds(value: float) -> str:
    """A Decimal String value of at most 16 characters."""
    text = f"{value:.6g}"
    return "0" if text in ("-0", "0") else text


def _moment(seed: int) -> dt.datetime:
    """A synthetic, seed-derived acquisition date and time within 2020-2024 working hours."""
    day = dt.date(2020, 1, 1) + dt.timedelta(days=seed % 1826)
    minutes = 7 * 60 + (seed * 37) % (12 * 60)
    return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60, seed % 60))


def _common(study: PhantomStudy, uids: PhantomUids) -> Dataset:
    """Attributes shared by every slice of the series."""
    seed = study.seed
    moment = _moment(seed)
    date, time = moment.strftime("%Y%m%d"), moment.strftime("%H%M%S")
    g = study.geometry
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.InstanceCreationDate, ds.InstanceCreationTime = date, time
    ds.SOPClassUID = CTImageStorage
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = date
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = time
    ds.AccessionNumber = f"PH{seed % 10**12:012d}"
    ds.Modality = "CT"
    ds.Manufacturer = MANUFACTURER
    ds.InstitutionName = "dicomnode synthetic data"
    ds.ReferringPhysicianName = ""
    ds.StationName = "PHANTOM"
    ds.StudyDescription = "CT HEAD WO CONTRAST"
    ds.SeriesDescription = f"HEAD {g.slice_thickness:g}mm" + (f" TILT {g.gantry_tilt:.0f}" if g.gantry_tilt else "")
    ds.ManufacturerModelName = "synthetic head CT"
    ds.PatientName = f"PHANTOM^{seed}"
    ds.PatientID = f"PHANTOM-{seed}"
    ds.PatientBirthDate = f"{1935 + seed % 65}0101"
    ds.PatientSex = "F" if seed % 2 else "M"
    ds.PatientAge = f"{moment.year - (1935 + seed % 65):03d}Y"
    ds.BodyPartExamined = "HEAD"
    ds.SliceThickness = _ds(g.slice_thickness)
    ds.KVP = "120"
    ds.DataCollectionDiameter = "500"
    ds.SoftwareVersions = "dicomnode-phantom 1"
    ds.ReconstructionDiameter = _ds(g.pixel_spacing[1] * g.cols)
    ds.GantryDetectorTilt = _ds(g.gantry_tilt)
    ds.TableHeight = "150"
    ds.RotationDirection = "CW"
    ds.ExposureTime = "1000"
    ds.XRayTubeCurrent = "300"
    ds.Exposure = "300"
    ds.ConvolutionKernel = "H30s"
    ds.PatientPosition = "HFS"
    ds.StudyInstanceUID = uids.study
    ds.SeriesInstanceUID = uids.series
    ds.StudyID = f"PH{seed % 10**8}"
    ds.SeriesNumber = 2
    ds.AcquisitionNumber = 1
    ds.ImageOrientationPatient = [_ds(v) for v in g.orientation]
    ds.FrameOfReferenceUID = uids.frame_of_reference
    ds.PositionReferenceIndicator = ""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = g.rows, g.cols
    ds.PixelSpacing = [_ds(g.pixel_spacing[0]), _ds(g.pixel_spacing[1])]
    ds.BitsAllocated = 16
    ds.WindowCenter, ds.WindowWidth = "40", "80"
    ds.WindowCenterWidthExplanation = "BRAIN"
    ds.RescaleIntercept = str(RESCALE_INTERCEPT)
    ds.RescaleSlope = "1"
    ds.RescaleType = "HU"
    return ds


def write_dicom(study: PhantomStudy, out_dir: str | Path, signed: bool = False) -> list[Path]:
    """Write one file per slice into ``out_dir`` (created if needed); return their paths in slice order.

    Parameters
    ----------
    study : PhantomStudy
        The phantom to write.
    out_dir : str or Path
        Directory for ``CT0001.dcm``, ``CT0002.dcm``, ... (slice 1 is the most caudal).
    signed : bool
        Store signed 16-bit values (Pixel Representation 1, Bits Stored 16) instead of unsigned 12-bit.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    uids = phantom_uids(study)
    common = _common(study, uids)
    g = study.geometry
    stored = study.hu.astype(np.int32) - RESCALE_INTERCEPT
    if stored.min() < 0 or stored.max() > 4095:
        raise ValueError("phantom HU outside -1024..3071 cannot be stored in 12 bits")
    paths = []
    for index in range(study.n_slices):
        ds = copy.deepcopy(common)
        ds.SOPInstanceUID = uids.sop_instances[index]
        ds.InstanceNumber = index + 1
        ds.ImagePositionPatient = [_ds(v) for v in g.positions[index]]
        ds.SliceLocation = _ds(float(g.slice_locations[index]))
        if signed:
            ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 15, 1
            pixels = stored[index].astype("<i2")
        else:
            ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 12, 11, 0
            pixels = stored[index].astype("<u2")
        ds.PixelData = pixels.tobytes()
        ds["PixelData"].VR = "OW"
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        meta.ImplementationVersionName = "DICOMNODE_PH1"
        ds.file_meta = meta
        path = out / FILE_PATTERN.format(index + 1)
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    logger.info("wrote phantom series %s (%d files) to %s", uids.series, len(paths), out)
    return paths
