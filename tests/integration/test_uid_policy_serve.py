"""node.uid_policy against a running ``dicomnode serve``: RSNA-style "UIDs" sent by dcmtk storescu."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AuditEvent, Instance
from tests.factories import ct_series, write_series
from tests.integration.dcmtk import storescu
from tests.node_process import NodeProcess

pytestmark = pytest.mark.integration


def rsna_style_files(tmp_path: Path) -> list[Path]:
    """Three slices whose Study/Series/SOP Instance UIDs are RSNA 2019's file-name-safe non-UIDs."""
    datasets = ct_series(3, 32)
    for index, ds in enumerate(datasets):
        ds.StudyInstanceUID, ds.SeriesInstanceUID = "ID_5f0a9c1e2b", "ID_3d7e44a190"
        ds.SOPInstanceUID = f"ID_0fe31b04{index}"
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return write_series(datasets, tmp_path / "series")


def store_audit(node: NodeProcess) -> list[AuditEvent]:
    with Session(node.engine) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.event_type == "store")))


def test_strict_policy_refuses_non_conformant_uids(tmp_path: Path, sqlite_url: str) -> None:
    node = NodeProcess(tmp_path / "node", sqlite_url)
    node.start()
    try:
        storescu(node.port, rsna_style_files(tmp_path))
        with Session(node.engine) as session:
            assert session.scalars(select(Instance)).all() == []
        failures = [e for e in store_audit(node) if e.outcome != "success"]
        assert failures and all("not a valid UID" in e.message for e in failures), [e.message for e in failures]
    finally:
        node.stop()


def test_accept_safe_policy_stores_them_with_an_audit_warning(tmp_path: Path, sqlite_url: str) -> None:
    node = NodeProcess(tmp_path / "node", sqlite_url, node={"uid_policy": "accept-safe"})
    node.start()
    try:
        result = storescu(node.port, rsna_style_files(tmp_path))
        assert result.returncode == 0, result.stderr
        with Session(node.engine) as session:
            stored = sorted(r.sop_instance_uid for r in session.scalars(select(Instance)))
        assert stored == ["ID_0fe31b040", "ID_0fe31b041", "ID_0fe31b042"]
        assert (node.storage / "ID_5f0a9c1e2b" / "ID_3d7e44a190" / "ID_0fe31b040.dcm").is_file()
        warnings = [e for e in store_audit(node) if e.outcome == "warning"]
        assert len(warnings) == 3
        assert all("accept-safe" in e.message and "Study Instance UID" in e.message for e in warnings)
    finally:
        node.stop()
