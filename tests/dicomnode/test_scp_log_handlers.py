"""pynetdicom's standard log handlers (dicomnode.scp.transport.standard_logs): not bound to the node's server
and associations while the ``pynetdicom`` logger is above INFO, as ``dicomnode serve`` keeps it; bound, and
logging the C-STORE, when it is at DEBUG. Real pynetdicom associations to the node's SCP in this process."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pynetdicom import evt
from pynetdicom._handlers import standard_dimse_recv_handler, standard_pdu_recv_handler

from db.engine import make_sessionmaker
from dicomnode.config import Config
from dicomnode.scp.server import StorageSCP
from tests.conftest import migrated_engine
from tests.factories import ct_series
from tests.integration.scu import associate, store_status
from tests.node_process import free_port

STANDARD = (standard_dimse_recv_handler, standard_pdu_recv_handler)


def run_scp(tmp_path: Path, sqlite_url: str, level: int, caplog: pytest.LogCaptureFixture) -> tuple[list[object], int]:
    """Start the SCP with the pynetdicom logger at ``level``, store one instance; the handlers its association
    had bound for EVT_DIMSE_RECV and EVT_PDU_RECV, and the store's status."""
    caplog.set_level(level, logger="pynetdicom")
    config = Config(node={"host": "127.0.0.1", "port": free_port(), "storage_dir": tmp_path / "storage"})
    bound: list[object] = []
    with migrated_engine(sqlite_url) as engine:
        scp = StorageSCP(config, make_sessionmaker(engine))
        scp.start()
        try:
            assert scp.server is not None
            bound += [handler for event in (evt.EVT_DIMSE_RECV, evt.EVT_PDU_RECV)
                      for handler, _ in scp.server.get_handlers(event)]
            assoc = associate(scp.port)
            status = store_status(assoc, ct_series(1, 16, seed=3)[0])
            for acceptor in scp.ae.active_associations:
                bound += [handler for event in (evt.EVT_DIMSE_RECV, evt.EVT_PDU_RECV)
                          for handler, _ in acceptor.get_handlers(event)]
            assoc.release()
        finally:
            scp.stop(5)
    return bound, status


def test_no_standard_log_handlers_above_info(tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    bound, status = run_scp(tmp_path, sqlite_url, logging.WARNING, caplog)
    assert status == 0x0000
    assert not [handler for handler in bound if handler in STANDARD]


def test_standard_log_handlers_log_at_debug(tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    bound, status = run_scp(tmp_path, sqlite_url, logging.DEBUG, caplog)
    assert status == 0x0000
    assert set(STANDARD) <= set(bound)  # the server's and the association's
    assert "Received Store Request" in caplog.text
