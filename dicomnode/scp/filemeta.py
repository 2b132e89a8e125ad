"""The DICOM File Format header of a received instance, encoded directly (PS3.10 7.1, PS3.5 7.1.2).

A stored file is the 128-byte preamble, ``DICM``, the File Meta Information (group 0002, always Explicit VR
Little Endian) and the data set exactly as received. pynetdicom's ``Event.encoded_dataset()`` builds that
header through a pydicom FileMetaDataset on every C-STORE and copies the received data set a second time;
:func:`file_header` writes the same seven elements with :mod:`struct` (a tenth of the interpreter's time
under concurrent senders went to the pydicom route). The bytes are those of ``encoded_dataset()``: the
same elements, values and padding, including pynetdicom's Implementation Class UID and Version Name
(``tests/dicomnode/test_scp_filemeta.py`` holds the two to each other).
"""

from __future__ import annotations

import struct

from pynetdicom import PYNETDICOM_IMPLEMENTATION_UID, PYNETDICOM_IMPLEMENTATION_VERSION

PREAMBLE = b"\x00" * 128 + b"DICM"
VERSION = b"\x00\x01"  # File Meta Information Version (0002,0001)


def _element(element: int, vr: bytes, value: bytes) -> bytes:
    """One group 0002 element in Explicit VR Little Endian (PS3.5 7.1.2): OB with a 4-byte length."""
    if vr == b"OB":
        return struct.pack("<HH2sxxL", 0x0002, element, vr, len(value)) + value
    return struct.pack("<HH2sH", 0x0002, element, vr, len(value)) + value


def even_length(value: str, padding: bytes) -> bytes:
    """A string value padded to even length (PS3.5 6.2: UI with NUL, SH with a space)."""
    encoded = value.encode("ascii")
    return encoded + padding if len(encoded) % 2 else encoded


_IMPLEMENTATION = _element(0x0012, b"UI", even_length(str(PYNETDICOM_IMPLEMENTATION_UID), b"\x00")) + _element(
    0x0013, b"SH", even_length(PYNETDICOM_IMPLEMENTATION_VERSION, b" "))


def file_header(sop_class_uid: str, sop_instance_uid: str, transfer_syntax: str) -> bytes:
    """Preamble, prefix and File Meta Information of an instance received under ``transfer_syntax``.

    Raises UnicodeEncodeError for a value that is not ASCII (a checked UID always is).
    """
    group = b"".join((
        _element(0x0001, b"OB", VERSION),
        _element(0x0002, b"UI", even_length(sop_class_uid, b"\x00")),
        _element(0x0003, b"UI", even_length(sop_instance_uid, b"\x00")),
        _element(0x0010, b"UI", even_length(transfer_syntax, b"\x00")),
        _IMPLEMENTATION,
    ))
    return PREAMBLE + _element(0x0000, b"UL", struct.pack("<L", len(group))) + group
