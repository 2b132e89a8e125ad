"""dcmtk echoscu/storescu against a running ``dicomnode serve`` (real peers, real process)."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Association, AuditEvent, Instance
from tests.factories import ct_series, write_series
from tests.integration.dcmtk import echoscu, storescu
from tests.node_process import NodeProcess

pytestmark = pytest.mark.integration


def audit_rows(node: NodeProcess, event_type: str) -> list[AuditEvent]:
    with Session(node.engine) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)))


def test_echo_is_accepted(node: NodeProcess) -> None:
    result = echoscu(node.port)
    assert result.returncode == 0, result.stderr


def test_forty_slice_series_arrives_whole(node: NodeProcess, tmp_path: Path) -> None:
    datasets = ct_series(40, 128)
    files = write_series(datasets, tmp_path / "series")
    result = storescu(node.port, files)
    assert result.returncode == 0, result.stderr

    study, series = datasets[0].StudyInstanceUID, datasets[0].SeriesInstanceUID
    stored = sorted((node.storage / study / series).glob("*.dcm"))
    assert {p.stem for p in stored} == {ds.SOPInstanceUID for ds in datasets}
    for path, ds in zip(stored[:3], sorted(datasets, key=lambda d: d.SOPInstanceUID)):
        back = pydicom.dcmread(path)
        assert back.SOPInstanceUID == ds.SOPInstanceUID
        assert back.PixelData == ds.PixelData  # stored as received
    with Session(node.engine) as session:
        rows = session.scalars(select(Instance)).all()
        assert len(rows) == 40
        assert {r.series_uid for r in rows} == {series}
        assert all(r.transfer_syntax == "1.2.840.10008.1.2.1" and r.size > 128 * 128 * 2 for r in rows)
        assoc = session.scalars(select(Association).where(Association.calling_ae == "STORESCU")).one()
        assert (assoc.outcome, assoc.instance_count) == ("released", 40)
    received = audit_rows(node, "instances-received")
    assert [(e.study_uid, e.detail["instances"]) for e in received] == [(study, 40)]
    assert not list((node.storage / ".incoming").iterdir())


def test_duplicate_resend_is_stored_once(node: NodeProcess, tmp_path: Path) -> None:
    files = write_series(ct_series(5, 32), tmp_path / "series")
    assert storescu(node.port, files).returncode == 0
    assert storescu(node.port, files).returncode == 0
    with Session(node.engine) as session:
        assert session.scalar(select(func.count()).select_from(Instance)) == 5
    duplicates = [e for e in audit_rows(node, "store") if e.outcome == "duplicate"]
    assert len(duplicates) == 5
    assert len(list(node.storage.rglob("*.dcm"))) == 5


def test_wrong_called_ae_is_rejected_and_audited(node: NodeProcess) -> None:
    result = echoscu(node.port, called="NOTME")
    assert result.returncode != 0
    assert "Called AE Title Not Recognized" in result.stderr
    [event] = audit_rows(node, "security")
    assert event.outcome == "rejected" and "NOTME" in event.message
    assert echoscu(node.port).returncode == 0  # and the node keeps serving


def test_caller_outside_allow_list_is_rejected(tmp_path: Path, sqlite_url: str) -> None:
    node = NodeProcess(
        tmp_path / "node", sqlite_url, security={"allowed": [{"ae_title": "CT01", "host": "127.0.0.1"}]}
    )
    node.start()
    try:
        refused = echoscu(node.port, calling="INTRUDER")
        assert refused.returncode != 0
        assert "Calling AE Title Not Recognized" in refused.stderr
        assert echoscu(node.port, calling="CT01").returncode == 0
        [event] = [e for e in audit_rows(node, "security") if e.actor_ae == "INTRUDER"]
        assert event.actor_host == "127.0.0.1"
    finally:
        node.stop()


def test_loopback_not_in_host_list_is_rejected(tmp_path: Path, sqlite_url: str) -> None:
    node = NodeProcess(tmp_path / "node", sqlite_url, security={"allowed": [{"ae_title": "*", "host": "10.1.0.0/16"}]})
    node.start()
    try:
        refused = echoscu(node.port)
        assert "Calling AE Title Not Recognized" in refused.stderr
        [event] = [e for e in audit_rows(node, "security") if e.actor_ae == "ECHOSCU"]
        assert "not in security.allowed" in event.message
    finally:
        node.stop()


def test_series_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    node = NodeProcess(tmp_path / "node", postgres_url)
    node.start()
    try:
        files = write_series(ct_series(12, 32), tmp_path / "series")
        assert storescu(node.port, files).returncode == 0
        with Session(node.engine) as session:
            assert session.scalar(select(func.count()).select_from(Instance)) == 12
    finally:
        node.stop()
