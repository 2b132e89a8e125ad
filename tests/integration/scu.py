"""A pynetdicom SCU for tests that need more control than dcmtk gives (raw datasets, per-instance status)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import CTImageStorage, Verification  # type: ignore[attr-defined]


def associate(port: int, *, calling: str = "TESTSCU", called: str = "DICOMNODE", **kwargs: Any) -> Association:
    ae = AE(ae_title=calling)
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    ae.add_requested_context(Verification)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
    return ae.associate("127.0.0.1", port, ae_title=called, **kwargs)


def store_status(assoc: Association, dataset: Dataset) -> int:
    return status_of(assoc.send_c_store(dataset))


def store_raw(assoc: Association, payload: bytes, sop_instance_uid: str, folder: Path) -> int:
    """Send a C-STORE whose data set is ``payload`` as is (bytes that may not parse at all).

    pynetdicom sends a file given by path without decoding its data set, so the payload goes out
    behind a valid File Meta Information header (PS3.10 7.1).
    """
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = sop_instance_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = DicomBytesIO()
    write_file_meta_info(buffer, meta, enforce_standard=True)
    path = folder / f"{sop_instance_uid}.dcm"
    path.write_bytes(b"\x00" * 128 + b"DICM" + buffer.getvalue() + payload)
    return status_of(assoc.send_c_store(path))


def status_of(response: Dataset) -> int:
    return int(response.Status) if "Status" in response else -1
