"""Fixtures of the delivery tests: produced results of a phantom, a migrated database, an in-process SCP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE, evt
from sqlalchemy.orm import Session, sessionmaker

from db.engine import make_sessionmaker
from dicomnode.pipelines.ich_ct.results import PRODUCED_SOP_CLASSES, build_results
from tests.conftest import migrated_engine
from tests.dicomnode.pipelines.ich_ct.helpers import POSITIVE, context_for, phantom_series, prediction_for
from tests.node_process import free_port


@pytest.fixture(scope="package")
def results(tmp_path_factory: pytest.TempPathFactory) -> list[Dataset]:
    """SR + SEG (when a region is found) + 3 key-slice SC + summary SC of a positive phantom."""
    series = phantom_series(Path(tmp_path_factory.mktemp("phantom")), n_slices=8, size=96)
    return build_results(prediction_for(series, POSITIVE), series, context_for(series))


@pytest.fixture
def sessions(sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    with migrated_engine(sqlite_url) as engine:
        yield make_sessionmaker(engine)


@dataclass
class StoreSCP:
    """A pynetdicom Storage SCP in this process, answering ``status`` to every C-STORE."""

    port: int
    received: list[Dataset] = field(default_factory=list)
    associations: int = 0
    status: int = 0x0000


@pytest.fixture
def store_scp() -> Iterator[StoreSCP]:
    scp = StoreSCP(free_port())
    lock = threading.Lock()

    def on_store(event: evt.Event) -> int:
        with lock:
            scp.received.append(event.dataset)
        return scp.status

    def on_open(event: evt.Event) -> None:
        scp.associations += 1

    ae = AE(ae_title="TESTPACS")
    for sop_class in PRODUCED_SOP_CLASSES:
        ae.add_supported_context(sop_class, ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"])
    server = ae.start_server(
        ("127.0.0.1", scp.port), block=False,
        evt_handlers=[(evt.EVT_C_STORE, on_store), (evt.EVT_ACCEPTED, on_open)],
    )
    try:
        yield scp
    finally:
        server.shutdown()
