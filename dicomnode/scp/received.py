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

import struct
from dataclasses import dataclass

from pydicom.uid import UID, DeflatedExplicitVRLittleEndian

from db.text import quoted
from dicomnode.errors import CannotUnderstand, DatasetMismatch
from dicomnode.uid_policy import UidPolicy, check_instance_uids
from dicomnode.scp.inflate import InflateLimits, inflate
from dicomnode.scp.structure import Structure, check_structure

SOP_CLASS, SOP_INSTANCE, MODALITY = 0x00080016, 0x00080018, 0x00080060
STUDY, SERIES = 0x0020000D, 0x0020000E
SAMPLES_PER_PIXEL, PHOTOMETRIC, FRAMES, ROWS, COLUMNS, BITS_ALLOCATED = (
    0x00280002, 0x00280004, 0x00280008, 0x00280010, 0x00280011, 0x00280100)
PIXEL_ATTRIBUTES = {"Rows": ROWS, "Columns": COLUMNS, "BitsAllocated": BITS_ALLOCATED,
                    "SamplesPerPixel": SAMPLES_PER_PIXEL}
WANTED = frozenset({SOP_CLASS, SOP_INSTANCE, MODALITY, STUDY, SERIES, PHOTOMETRIC, FRAMES, *PIXEL_ATTRIBUTES.values()})


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

    The attributes checked are read from the walk of the encoding (:func:`check_structure`), not from a
    second parse. The Study and Series Instance UIDs are checked by ``uid_policy``
    (:mod:`dicomnode.uid_policy`); a non-conformant value it accepts comes back as a warning in
    :attr:`Received.uid_warnings`.
    """
    syntax = UID(transfer_syntax)
    data = inflate(raw, limits) if syntax == DeflatedExplicitVRLittleEndian else raw
    little = bool(syntax.is_little_endian)
    found = check_structure(data, implicit_vr=bool(syntax.is_implicit_VR), little_endian=little, wanted=WANTED)
    dataset_sop_uid, dataset_class_uid = _text(found, SOP_INSTANCE), _text(found, SOP_CLASS)
    if dataset_sop_uid is None:
        raise CannotUnderstand("SOP Instance UID (0008,0018) is missing from the data set")
    if dataset_sop_uid != sop_instance_uid:
        raise CannotUnderstand(
            f"SOP Instance UID (0008,0018) {quoted(dataset_sop_uid)} differs from the request's "
            f"Affected SOP Instance UID (0000,1000) {quoted(sop_instance_uid)}"
        )
    if dataset_class_uid is None or dataset_class_uid != sop_class_uid:
        shown = quoted(dataset_class_uid) if dataset_class_uid is not None else "missing"
        raise DatasetMismatch(
            f"SOP Class UID (0008,0016) {shown} does not match the request's Affected SOP Class UID "
            f"(0000,0002) {quoted(sop_class_uid)}"
        )
    if not syntax.is_encapsulated and found.pixel_length is not None:
        check_pixel_length(found, found.pixel_length, little)
    checked = check_instance_uids({STUDY_UID: _text(found, STUDY), SERIES_UID: _text(found, SERIES)}, uid_policy)
    modality = _text(found, MODALITY)
    return Received(
        sop_instance_uid=sop_instance_uid,
        sop_class_uid=sop_class_uid,
        study_uid=checked.values[STUDY_UID],
        series_uid=checked.values[SERIES_UID],
        modality=(modality[:16] or None) if modality is not None else None,
        uid_warnings=tuple(checked.warnings),
    )


def check_pixel_length(found: Structure, actual: int, little_endian: bool) -> None:
    """CannotUnderstand unless native Pixel Data of ``actual`` bytes has the length its image attributes give:
    Rows x Columns x Number of Frames x Samples per Pixel x Bits Allocated / 8, 1-bit data packed into
    whole bytes, YBR_FULL_422 two thirds of that (PS3.5 8.1.1, PS3.3 C.7.6.3.1.2)."""
    values: dict[str, int] = {}
    for keyword, tag in PIXEL_ATTRIBUTES.items():
        encoded = found.values.get(tag)
        value = _unsigned_short(encoded[1], little_endian) if encoded is not None else 0
        if not value:
            shown = "missing" if encoded is None else quoted(encoded[1].hex(" ") or "empty")
            raise CannotUnderstand(f"Pixel Data is present but {keyword} is {shown}")
        values[keyword] = value
    frames_text, photometric = _text(found, FRAMES), _text(found, PHOTOMETRIC)
    try:
        frames = int(frames_text or 1) or 1
    except ValueError:
        raise CannotUnderstand(
            f"the length of Pixel Data cannot be derived: Number of Frames is {quoted(frames_text or '')}") from None
    if photometric is None:
        raise CannotUnderstand("the length of Pixel Data cannot be derived: Photometric Interpretation is missing")
    expected = values["Rows"] * values["Columns"] * frames * values["SamplesPerPixel"]
    bits = values["BitsAllocated"]
    expected = expected // 8 + (expected % 8 > 0) if bits == 1 else expected * (bits // 8)
    if photometric == "YBR_FULL_422":
        expected = expected // 3 * 2
    if actual not in (expected, expected + expected % 2):
        raise CannotUnderstand(
            f"Pixel Data (7FE0,0010) holds {actual} bytes; Rows x Columns x Number of Frames x Samples per Pixel x "
            f"Bits Allocated / 8 gives {expected} (PS3.5 8.1.1)"
        )


def _unsigned_short(value: bytes, little_endian: bool) -> int:
    """A US value of multiplicity 1 (PS3.5 6.2), 0 when the bytes are not one."""
    return int(struct.unpack("<H" if little_endian else ">H", value)[0]) if len(value) == 2 else 0


def _text(found: Structure, tag: int) -> str | None:
    """The text of a top-level string element without its padding (PS3.5 6.2), or None when absent."""
    encoded = found.values.get(tag)
    return encoded[1].decode("latin-1").strip().rstrip("\x00").strip() if encoded is not None else None
