"""dcmtk storescu with compressed files (the CQ500 series, JPEG Lossless): what the README warns about.

Without ``-xs`` storescu proposes only uncompressed transfer syntaxes, cannot convert JPEG Lossless, and
aborts; the node's ``association`` audit row says so. With ``-xs`` the same files are stored as received.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AuditEvent, Instance
from tests.conftest import SHARED_DATA
from tests.integration.dcmtk import storescu
from tests.integration.rawpeer import wait_until
from tests.node_process import NodeProcess

pytestmark = [pytest.mark.integration, pytest.mark.realdata]

CQ500 = SHARED_DATA / "cq500-ct0" / "series"


@pytest.fixture
def compressed_files() -> list[Path]:
    if not CQ500.is_dir():
        pytest.skip(f"real data not found at {CQ500}")
    return sorted(CQ500.iterdir())[:2]


def association_rows(node: NodeProcess) -> list[AuditEvent]:
    with Session(node.engine) as session:
        return list(session.scalars(
            select(AuditEvent).where(AuditEvent.event_type == "association", AuditEvent.actor_ae == "STORESCU")
        ))


def test_storescu_without_xs_aborts_and_the_audit_row_says_why(tmp_path: Path, sqlite_url: str,
                                                               compressed_files: list[Path]) -> None:
    node = NodeProcess(tmp_path / "node", sqlite_url, inference={"workers": 0})
    node.start()
    try:
        refused = storescu(node.port, compressed_files)
        assert refused.returncode != 0
        assert wait_until(lambda: bool(association_rows(node)), timeout=5)
        [row] = association_rows(node)
        assert row.outcome == "failure" and row.detail["outcome"] == "aborted"
        assert "aborted by the calling AE after 0 C-STORE request(s)" in row.message
        assert "proposed only uncompressed transfer syntaxes" in row.message and "-xs" in row.message

        stored = storescu(node.port, compressed_files, extra=["-xs"])
        assert stored.returncode == 0, stored.stderr
        with Session(node.engine) as session:
            syntaxes = set(session.scalars(select(Instance.transfer_syntax)))
        assert syntaxes == {"1.2.840.10008.1.2.4.70"}  # stored as received, JPEG Lossless SV1
    finally:
        node.stop()
