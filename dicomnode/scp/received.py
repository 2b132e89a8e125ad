"""What a C-STORE data set must prove before the node answers Success (PS3.4 B.2.3, PS3.5 Sections 7-8).

:func:`read_received` turns the bytes of a received data set into the facts the node records, or raises a
:class:`~dicomnode.errors.StorageError` naming the rule broken:

- Deflated Explicit VR Little Endian is inflated within a cap (:mod:`dicomnode.scp.inflate`): 0xA700.
- The encoding is whole: every length fits, tags ascend, delimiters close (:mod:`dicomnode.scp.structure`):
  0xC210.
- SOP Instance UID (0008,0018) is present and equals the request's Affected SOP Instance UID (0000,1000);
  Study and Series Instance UIDs are valid (PS3.5 9.1): 0xC210.
- SOP Class UID (0008,0016) equals the request's Affected SOP Class UID (0000,0002): 0xA900
  (data set does not match SOP class).
- Native (not encapsulated) Pixel Data (7FE0,0010) holds exactly Rows x Columns x Number of Frames x
  Samples per Pixel x Bits Allocated / 8 bytes, plus at most one padding byte (PS3.5 8.1.1): 0xC210.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

from pydicom.dataset import Dataset
from pydicom.filereader import read_dataset
from pydicom.pixels.utils import get_expected_length
from pydicom.tag import BaseTag
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian

from db.text import quoted
from dicomnode.errors import CannotUnderstand, DatasetMismatch
from dicomnode.uid_policy import UidPolicy, check_instance_uids
from dicomnode.scp.inflate import InflateLimits, inflate
from dicomnode.scp.structure import PIXEL_DATA, check_structure

PIXEL_ATTRIBUTES = ("Rows", "Columns", "BitsAllocated", "SamplesPerPixel")


STUDY_UID = "Study Instance UID (0020,000D)"
SERIES_UID = "Series Instance UID (0020,000E)"


@dataclass(frozen=True)
class Received:
    """The facts of one checked data set (UIDs and technical attributes only)."""

    sop_instance_uid: str
    sop_class_uid: str
    study_uid: str
    series_uid: str
    modality: str | None
    uid_warnings: tuple[str, ...] = ()


def read_received(
    raw: bytes, transfer_syntax: str, sop_class_uid: str, sop_instance_uid: str, limits: InflateLimits,
    uid_policy: UidPolicy = "strict",
) -> Received:
    """Check the encoded data set ``raw`` received under ``transfer_syntax`` against its C-STORE request.

    The Study and Series Instance UIDs are checked by ``uid_policy`` (:mod:`dicomnode.uid_policy`); a
    non-conformant value it accepts comes back as a warning in :attr:`Received.uid_warnings`.
    """
    syntax = UID(transfer_syntax)
    data = inflate(raw, limits) if syntax == DeflatedExplicitVRLittleEndian else raw
    implicit, little = bool(syntax.is_implicit_VR), bool(syntax.is_little_endian)
    pixel_length = check_structure(data, implicit_vr=implicit, little_endian=little)
    try:  # the header only: the walk above has checked the pixel data's encoding and measured it
        dataset = read_dataset(BytesIO(data), is_implicit_VR=implicit, is_little_endian=little,
                               stop_when=_at_pixel_data)
        dataset_sop_uid = dataset.get("SOPInstanceUID")
        dataset_class_uid = dataset.get("SOPClassUID")
        study_uid, series_uid = dataset.get("StudyInstanceUID"), dataset.get("SeriesInstanceUID")
        modality = dataset.get("Modality")
    except Exception as exc:  # noqa: BLE001 - pydicom raises many types on corrupt values
        raise CannotUnderstand(f"data set does not parse: {type(exc).__name__}: {exc}") from exc
    if dataset_sop_uid is None:
        raise CannotUnderstand("SOP Instance UID (0008,0018) is missing from the data set")
    if _text(dataset_sop_uid) != sop_instance_uid:
        raise CannotUnderstand(
            f"SOP Instance UID (0008,0018) {quoted(_text(dataset_sop_uid))} differs from the request's "
            f"Affected SOP Instance UID (0000,1000) {quoted(sop_instance_uid)}"
        )
    if dataset_class_uid is None or _text(dataset_class_uid) != sop_class_uid:
        found = quoted(_text(dataset_class_uid)) if dataset_class_uid is not None else "missing"
        raise DatasetMismatch(
            f"SOP Class UID (0008,0016) {found} does not match the request's Affected SOP Class UID "
            f"(0000,0002) {quoted(sop_class_uid)}"
        )
    if not syntax.is_encapsulated and pixel_length is not None:
        check_pixel_length(dataset, pixel_length)
    checked = check_instance_uids(
        {STUDY_UID: study_uid, SERIES_UID: series_uid}, uid_policy
    )
    return Received(
        sop_instance_uid=sop_instance_uid,
        sop_class_uid=sop_class_uid,
        study_uid=checked.values[STUDY_UID],
        series_uid=checked.values[SERIES_UID],
        modality=(_text(modality)[:16] or None) if modality is not None else None,
        uid_warnings=tuple(checked.warnings),
    )


def check_pixel_length(dataset: Dataset, actual: int) -> None:
    """CannotUnderstand unless native Pixel Data of ``actual`` bytes has the length its image attributes give."""
    for keyword in PIXEL_ATTRIBUTES:
        value = dataset.get(keyword)
        if not isinstance(value, int) or value <= 0:
            found = quoted(value) if value is not None else "missing"
            raise CannotUnderstand(f"Pixel Data is present but {keyword} is {found}")
    try:
        expected = get_expected_length(dataset, unit="bytes")
    except Exception as exc:  # noqa: BLE001 - a corrupt Number of Frames, for instance
        raise CannotUnderstand(f"the length of Pixel Data cannot be derived: {type(exc).__name__}: {exc}") from exc
    if actual not in (expected, expected + expected % 2):
        raise CannotUnderstand(
            f"Pixel Data (7FE0,0010) holds {actual} bytes; Rows x Columns x Number of Frames x Samples per Pixel x "
            f"Bits Allocated / 8 gives {expected} (PS3.5 8.1.1)"
        )


def _at_pixel_data(tag: BaseTag, vr: str | None, length: int) -> bool:
    return bool(tag == PIXEL_DATA)


def _text(value: object) -> str:
    return str(value).strip().rstrip("\x00")
