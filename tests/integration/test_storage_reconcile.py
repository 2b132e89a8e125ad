"""Start-up reconciliation: a file without its row is adopted, junk is set aside, a row without its file removed.

The crash windows (file linked into place and row not yet committed; row committed and directory entry
not yet durable) are microseconds wide, so the test builds their outcome directly: a valid instance file
at its final path with no row, a file that is not DICOM, and a row whose file is gone; then it restarts
the node on the same folder and database.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AuditEvent, Instance
from tests.factories import ct_series
from tests.integration.scu import associate, store_status
from tests.node_process import NodeProcess

pytestmark = pytest.mark.integration


def test_orphan_files_are_reconciled_at_start_up(tmp_path: Path, sqlite_url: str) -> None:
    node = NodeProcess(tmp_path / "node", sqlite_url, inference={"workers": 0})
    node.start()
    acknowledged, lost, orphan = ct_series(3, 16)
    try:
        assoc = associate(node.port)
        assert store_status(assoc, acknowledged) == 0x0000
        assert store_status(assoc, lost) == 0x0000
        assoc.release()
    finally:
        node.stop()

    series = node.storage / acknowledged.StudyInstanceUID / acknowledged.SeriesInstanceUID
    orphan_path = series / f"{orphan.SOPInstanceUID}.dcm"
    orphan.StudyInstanceUID = acknowledged.StudyInstanceUID
    orphan.save_as(orphan_path, enforce_file_format=True)
    (series / "1.2.3.dcm").write_bytes(b"not a DICOM file")
    (series / f"{lost.SOPInstanceUID}.dcm").unlink()  # a row whose directory entry a crash lost

    node.start()
    try:
        with Session(node.engine) as session:
            rows = {row.sop_instance_uid: row for row in session.scalars(select(Instance))}
            [report] = session.scalars(
                select(AuditEvent).where(AuditEvent.event_type == "node", AuditEvent.message.like("storage reconciled%"))
            ).all()
        assert set(rows) == {acknowledged.SOPInstanceUID, orphan.SOPInstanceUID}
        assert rows[orphan.SOPInstanceUID].path == str(orphan_path)
        assert rows[orphan.SOPInstanceUID].association_id is None
        assert report.detail["adopted"] == 1 and report.detail["set_aside"] == 1
        assert report.detail["missing_files"] == 1 and report.detail["missing_uids"] == [lost.SOPInstanceUID]
        assert report.detail["adopted_uids"] == [orphan.SOPInstanceUID]
        assert "1 file(s) without a row adopted, 1 set aside in .orphans, 1 row(s) without a file removed" in report.message
        assert not (series / "1.2.3.dcm").exists()
        assert [p.name.endswith("1.2.3.dcm") for p in (node.storage / ".orphans").iterdir()] == [True]
        assert "adopted 1 whole file(s)" in node.log()
    finally:
        node.stop()

    node.start()  # a clean restart finds nothing to do and says nothing
    try:
        with Session(node.engine) as session:
            reports = session.scalars(
                select(AuditEvent).where(AuditEvent.message.like("storage reconciled%"))
            ).all()
        assert len(reports) == 1
    finally:
        node.stop()
