"""``dicomnode serve``: the node's process, its components, start-up checks and graceful shutdown."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from db.audit import new_event
from db.engine import make_engine, make_sessionmaker
from db.ingest import add_audit, close_interrupted_associations
from db.migrate import current_revision, head_revision
from dicomnode import __version__
from dicomnode.admin import AdminServer, NodeStatus
from dicomnode.admin.server import check_binding
from dicomnode.atna.exporter import AtnaExporter
from dicomnode.config import Config
from dicomnode.errors import StartupError
from dicomnode.scheduler import NodeScheduler
from dicomnode.scp.reconcile import reconcile
from dicomnode.scp.server import StorageSCP
from dicomnode.workers.pool import WorkerPool

log = logging.getLogger(__name__)

GIL_SWITCH_SECONDS = 0.002
"""The interpreter's thread switch interval in serve (default 5 ms). A C-STORE wakes several threads per
instance (its handler after the commit, the durable write after each fsync, the group commit's followers);
with 5 ms, a woken thread can wait that long for the GIL behind one decoding another sender's PDUs. 0.5 ms
forced a switch to every polling pynetdicom thread that woke meanwhile; paired against the bare SCP on the
loaded 2-core VM, 2 ms gave paired ratios as good or better with 1 and 4 senders once the node's per-instance
work shrank."""


def check_schema(engine: Engine) -> None:
    """Refuse to start on a database whose schema is not the current migration."""
    try:
        current = current_revision(engine)
    except SQLAlchemyError as exc:
        raise StartupError(f"database.url cannot be reached: {exc}") from exc
    head = head_revision()
    if current != head:
        raise StartupError(
            f"database schema is at revision {current or 'none'}, this version needs {head}: "
            "run `dicomnode db upgrade` first"
        )


class Node:
    """Everything ``dicomnode serve`` runs: the storage SCP, the assembly scheduler and the worker processes."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.engine = make_engine(config.database.url, echo=config.database.echo)
        self.sessions = make_sessionmaker(self.engine)
        self.scp = StorageSCP(config, self.sessions)
        self.workers = WorkerPool(config)
        self.scheduler = NodeScheduler(config, self.sessions, self.workers)
        self.admin = AdminServer(config, self.sessions, self.admin_status)
        self.atna = AtnaExporter(config, self.sessions)
        self._stop = threading.Event()

    def start(self) -> None:
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        check_schema(self.engine)
        check_binding(self.config.admin)
        interrupted = close_interrupted_associations(self.sessions)
        if interrupted:
            log.warning("%d association(s) were open when the node last stopped; closed as interrupted", interrupted)
        reconciled = reconcile(self.scp.store, self.sessions)
        # recorded before the port opens, so whoever can connect can also read what start-up did to storage
        if reconciled.changed:
            add_audit(
                self.sessions,
                new_event(
                    "node",
                    "success",
                    f"storage reconciled at start-up: {len(reconciled.adopted)} file(s) without a row adopted, "
                    f"{len(reconciled.set_aside)} set aside in .orphans, {len(reconciled.missing)} row(s) without a file removed (never acknowledged)",
                    detail=reconciled.summary(),
                ),
            )
        self.scp.start()
        try:
            self.admin.start()
        except StartupError:
            self.scp.stop(0)
            raise
        self.atna.start()
        self.scheduler.start()
        self.workers.start()
        add_audit(
            self.sessions,
            new_event(
                "node",
                "success",
                f"node {self.config.node.ae_title} started",
                detail={"version": __version__, "port": self.scp.port, "interrupted_associations": interrupted,
                        "storage": reconciled.summary()},
            ),
        )

    def admin_status(self) -> NodeStatus:
        """What ``GET /health`` and ``GET /metrics`` report about the live components."""
        return NodeStatus(scp_listening=self.scp.server is not None, workers_alive=len(self.workers.pids),
                          workers_expected=self.workers.count)

    def request_stop(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        if signum is not None:
            log.info("received %s: shutting down", signal.Signals(signum).name)
        self._stop.set()

    def stop_on_signals(self) -> None:
        """From now on SIGTERM/SIGINT request a graceful stop (call before :meth:`start`: a signal that
        arrives while the node starts, the SCP already listening, is then kept for :meth:`run_until_stopped`
        instead of killing the process)."""
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)

    def run_until_stopped(self) -> None:
        """Block until a stop is requested (SIGTERM/SIGINT or :meth:`request_stop`), then shut down gracefully."""
        self._stop.wait()
        self.stop()

    def stop(self) -> None:
        self.admin.stop()
        self.scp.stop(self.config.node.shutdown_timeout)
        self.scheduler.stop()
        self.workers.stop()
        try:
            add_audit(self.sessions, new_event("node", "success", f"node {self.config.node.ae_title} stopped"))
        except SQLAlchemyError as exc:
            log.error("could not record the node's stop: %s", exc)
        self.atna.stop()  # after the stop event, so that it is forwarded (or spooled) too
        self.engine.dispose()
