"""The checks of a received data set read from the walk of its encoding (dicomnode.scp.received), in each
native transfer syntax, against pydicom's reading of the same attributes."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.pixels.utils import get_expected_length
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from dicomnode.errors import CannotUnderstand, DatasetMismatch
from dicomnode.scp.inflate import InflateLimits
from dicomnode.scp.received import read_received
from tests.factories import ct_series

LIMITS = InflateLimits(1 << 24, 100)
SYNTAXES = [ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian]


def encoded(ds: Dataset, syntax: str) -> bytes:
    buffer = DicomBytesIO()
    buffer.is_little_endian = syntax != ExplicitVRBigEndian
    buffer.is_implicit_VR = syntax == ImplicitVRLittleEndian
    write_dataset(buffer, ds)
    return buffer.getvalue()


def read(ds: Dataset, syntax: str = ExplicitVRLittleEndian, instance: str | None = None) -> object:
    return read_received(encoded(ds, syntax), syntax, str(ds.SOPClassUID), instance or str(ds.SOPInstanceUID), LIMITS)


@pytest.mark.parametrize("syntax", SYNTAXES)
def test_a_whole_slice_gives_its_uids_in_every_native_syntax(syntax: str) -> None:
    ds = ct_series(1, 32)[0]
    ds.StudyInstanceUID = str(ds.StudyInstanceUID) + "\x00"  # padding is not part of the value
    received = read(ds, syntax)
    assert (received.study_uid, received.series_uid, received.modality) == (  # type: ignore[attr-defined]
        str(ds.StudyInstanceUID).rstrip("\x00"), str(ds.SeriesInstanceUID), "CT")


@pytest.mark.parametrize("bits, samples, photometric, frames", [
    (16, 1, "MONOCHROME2", None), (8, 3, "RGB", "3"), (1, 1, "MONOCHROME2", "2"), (8, 3, "YBR_FULL_422", None)])
@pytest.mark.parametrize("syntax", SYNTAXES)
def test_the_expected_pixel_length_is_pydicoms(bits: int, samples: int, photometric: str, frames: str | None,
                                                 syntax: str) -> None:
    ds = ct_series(1, 32)[0]
    ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, ds.HighBit = 5, 7, bits, bits, bits - 1
    ds.SamplesPerPixel, ds.PhotometricInterpretation = samples, photometric
    if frames is not None:
        ds.NumberOfFrames = frames
    expected = get_expected_length(ds, unit="bytes")
    ds.PixelData = b"\x01" * (expected + expected % 2)
    read(ds, syntax)  # accepted
    ds.PixelData = b"\x01" * (expected + expected % 2 + 2)
    with pytest.raises(CannotUnderstand, match=f"gives {expected} "):
        read(ds, syntax)


def test_missing_or_corrupt_image_attributes_are_named() -> None:
    ds = ct_series(1, 32)[0]
    del ds.Rows
    with pytest.raises(CannotUnderstand, match="Rows is missing"):
        read(ds)
    ds = ct_series(1, 32)[0]
    ds.NumberOfFrames = "7777777"
    raw = encoded(ds, ExplicitVRLittleEndian).replace(b"7777777 ", b"seven   ")  # pydicom refuses to write it
    with pytest.raises(CannotUnderstand, match="Number of Frames is 'seven'"):
        read_received(raw, ExplicitVRLittleEndian, str(ds.SOPClassUID), str(ds.SOPInstanceUID), LIMITS)


def test_uids_must_agree_with_the_request() -> None:
    ds = ct_series(1, 32)[0]
    with pytest.raises(CannotUnderstand, match="differs from the request"):
        read(ds, instance="1.2.3")
    del ds.SOPInstanceUID
    with pytest.raises(CannotUnderstand, match="is missing"):
        read(ds, instance="1.2.3")
    ds = ct_series(1, 32)[0]
    with pytest.raises(DatasetMismatch):
        read_received(encoded(ds, ExplicitVRLittleEndian), ExplicitVRLittleEndian, "1.2.840.10008.5.1.4.1.1.4",
                      str(ds.SOPInstanceUID), LIMITS)
