"""C-STOREs of several real pynetdicom associations at once, against the node's SCP in this process
(dicomnode.scp.server): every one acknowledged after its group commit, and a duplicate that arrives while
the first copy's commit fails is stored in its own right (dicomnode.scp.inflight), on both databases."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pydicom.dataset import Dataset
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from db.models import AuditEvent, Instance
from dicomnode.config import Config
from dicomnode.errors import StorageError
from dicomnode.scp import commit, handlers
from dicomnode.scp.server import StorageSCP
from tests.factories import ct_series
from tests.integration.scu import associate, store_status
from tests.node_process import free_port


@pytest.fixture
def scp(tmp_path: Path, sessions: sessionmaker[Session]) -> Any:
    config = Config(node={"host": "127.0.0.1", "port": free_port(), "storage_dir": tmp_path / "storage"})
    server = StorageSCP(config, sessions)
    server.start()
    yield server
    server.stop(5)


def rows(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    with sessions() as session:
        return [(uid, path) for uid, path in session.execute(select(Instance.sop_instance_uid, Instance.path))]


def test_concurrent_associations_are_all_acknowledged_and_stored(scp: StorageSCP, sessions: sessionmaker[Session]) -> None:
    series = [ct_series(15, 32, seed=n) for n in range(4)]
    statuses: dict[int, list[int]] = {}

    def send(n: int) -> None:
        assoc = associate(scp.port, calling=f"SENDER{n}")
        statuses[n] = [store_status(assoc, dataset) for dataset in series[n]]
        assoc.release()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert statuses == {n: [0x0000] * 15 for n in range(4)}
    stored = rows(sessions)
    assert {uid for uid, _ in stored} == {str(ds.SOPInstanceUID) for s in series for ds in s}
    assert all(Path(path).is_file() for _, path in stored)


def test_a_duplicate_arriving_while_the_first_commit_fails_is_stored_itself(
    scp: StorageSCP, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset: Dataset = ct_series(1, 32, seed=7)[0]
    second_arrived = threading.Event()
    describe = scp.handlers._describe

    def noting(event: Any, raw: bytes) -> Any:
        described = describe(event, raw)
        if event.assoc.requestor.ae_title.strip() == "SECOND":
            second_arrived.set()
        return described

    monkeypatch.setattr(scp.handlers, "_describe", noting)
    real, calls = commit.insert_instances, [0]

    def first_fails(connection: Any, batch: Any) -> list[bool]:
        calls[0] += 1
        if calls[0] == 1:  # the first copy's commit fails once the second copy is being handled
            assert second_arrived.wait(20)
            threading.Event().wait(0.3)
            raise OperationalError("INSERT", {}, Exception("disk I/O error"))
        return real(connection, batch)

    monkeypatch.setattr(commit, "insert_instances", first_fails)
    statuses: dict[str, int] = {}

    def send(calling: str) -> None:
        assoc = associate(scp.port, calling=calling)
        statuses[calling] = store_status(assoc, dataset)
        assoc.release()

    first = threading.Thread(target=send, args=("FIRST",))
    first.start()
    threading.Event().wait(0.3)
    second = threading.Thread(target=send, args=("SECOND",))
    second.start()
    first.join(30)
    second.join(30)
    assert statuses == {"FIRST": 0xA700, "SECOND": 0x0000}
    stored = rows(sessions)
    assert [uid for uid, _ in stored] == [str(dataset.SOPInstanceUID)]
    assert Path(stored[0][1]).is_file()  # the acknowledged copy's file is there, with its row
    with sessions() as session:
        outcomes = list(session.scalars(select(AuditEvent.outcome).where(AuditEvent.event_type == "store")))
    assert outcomes == ["failure"]  # the first copy's failure; the second was not a duplicate


def send_each(port: int, datasets: list[Dataset]) -> dict[int, int]:
    """One association per data set, all at once; the status of each C-STORE by index."""
    statuses: dict[int, int] = {}

    def send(n: int) -> None:
        assoc = associate(port, calling=f"SENDER{n}")
        statuses[n] = store_status(assoc, datasets[n])
        assoc.release()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(datasets))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses


def test_a_failed_group_commit_fails_every_store_in_it_and_leaves_no_file(
    scp: StorageSCP, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []

    def failing(connection: Any, batch: Any) -> list[bool]:
        batches.append(len(batch))
        threading.Event().wait(0.5)  # the other associations' rows queue up behind this batch meanwhile
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(commit, "insert_instances", failing)
    datasets = [ct_series(1, 32, seed=20 + n)[0] for n in range(3)]
    assert send_each(scp.port, datasets) == {n: 0xA700 for n in range(3)}
    assert sum(batches) == 3
    assert rows(sessions) == []
    assert not list(scp.store.root.rglob("*.dcm"))  # no file without its row
    with sessions() as session:
        failures = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "store")).all()
    assert sorted(event.outcome for event in failures) == ["failure"] * 3


def test_a_file_that_cannot_be_made_durable_leaves_no_row(
    scp: StorageSCP, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_entry(path: Path) -> None:
        raise StorageError(f"cannot write {path.stem}: Input/output error")

    monkeypatch.setattr(scp.store, "sync_entry", no_entry)
    datasets = [ct_series(1, 32, seed=30 + n)[0] for n in range(2)]
    statuses = send_each(scp.port, datasets)
    assert statuses == {0: 0xC211, 1: 0xC211}  # StorageError: other failure
    assert rows(sessions) == []  # the committed rows were removed again
    assert not list(scp.store.root.rglob("*.dcm"))


def test_a_hosts_association_limit_counts_associations_not_yet_recorded(
    tmp_path: Path, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """EVT_ACCEPTED (where an association is recorded) fires after the A-ASSOCIATE-AC is sent: a burst of
    requests from one host must not all pass the per-host limit while the first ones are being recorded."""
    recorded = handlers.open_association

    def slow_record(*args: Any, **kwargs: Any) -> int:
        time.sleep(0.5)
        return recorded(*args, **kwargs)

    monkeypatch.setattr(handlers, "open_association", slow_record)
    config = Config(node={"host": "127.0.0.1", "port": free_port(), "storage_dir": tmp_path / "storage",
                          "max_associations_per_host": 3})
    server = StorageSCP(config, sessions)
    server.start()
    outcomes: list[Any] = []
    try:
        threads = [threading.Thread(target=lambda n=n: outcomes.append(associate(server.port, calling=f"BURST{n}")))
                   for n in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(assoc.is_established for assoc in outcomes) == [False, False, True, True, True]
        for assoc in outcomes:
            if assoc.is_established:
                assoc.release()
        time.sleep(1.0)  # the released ones are recorded closed; the host has its slots back
        again = associate(server.port, calling="AFTER")
        assert again.is_established
        again.release()
    finally:
        server.stop(5)
