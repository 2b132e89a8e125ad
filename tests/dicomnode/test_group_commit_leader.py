"""The leader/follower group commit of the ingest path (dicomnode.scp.commit), on both databases."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from db.models import Instance
from dicomnode.scp import commit
from dicomnode.scp.commit import GroupCommit
from tests.db.test_group_commit import instance


def stored(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Instance)) or 0)


def test_concurrent_handlers_share_batches_and_each_uid_is_stored_once(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    group = GroupCommit(sessions.kw["bind"])
    batches: list[int] = []
    real = commit.insert_instances

    def counted(connection: Any, rows: Any) -> list[bool]:
        batches.append(len(rows))
        return real(connection, rows)

    monkeypatch.setattr(commit, "insert_instances", counted)
    results: dict[tuple[int, int], bool] = {}
    start = threading.Barrier(4)

    def handler(n: int) -> None:
        start.wait()
        for i in range(20):
            results[(n, i)] = group.commit(instance(f"2.{i}"), None)

    threads = [threading.Thread(target=handler, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    group.close()
    for i in range(20):  # four handlers sent the same 20 UIDs: exactly one of them stored each
        assert sum(results[(n, i)] for n in range(4)) == 1
    assert stored(sessions) == 20
    assert sum(batches) == 80 and len(batches) < 80  # some rows shared a commit


def test_a_follower_returns_only_after_the_leaders_commit(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    group = GroupCommit(sessions.kw["bind"])
    entered, release = threading.Event(), threading.Event()
    real = commit.insert_instances

    def held(connection: Any, rows: Any) -> list[bool]:
        entered.set()
        assert release.wait(10)
        return real(connection, rows)

    monkeypatch.setattr(commit, "insert_instances", held)
    outcome: dict[str, bool] = {}
    leader = threading.Thread(target=lambda: outcome.update(leader=group.commit(instance("3.1"), None)))
    leader.start()
    assert entered.wait(10)
    follower_ticket = group.enqueue(instance("3.2"), None)
    follower = threading.Thread(target=lambda: outcome.update(follower=group.wait(follower_ticket)))
    follower.start()
    follower.join(0.5)
    assert follower.is_alive() and not follower_ticket.done  # waits while the leader's commit runs
    release.set()
    leader.join(10)
    follower.join(10)
    group.close()
    assert outcome == {"leader": True, "follower": True}
    assert stored(sessions) == 2


def test_a_failed_commit_fails_every_row_of_its_batch_and_the_next_batch_commits(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    group = GroupCommit(sessions.kw["bind"])
    entered, release = threading.Event(), threading.Event()
    real = commit.insert_instances
    calls = [0]

    def failing_second(connection: Any, rows: Any) -> list[bool]:
        calls[0] += 1
        if calls[0] == 1:  # the first batch: held until the others have queued, then committed
            entered.set()
            assert release.wait(10)
            return real(connection, rows)
        if calls[0] == 2:  # the second batch (the queued rows): the database fails
            raise OperationalError("INSERT", {}, Exception("disk I/O error"))
        return real(connection, rows)

    monkeypatch.setattr(commit, "insert_instances", failing_second)
    first = threading.Thread(target=group.commit, args=(instance("4.0"), None))
    first.start()
    assert entered.wait(10)
    tickets = [group.enqueue(instance(f"4.{i}"), None) for i in (1, 2, 3)]
    errors: list[BaseException] = []

    def wait(ticket: commit.Ticket) -> None:
        try:
            group.wait(ticket)
        except OperationalError as exc:
            errors.append(exc)

    waiters = [threading.Thread(target=wait, args=(ticket,)) for ticket in tickets]
    for thread in waiters:
        thread.start()
    release.set()
    first.join(10)
    for thread in waiters:
        thread.join(10)
    assert len(errors) == 3  # one batch, one failure, every waiter told
    assert group.commit(instance("4.4"), None)  # the next batch commits
    group.close()
    assert stored(sessions) == 2


def test_a_broken_connection_is_replaced_and_the_batch_retried(sessions: sessionmaker[Session]) -> None:
    group = GroupCommit(sessions.kw["bind"])
    try:
        assert group.commit(instance("1.2.3.1"), None)
        assert group._connection is not None
        group._connection.connection.dbapi_connection.close()  # as a database restart leaves it
        assert group.commit(instance("1.2.3.2"), None)
    finally:
        group.close()
    assert stored(sessions) == 2


def test_a_batch_is_one_insert_statement(sessions: sessionmaker[Session]) -> None:
    """One statement: on PostgreSQL (autocommit) it is the whole transaction, so a batch commits atomically."""
    engine = sessions.kw["bind"]
    statements: list[str] = []
    listener = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    group = GroupCommit(engine)
    try:
        tickets = [group.enqueue(instance(f"5.{i}"), None) for i in range(commit.MAX_BATCH + 1)]
        assert group.wait(tickets[-1])  # the last one leads: the batch holds it and the first MAX_BATCH
        assert all(ticket.done for ticket in tickets[:-1]) and tickets[1].inserted
    finally:
        event.remove(engine, "before_cursor_execute", listener)
        group.close()
    assert [s.split()[0] for s in statements if not s.startswith(("BEGIN", "PRAGMA"))] == ["INSERT"]
    assert stored(sessions) == commit.MAX_BATCH + 1
