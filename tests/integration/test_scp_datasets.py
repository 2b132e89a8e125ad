"""Data sets that lie about themselves get a failure status before Success, an audit row and no file.

Each case is sent as raw bytes by :class:`RawPeer` to a real ``dicomnode serve``: a data set cut short,
a short-VR length that swallows the elements after it, a missing or different SOP Instance UID, a SOP
Class UID that is not the request's, a deflate bomb, and a corrupt value whose echo must stay bounded.
"""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import CTImageStorage, DeflatedExplicitVRLittleEndian, MRImageStorage, generate_uid
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AuditEvent, Instance
from tests.factories import ct_series
from tests.integration.rawpeer import RawPeer, associate_rq, c_store_rq, encode
from tests.node_process import NodeProcess

pytestmark = pytest.mark.integration

CAP = 16 * 1024 * 1024  # node.max_inflated_bytes of this node


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    root = tmp_path_factory.mktemp("datasets")
    process = NodeProcess(
        root / "node",
        f"sqlite:///{root / 'node.db'}",
        node={"max_inflated_bytes": CAP, "max_inflate_ratio": 100, "acse_timeout": 5},
        inference={"workers": 0},
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


def store(node: NodeProcess, command: Dataset, payload: bytes, transfer_syntax: str | None = None) -> int:
    peer = RawPeer(node.port)
    try:
        rq = associate_rq(transfer_syntax=transfer_syntax) if transfer_syntax else associate_rq()
        assert peer.associate(rq).type == 0x02
        response = peer.c_store(command, payload, wait=30)
        assert response is not None, "no C-STORE response"
        return int(response.Status)
    finally:
        peer.close()


def failure_for(node: NodeProcess, sop_instance_uid: str) -> AuditEvent:
    with Session(node.engine) as session:
        [event] = session.scalars(
            select(AuditEvent).where(AuditEvent.sop_instance_uid == sop_instance_uid, AuditEvent.event_type == "store")
        ).all()
    assert event.outcome == "failure"
    return event


def stored(node: NodeProcess, sop_instance_uid: str) -> bool:
    with Session(node.engine) as session:
        row = session.scalar(select(Instance).where(Instance.sop_instance_uid == sop_instance_uid))
    return row is not None or any(node.storage.rglob(f"{sop_instance_uid}.dcm"))


def slice_dataset() -> Dataset:
    ds = ct_series(1, 32)[0]
    ds.StudyInstanceUID = generate_uid()
    return ds


def test_pixel_data_shorter_than_its_length_gets_c210(node: NodeProcess) -> None:
    ds = slice_dataset()
    raw = encode(ds)[:-1000]  # the length field still says 2048 bytes
    assert store(node, c_store_rq(CTImageStorage, ds.SOPInstanceUID), raw) == 0xC210
    event = failure_for(node, ds.SOPInstanceUID)
    assert "(7FE0,0010) declares 2048 bytes but only 1048 remain" in event.message
    assert event.detail["status"] == "0xC210"
    assert not stored(node, ds.SOPInstanceUID)


def test_short_vr_length_swallowing_the_rest_gets_c210(node: NodeProcess) -> None:
    ds = slice_dataset()
    raw = encode(ds)
    at = raw.find(b"\x08\x00\x60\x00CS")  # Modality: its 16-bit length becomes 0xFFFF
    corrupt = raw[: at + 6] + struct.pack("<H", 0xFFFF) + raw[at + 8 :]
    assert store(node, c_store_rq(CTImageStorage, ds.SOPInstanceUID), corrupt) == 0xC210
    assert "(0008,0060) declares 65535 bytes" in failure_for(node, ds.SOPInstanceUID).message
    assert not stored(node, ds.SOPInstanceUID)


def test_pixel_data_not_matching_the_image_attributes_gets_c210(node: NodeProcess) -> None:
    ds = slice_dataset()
    ds.PixelData = ds.PixelData[:-1000]  # a consistent encoding of too few pixels
    assert store(node, c_store_rq(CTImageStorage, ds.SOPInstanceUID), encode(ds)) == 0xC210
    assert "holds 1048 bytes" in failure_for(node, ds.SOPInstanceUID).message


def test_missing_or_different_sop_instance_uid_gets_c210(node: NodeProcess) -> None:
    missing = slice_dataset()
    del missing.SOPInstanceUID
    request_uid = generate_uid()
    assert store(node, c_store_rq(CTImageStorage, request_uid), encode(missing)) == 0xC210
    assert "SOP Instance UID (0008,0018) is missing" in failure_for(node, request_uid).message

    different = slice_dataset()
    other_uid = generate_uid()
    assert store(node, c_store_rq(CTImageStorage, other_uid), encode(different)) == 0xC210
    assert "differs from the request's" in failure_for(node, other_uid).message
    assert not stored(node, other_uid) and not stored(node, different.SOPInstanceUID)


def test_sop_class_not_the_requests_gets_a900(node: NodeProcess) -> None:
    ds = slice_dataset()
    ds.SOPClassUID = MRImageStorage
    assert store(node, c_store_rq(CTImageStorage, ds.SOPInstanceUID), encode(ds)) == 0xA900
    assert "SOP Class UID (0008,0016)" in failure_for(node, ds.SOPInstanceUID).message


def test_a_whole_data_set_is_still_stored(node: NodeProcess) -> None:
    ds = slice_dataset()
    assert store(node, c_store_rq(CTImageStorage, ds.SOPInstanceUID), encode(ds)) == 0x0000
    assert stored(node, ds.SOPInstanceUID)


def peak_rss(pid: int) -> int:
    """The peak resident set size of a process in bytes (VmHWM, Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


def deflated(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def test_deflated_data_set_within_the_cap_is_stored(node: NodeProcess) -> None:
    ds = slice_dataset()
    payload = deflated(encode(ds))
    status = store(node, c_store_rq(CTImageStorage, ds.SOPInstanceUID), payload, DeflatedExplicitVRLittleEndian)
    assert status == 0x0000
    assert stored(node, ds.SOPInstanceUID)


@pytest.mark.slow
def test_deflate_bomb_is_refused_with_bounded_memory(node: NodeProcess) -> None:
    """About 1 MB on the wire that inflates to 1 GiB of zero pixels: 0xA700, no file, RSS grows < 200 MB."""
    ds = slice_dataset()
    ds.Rows, ds.Columns, ds.NumberOfFrames = 16384, 16384, 2  # 1 GiB of 16-bit pixels
    ds.PixelData = b""
    header = encode(ds)[:-12]  # everything but the empty Pixel Data element
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    size = 1 << 30
    parts = [compressor.compress(header + b"\xe0\x7f\x10\x00OW\x00\x00" + struct.pack("<L", size))]
    zeros = bytes(1 << 24)
    parts += [compressor.compress(zeros) for _ in range(size // len(zeros))]
    payload = b"".join(parts) + compressor.flush()
    assert len(payload) < 2 * 1024 * 1024

    assert node.process is not None
    before = peak_rss(node.process.pid)
    started = time.monotonic()
    status = store(node, c_store_rq(CTImageStorage, ds.SOPInstanceUID), payload, DeflatedExplicitVRLittleEndian)
    assert status == 0xA700
    assert time.monotonic() - started < 20
    assert peak_rss(node.process.pid) - before < 200 * 1024 * 1024
    event = failure_for(node, ds.SOPInstanceUID)
    assert "node.max_inflated_bytes" in event.message or "node.max_inflate_ratio" in event.message
    assert not stored(node, ds.SOPInstanceUID)


def test_corrupt_value_is_echoed_bounded_and_escaped(node: NodeProcess) -> None:
    ds = slice_dataset()
    ds.SeriesInstanceUID = "1.2\x00\n" + "9" * 2000  # a UID that is neither valid nor short
    assert store(node, c_store_rq(CTImageStorage, ds.SOPInstanceUID), encode(ds)) == 0xC210
    event = failure_for(node, ds.SOPInstanceUID)
    assert len(event.message) <= 500
    assert "\\x00\\n" in event.message and "\n" not in event.message
    assert "more characters" in event.message
    longest = max(len(line) for line in node.log().splitlines())
    assert longest < 2100, f"a log line of {longest} characters"  # library warnings echo the value too
