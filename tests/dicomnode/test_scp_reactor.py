"""The node's association reactor (dicomnode.scp.transport.NodeAssociation._run_reactor): it serves requests
as they are decoded, and still ends an association on release, on the peer's abort and at the network
timeout, with the association row closed each time. Real pynetdicom peers against the SCP in this process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db.engine import make_sessionmaker
from db.models import Association
from dicomnode.config import Config
from dicomnode.scp.server import StorageSCP
from tests.conftest import migrated_engine
from tests.factories import ct_series
from tests.integration.scu import associate, store_status
from tests.node_process import free_port


@pytest.fixture
def scp(tmp_path: Path, sqlite_url: str) -> Iterator[tuple[StorageSCP, sessionmaker[Session]]]:
    config = Config(node={"host": "127.0.0.1", "port": free_port(), "storage_dir": tmp_path / "storage",
                          "network_timeout": 1.0})
    with migrated_engine(sqlite_url) as engine:
        sessions = make_sessionmaker(engine)
        server = StorageSCP(config, sessions)
        server.start()
        yield server, sessions
        server.stop(5)


def outcomes(sessions: sessionmaker[Session], expected: int) -> list[str]:
    """The outcomes of the association rows once ``expected`` of them are closed (or after 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        with sessions() as session:
            rows = [row for row in session.scalars(select(Association).order_by(Association.id))]
        closed = [row.outcome for row in rows if row.outcome != "open"]
        if len(closed) >= expected or time.monotonic() > deadline:
            return closed
        time.sleep(0.05)


def test_release_abort_and_network_timeout_end_the_association(
    scp: tuple[StorageSCP, sessionmaker[Session]],
) -> None:
    server, sessions = scp
    datasets = ct_series(3, 16, seed=5)
    released = associate(server.port)
    assert [store_status(released, dataset) for dataset in datasets[:2]] == [0x0000, 0x0000]
    released.release()
    assert released.is_released
    aborted = associate(server.port)
    assert store_status(aborted, datasets[2]) == 0x0000
    aborted.abort()
    idle = associate(server.port)
    assert idle.is_established
    deadline = time.monotonic() + 10
    while idle.is_established and time.monotonic() < deadline:  # the node's network timeout is 1 s
        time.sleep(0.05)
    assert idle.is_aborted
    assert outcomes(sessions, 3) == ["released", "aborted", "aborted"]
