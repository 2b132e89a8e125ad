"""Write an :class:`SwiPhantom` as two MR Image Storage series (magnitude and phase) plus its truth JSON.

Each file is an MR Image IOD (PS3.3 A.4) in Explicit VR Little Endian: Patient, General Study, General
Series, Frame of Reference, General Equipment, General Image, Image Plane, Image Pixel, MR Image (C.8.3.1)
and SOP Common modules. Both series share the study and the Frame of Reference UID and have identical
geometry. Image Type (0008,0008) value 3 is ``M`` for magnitude and ``P`` for phase.

Phase storage (``phase_encoding``):

- ``"12bit"`` (default; the common vendor convention): unsigned 12-bit values, 0..4095 mapping linearly to
  -pi..+pi, no Modality LUT;
- ``"radians"``: the same values with Rescale Slope 2*pi/4095 and Rescale Intercept -pi, so that the
  Modality LUT output is in radians.

UIDs derive from the seed, so the same seed gives byte-identical files. Patient data are synthetic.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, MRImageStorage, generate_uid

from inference.cmb.phantom.study import SwiPhantom

TRUTH_NAME = "ground_truth.json"
PHASE_ENCODINGS = ("12bit", "radians")


def _ds(value: float) -> str:
    text = f"{value:.6g}"
    return "0" if text in ("-0", "0") else text


def _uid(seed: int, *parts: str) -> str:
    return str(generate_uid(entropy_srcs=["dicomnode-swi-phantom", str(seed), *parts]))


def _base(phantom: SwiPhantom) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = MRImageStorage
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = "20260101"
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = "120000"
    ds.AccessionNumber = f"SWI{phantom.seed}"
    ds.Modality = "MR"
    ds.Manufacturer = "dicomnode phantom"
    ds.ReferringPhysicianName = ""
    ds.PatientName = f"PHANTOM^SWI{phantom.seed}"
    ds.PatientID = f"SWI-PHANTOM-{phantom.seed}"
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.StudyInstanceUID = _uid(phantom.seed, "study")
    ds.StudyID = str(phantom.seed % 100000)
    ds.FrameOfReferenceUID = _uid(phantom.seed, "frame-of-reference")
    ds.PositionReferenceIndicator = ""
    ds.BodyPartExamined = "HEAD"
    ds.PatientPosition = "HFS"
    seq = phantom.sequence
    ds.ScanningSequence = "GR"
    ds.SequenceVariant = "SP"
    ds.ScanOptions = ""
    ds.MRAcquisitionType = "3D"
    ds.RepetitionTime = _ds(seq.tr_s * 1000)
    ds.EchoTime = _ds(seq.te_s * 1000)
    ds.EchoTrainLength = "1"
    ds.FlipAngle = _ds(seq.flip_deg)
    ds.MagneticFieldStrength = _ds(seq.field_t)
    ds.ImagingFrequency = _ds(42.577 * seq.field_t)
    ds.ImagedNucleus = "1H"
    ds.SliceThickness = _ds(phantom.spacing_mm[0])
    ds.SpacingBetweenSlices = _ds(phantom.spacing_mm[0])
    ds.PixelSpacing = [_ds(phantom.spacing_mm[1]), _ds(phantom.spacing_mm[2])]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = phantom.magnitude.shape[1:]
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    return ds


def _series(phantom: SwiPhantom, out_dir: Path, kind: str, stored: np.ndarray, number: int,
            phase_encoding: str) -> list[Path]:
    base = _base(phantom)
    base.SeriesInstanceUID = _uid(phantom.seed, "series", kind)
    base.SeriesNumber = number
    base.SeriesDescription = "SWI magnitude" if kind == "M" else "SWI phase"
    base.ImageType = ["ORIGINAL", "PRIMARY", kind, "ND"]
    if kind == "P" and phase_encoding == "radians":
        base.RescaleSlope = _ds(2 * np.pi / 4095)
        base.RescaleIntercept = _ds(-np.pi)
        base.RescaleType = "RAD"
    files = []
    for k in range(stored.shape[0]):
        ds = Dataset()
        ds.update(base)
        ds.SOPInstanceUID = _uid(phantom.seed, "sop", kind, str(k))
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [_ds(phantom.origin_mm[0]), _ds(phantom.origin_mm[1]),
                                   _ds(phantom.origin_mm[2] + k * phantom.spacing_mm[0])]
        ds.SliceLocation = _ds(phantom.origin_mm[2] + k * phantom.spacing_mm[0])
        ds.PixelData = np.ascontiguousarray(stored[k]).astype("<u2").tobytes()
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = MRImageStorage
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        ds.file_meta = meta
        path = out_dir / f"{'MAG' if kind == 'M' else 'PHA'}{k + 1:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    return files


def write_swi_dicom(phantom: SwiPhantom, out_dir: Path, phase_encoding: str = "12bit") -> list[Path]:
    """Write the magnitude (series 501) and phase (series 502) files and ``ground_truth.json``."""
    if phase_encoding not in PHASE_ENCODINGS:
        raise ValueError(f"phase_encoding must be one of {PHASE_ENCODINGS}, not {phase_encoding!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    scale = float(np.percentile(phantom.magnitude, 99.9)) or 1.0
    magnitude = np.clip(np.round(phantom.magnitude / scale * 3500), 0, 4095).astype(np.uint16)
    phase = np.clip(np.round((phantom.phase + np.pi) / (2 * np.pi) * 4095), 0, 4095).astype(np.uint16)
    files = _series(phantom, out_dir, "M", magnitude, 501, phase_encoding)
    files += _series(phantom, out_dir, "P", phase, 502, phase_encoding)
    truth = phantom.truth_dict()
    truth["phase_encoding"] = phase_encoding
    truth["files"] = [path.name for path in files]
    (out_dir / TRUTH_NAME).write_text(json.dumps(truth, indent=2))
    return files
