"""Group commit of instance rows: the rows of concurrent associations share one database commit.

Each C-STORE handler writes and fsyncs its file and links it into place on its own thread, with no
database lock held, then hands the row to :class:`GroupCommitter` and, while that commit runs, fsyncs the
directory entry; it answers only when both are done. One committer
thread takes every row waiting at that moment and inserts them in a single transaction
(:func:`db.ingest.insert_instances`), so N concurrent senders pay one commit (one WAL fsync on SQLite)
per batch instead of one each, and no sender waits for another's file I/O. Success still goes out only
after the handler's own row is committed and its file's directory entry is durable (the promise of the
README). A crash between the two can leave a committed row whose new directory entry was lost: that
instance was never acknowledged, and start-up reconciliation removes the row
(:mod:`dicomnode.scp.reconcile`).

The committer keeps one database connection for its life (a batch costs its transaction's round trips
and no pool check-out or pre-ping); a batch that finds the connection broken (the database restarted)
is retried once on a new one, and a failure after that fails the batch's C-STOREs.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from db.ingest import InstanceInfo, insert_instances

log = logging.getLogger(__name__)

MAX_BATCH = 256


class GroupCommitter:
    """A thread that commits queued instance rows in batches; :meth:`commit` blocks until its row is in."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.engine: Engine = sessions.kw["bind"]
        self._connection: Connection | None = None  # used by the committer thread only
        self._queue: queue.Queue[tuple[InstanceInfo, int | None, Future[bool]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="GroupCommitter", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(10)
            self._thread = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def submit(self, info: InstanceInfo, association_id: int | None) -> Future[bool]:
        """Queue the row; the future gives True when it was inserted, False when the UID was already stored.

        The future raises what the database raised (SQLAlchemyError) when the batch holding the row failed.
        """
        if self._thread is None:
            raise RuntimeError("the group committer is not running")
        done: Future[bool] = Future()
        self._queue.put((info, association_id, done))
        return done

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[tuple[InstanceInfo, int | None, Future[bool]]]) -> None:
        try:
            inserted = self._insert([(info, association_id) for info, association_id, _ in batch])
        except Exception as exc:  # noqa: BLE001 - every waiter gets the failure, the committer lives on
            log.error("commit of %d instance row(s) failed: %s", len(batch), type(exc).__name__)
            for _, _, done in batch:
                done.set_exception(exc)
            return
        for (_, _, done), new in zip(batch, inserted):
            done.set_result(new)

    def _insert(self, rows: list[tuple[InstanceInfo, int | None]]) -> list[bool]:
        """:func:`insert_instances` on the committer's connection, once more on a new one if it was broken.

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
            self._connection = self.engine.connect()
        try:
            return insert_instances(self._connection, rows)
        except DBAPIError:
            self._connection.invalidate()
            self._connection = None
            raise
