"""The admin API, page and ATNA export of a real ``dicomnode serve`` process."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from dicomnode.atna.syslog import BOM
from dicomnode.atna.validate import errors
from tests.dicomnode.atna.listener import Collector
from tests.factories import ct_series
from tests.integration.scu import associate, store_status
from tests.node_process import NodeProcess, free_port
from tests.polling import wait_for

pytestmark = pytest.mark.integration
TOKEN = "integration-admin-token-0123456789"


def test_serve_answers_admin_requests_and_forwards_atna(tmp_path: Path, sqlite_url: str) -> None:
    collector = Collector()
    admin_port = free_port()
    node = NodeProcess(
        tmp_path / "node", sqlite_url,
        admin={"port": admin_port, "token": TOKEN},
        inference={"workers": 0},
        audit_export={"syslog_host": "127.0.0.1", "syslog_port": collector.port, "tls": False,
                      "poll_seconds": 0.2, "spool_dir": str(tmp_path / "spool")},
    )
    node.start()
    try:
        datasets = ct_series(12, 32)
        assoc = associate(node.port)
        assert all(store_status(assoc, ds) == 0 for ds in datasets)
        assoc.release()
        study = datasets[0].StudyInstanceUID
        with httpx.Client(base_url=f"http://127.0.0.1:{admin_port}", timeout=10) as http:
            health = http.get("/health").json()
            assert health["status"] == "ok" and health["checks"]["scp"]["ok"] is True
            assert health["checks"]["workers"] == {"ok": True, "alive": 0, "expected": 0}

            def arrived() -> bool:
                items = http.get("/api/audit", params={"event": "instances-received"}).json()["items"]
                return bool(items)

            wait_for(arrived)
            (row,) = http.get("/api/studies").json()["items"]
            assert (row["study_uid"], row["instances"], row["calling_aes"]) == (study, 12, ["TESTSCU"])
            assert "dicomnode_instances_received_total 12.0" in http.get("/metrics").text
            assert http.get("/").status_code == 200
            assert http.post("/api/jobs/1/retry", headers={"X-Requested-By": "t"}).status_code == 401
        wait_for(lambda: any(b'csd-code="110113"' in m for m in collector.messages))
    finally:
        assert node.terminate() == 0
        node.stop()
    collector.wait_for(4)
    collector.close()
    xml = [m.split(BOM, 1)[1] for m in collector.messages]
    assert all(errors(x) == [] for x in xml)
    kinds = [(x.split(b'csd-code="', 2)[1][:6]) for x in xml]
    assert kinds[0] == b"110100" and b"110104" in kinds and b"110113" in kinds
    assert b'csd-code="110121"' in xml[-1]  # Application Stop, forwarded at shutdown


def test_serve_refuses_a_public_admin_address_without_token(tmp_path: Path, sqlite_url: str) -> None:
    node = NodeProcess(tmp_path / "node", sqlite_url, admin={"host": "0.0.0.0", "port": free_port()},
                       inference={"workers": 0})
    with pytest.raises(RuntimeError, match=r"admin\.host .*admin\.token"):
        node.start()
    node.stop()
