"""Group commit of instance rows, leader/follower: the rows of concurrent associations share one commit.

Each C-STORE handler starts the durable write of its file on a sync thread (:meth:`DurableStore.store_soon
<dicomnode.scp.storage.DurableStore.store_soon>`) and meanwhile commits its row with :meth:`GroupCommit.commit`.
The first handler that finds no commit running becomes the leader: it takes every row queued at that moment
and inserts them in one transaction (:func:`db.ingest.insert_instances`); the handlers whose rows it took
wait for its outcome, and those whose rows came too late elect the next leader when it is done. N
concurrent senders thus pay one commit (one WAL fsync on SQLite, one WAL flush on PostgreSQL) per batch,
with no hop through a committer thread, and a failed batch fails every row in it. Success still goes out
only after the handler's own row is committed and its file is durable. A crash in between can leave a
committed row whose file never became durable (never acknowledged), which start-up reconciliation removes
(:mod:`dicomnode.scp.reconcile`).

One database connection serves every batch (only the leader uses it): no pool check-out or pre-ping per
batch. On PostgreSQL it runs in autocommit mode, where the batch's single INSERT statement is its own
transaction, committed (WAL flushed) before the statement returns: one round trip instead of three
(BEGIN, INSERT, COMMIT). A batch that finds the connection broken (the database restarted) is retried
once on a new one.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from db.ingest import InstanceInfo, insert_instances

log = logging.getLogger(__name__)

MAX_BATCH = 256  # rows per batch: below insertmanyvalues_page_size (1000), so a batch is one INSERT statement


@dataclass(eq=False)
class Ticket:
    """One queued row and, once its batch is done, whether it was inserted or what the commit raised."""

    info: InstanceInfo
    association_id: int | None
    done: bool = False
    inserted: bool = False
    error: Exception | None = None


class GroupCommit:
    """Leader/follower group commit of instance rows on one engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None  # used by the current leader only
        self._queued: list[Ticket] = []
        self._leading = False
        self._changed = threading.Condition()

    def enqueue(self, info: InstanceInfo, association_id: int | None) -> Ticket:
        """Queue the row for the next batch; :meth:`wait` gives its outcome."""
        ticket = Ticket(info, association_id)
        with self._changed:
            self._queued.append(ticket)
        return ticket

    def wait(self, ticket: Ticket) -> bool:
        """Block until the batch holding ``ticket`` is committed, leading it if no commit is running.

        True when the row was inserted, False when its SOP Instance UID was already stored; raises what
        the database raised (SQLAlchemyError) when that batch failed.
        """
        with self._changed:
            while not ticket.done and self._leading:
                self._changed.wait()
            if not ticket.done:
                self._leading = True
                batch, self._queued = self._queued[:MAX_BATCH], self._queued[MAX_BATCH:]
                if ticket not in batch:  # more than MAX_BATCH rows queued before it: its own goes too
                    self._queued.remove(ticket)
                    batch.append(ticket)
        if not ticket.done:
            self._lead(batch)
        if ticket.error is not None:
            raise ticket.error
        return ticket.inserted

    def commit(self, info: InstanceInfo, association_id: int | None) -> bool:
        """:meth:`enqueue` and :meth:`wait` in one call."""
        return self.wait(self.enqueue(info, association_id))

    def close(self) -> None:
        """Close the connection (after the last handler has returned)."""
        with self._changed:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _lead(self, batch: list[Ticket]) -> None:
        try:
            inserted = self._insert([(ticket.info, ticket.association_id) for ticket in batch])
        except Exception as exc:  # noqa: BLE001 - every row of the batch gets the failure
            log.error("commit of %d instance row(s) failed: %s", len(batch), type(exc).__name__)
            for ticket in batch:
                ticket.error = exc
        else:
            for ticket, new in zip(batch, inserted):
                ticket.inserted = new
        with self._changed:
            for ticket in batch:
                ticket.done = True
            self._leading = False
            self._changed.notify_all()

    def _insert(self, rows: list[tuple[InstanceInfo, int | None]]) -> list[bool]:
        """:func:`insert_instances` on the shared connection, once more on a new one if it was broken.

        A retried batch whose first commit did reach the database finds its rows already stored.
        """
        try:
            return self._attempt(rows)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        return self._attempt(rows)

    def _attempt(self, rows: list[tuple[InstanceInfo, int | None]]) -> list[bool]:
        if self._connection is None:
            connection = self.engine.connect()
            if connection.dialect.name == "postgresql":
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            self._connection = connection
        try:
            return insert_instances(self._connection, rows)
        except DBAPIError:
            self._connection.invalidate()
            self._connection = None
            raise
