"""The committer thread of the ingest path (dicomnode.scp.commit), with concurrent submitters, on both databases."""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from db.models import Instance
from dicomnode.scp.commit import GroupCommitter
from tests.db.test_group_commit import instance


def test_concurrent_submitters_share_batches_and_each_uid_is_stored_once(sessions: sessionmaker[Session]) -> None:
    committer = GroupCommitter(sessions)
    committer.start()
    results: dict[tuple[int, int], bool] = {}

    def sender(n: int) -> None:
        for i in range(20):
            results[(n, i)] = committer.submit(instance(f"2.{i}"), None).result(timeout=30)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    committer.stop()
    for i in range(20):  # four senders sent the same 20 UIDs: exactly one of them stored each
        assert sum(results[(n, i)] for n in range(4)) == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Instance)) == 20


def test_a_broken_connection_is_replaced_and_the_batch_retried(sessions: sessionmaker[Session]) -> None:
    committer = GroupCommitter(sessions)
    committer.start()
    try:
        assert committer.submit(instance("1.2.3.1"), None).result(10)
        assert committer._connection is not None
        committer._connection.connection.dbapi_connection.close()  # as a database restart leaves it
        assert committer.submit(instance("1.2.3.2"), None).result(10)
    finally:
        committer.stop()
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Instance)) == 2
