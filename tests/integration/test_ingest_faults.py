"""Bad input, crashes and shutdown: each gets the documented status, an audit row, and the node keeps serving."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.uid import CTImageStorage, generate_uid
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AuditEvent, Instance
from tests.factories import ct_series
from tests.integration.dcmtk import echoscu
from tests.integration.scu import associate, store_raw, store_status
from tests.node_process import NodeProcess
from tests.polling import wait_for

pytestmark = pytest.mark.integration


def failures(node: NodeProcess) -> list[AuditEvent]:
    with Session(node.engine) as session:
        query = select(AuditEvent).where(AuditEvent.event_type == "store", AuditEvent.outcome == "failure")
        return list(session.scalars(query))


def test_malformed_datasets_get_c210_and_audit(node: NodeProcess, tmp_path: Path) -> None:
    missing_study = ct_series(1, 16)[0]
    del missing_study.StudyInstanceUID
    traversal = ct_series(1, 16)[0]
    traversal.SeriesInstanceUID = "../../etc"

    header = Dataset()
    header.SOPClassUID = CTImageStorage
    header.SOPInstanceUID = generate_uid()
    stream = DicomBytesIO()
    stream.is_little_endian, stream.is_implicit_VR = True, False
    write_dataset(stream, header)
    truncated = stream.getvalue() + b"\x10\x00\x10\x00PN\xf0\xff" + b"garbage, element cut short"

    assoc = associate(node.port)
    assert assoc.is_established
    assert store_raw(assoc, truncated, header.SOPInstanceUID, tmp_path) == 0xC210
    assert store_status(assoc, missing_study) == 0xC210
    assert store_status(assoc, traversal) == 0xC210
    assoc.release()

    reasons = [event.message for event in failures(node)]
    assert len(reasons) == 3
    assert any("Study Instance UID (0020,000D) is missing" in r for r in reasons)
    assert any("Series Instance UID (0020,000E) '../../etc' is not a valid UID" in r for r in reasons)
    assert all(event.detail["status"] == "0xC210" for event in failures(node))
    assert not list(node.storage.rglob("*.dcm"))
    assert echoscu(node.port).returncode == 0  # the next association is served


def test_database_unavailable_gives_a700_and_leaves_no_file(node: NodeProcess) -> None:
    database = node.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        connection.execute("ALTER TABLE instances RENAME TO instances_gone")
    assoc = associate(node.port)
    dataset = ct_series(1, 16)[0]
    assert store_status(assoc, dataset) == 0xA700
    assoc.release()
    assert not list(node.storage.rglob("*.dcm"))
    [event] = failures(node)
    assert "database unavailable" in event.message and event.detail["status"] == "0xA700"


def test_kill_9_during_push_loses_no_acknowledged_instance(tmp_path: Path, sqlite_url: str) -> None:
    node = NodeProcess(tmp_path / "node", sqlite_url)
    node.start()
    datasets = ct_series(200, 256)
    acknowledged: list[str] = []
    killed = threading.Event()

    def push() -> None:
        assoc = associate(node.port)
        for ds in datasets:
            try:
                status = store_status(assoc, ds)
            except Exception:  # noqa: BLE001 - the connection dies with the server
                break
            if status != 0x0000:
                break
            acknowledged.append(ds.SOPInstanceUID)
            if len(acknowledged) == 50:
                node.kill()
                killed.set()
        if assoc.is_established:
            assoc.abort()

    pusher = threading.Thread(target=push)
    pusher.start()
    pusher.join(120)
    assert killed.is_set() and 50 <= len(acknowledged) < 200

    node.start()  # restart on the same folder and database
    try:
        with Session(node.engine) as session:
            stored = set(session.scalars(select(Instance.sop_instance_uid)))
        on_disk = {p.stem for p in node.storage.rglob("*.dcm")}
        assert set(acknowledged) <= stored
        assert set(acknowledged) <= on_disk
        assert stored <= on_disk  # every row points to a whole file
        assert not list((node.storage / ".incoming").iterdir())
        assert not list(node.storage.rglob("*.tmp"))
        with Session(node.engine) as session:
            interrupted = session.scalars(
                select(AuditEvent).where(AuditEvent.event_type == "association", AuditEvent.outcome == "failure")
            ).all()
        assert any(e.detail["outcome"] == "interrupted" for e in interrupted)
    finally:
        node.stop()


def test_sigterm_lets_an_open_association_finish(node: NodeProcess) -> None:
    assoc = associate(node.port)
    assert assoc.is_established
    assert node.process is not None
    node.process.send_signal(15)
    first, second = ct_series(2, 16)
    assert store_status(assoc, first) == 0x0000  # accepted while shutting down
    assert store_status(assoc, second) == 0x0000
    assoc.release()
    assert node.process.wait(30) == 0
    with Session(node.engine) as session:
        assert len(session.scalars(select(Instance)).all()) == 2
    refused = associate(node.port)
    assert not refused.is_established  # no longer listening


def test_association_over_the_limit_is_rejected_and_audited(tmp_path: Path, sqlite_url: str) -> None:
    node = NodeProcess(tmp_path / "node", sqlite_url, node={"max_associations": 1})
    node.start()
    try:
        first = associate(node.port)
        deadline = time.monotonic() + 10
        while not first.is_established and time.monotonic() < deadline:  # the start-up probe may hold the slot
            time.sleep(0.1)
            first = associate(node.port)
        assert first.is_established
        second = associate(node.port, calling="SECOND")
        assert second.is_rejected
        first.release()

        def rejected_rows() -> list[AuditEvent]:
            with Session(node.engine) as session:
                return list(session.scalars(select(AuditEvent).where(AuditEvent.actor_ae == "SECOND")))

        # pynetdicom sends the A-ASSOCIATE-RJ before it fires EVT_REJECTED, whose handler writes the row
        events = wait_for(rejected_rows, "the security row of the rejected association", timeout=10)
        assert [e.event_type for e in events] == ["security"]
        assert "maximum number of associations" in events[0].message
    finally:
        node.stop()
