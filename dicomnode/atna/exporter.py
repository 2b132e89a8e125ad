"""Forward new audit rows as ATNA syslog messages while ``dicomnode serve`` runs (``[audit_export]``).

A background thread reads ``audit_events`` past a high-water mark every ``poll_seconds``, maps each row to
its DICOM audit message (:mod:`dicomnode.atna.mapping`), wraps it as RFC 5424 syslog and hands it to
:class:`~dicomnode.atna.syslog.SyslogSender`, which spools to disk whatever the collector does not take.
The mark (the last row id handed over) is kept in ``spool_dir/exported-id`` so a restart neither repeats
nor skips rows. Forwarding starts with the rows recorded after it is first enabled; older ones are
available through ``dicomnode audit --format atna``.
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
import threading
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from db.models import AuditEvent
from dicomnode.atna.export import sop_class_lookup
from dicomnode.atna.mapping import AtnaMapper
from dicomnode.atna.messages import to_bytes
from dicomnode.atna.syslog import SyslogSender, format_message
from dicomnode.config import Config
from dicomnode.errors import StartupError

log = logging.getLogger(__name__)
BATCH = 500
MARK_FILE = "exported-id"


class AtnaExporter:
    """The forwarding thread; does nothing when ``audit_export.syslog_host`` is empty."""

    def __init__(self, config: Config, sessions: sessionmaker[Session]) -> None:
        self.config = config
        self.sessions = sessions
        section = config.audit_export
        self.enabled = bool(section.syslog_host)
        self.mark_path = Path(section.spool_dir) / MARK_FILE
        self.mapper = AtnaMapper(config, sop_class_lookup(sessions))
        self.sender = SyslogSender(section.syslog_host, section.syslog_port, section.spool_dir)
        self.hostname = socket.gethostname()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _read_mark(self, session: Session) -> int:
        try:
            return int(self.mark_path.read_text().strip())
        except FileNotFoundError:
            latest = session.scalar(select(func.max(AuditEvent.id))) or 0
            self._write_mark(latest)
            return int(latest)
        except ValueError:
            log.error("%s is not a row id; forwarding from the newest row", self.mark_path)
            return int(session.scalar(select(func.max(AuditEvent.id))) or 0)

    def _write_mark(self, value: int) -> None:
        self.mark_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.mark_path.with_suffix(".tmp")
        tmp.write_text(f"{value}\n")
        os.replace(tmp, self.mark_path)

    def tick(self) -> int:
        """Forward (or spool) the rows past the mark; return how many messages were handed over."""
        handed = 0
        with self._lock:
            try:
                # Read, then close: on SQLite every transaction holds the write lock (db.engine), and the
                # mapping opens its own short sessions for SOP class look-ups.
                with self.sessions() as session:
                    mark = self._read_mark(session)
                    rows = session.scalars(
                        select(AuditEvent).where(AuditEvent.id > mark).order_by(AuditEvent.id).limit(BATCH)
                    ).all()
                messages = []
                for row in rows:
                    try:
                        message = self.mapper.message(row)
                    except (ValueError, TypeError) as exc:  # a row the mapping cannot read: skip it
                        log.error("ATNA export: audit row %d skipped: %s", row.id, exc)
                        continue
                    if message is not None:
                        messages.append(format_message(to_bytes(message, declaration=False),
                                                       hostname=self.hostname, at=row.at))
            except SQLAlchemyError as exc:
                log.warning("ATNA export: cannot read the audit log: %s", exc)
                return 0
            if messages or self.sender.spooled():
                self.sender.send(messages)
                handed = len(messages)
            if rows:
                self._write_mark(rows[-1].id)
        return handed

    def _run(self) -> None:
        while not self._stop.wait(self.config.audit_export.poll_seconds):
            try:
                while self.tick() >= BATCH:
                    pass
            except Exception:  # the thread must outlive any single bad row or I/O error
                log.exception("ATNA export tick failed")

    def start(self) -> None:
        if not self.enabled:
            return
        section = self.config.audit_export
        try:
            self.sender = SyslogSender(section.syslog_host, section.syslog_port, section.spool_dir, tls=section.tls,
                                       ca=section.tls_ca, cert=section.tls_cert, key=section.tls_key)
        except (OSError, ssl.SSLError) as exc:
            raise StartupError(f"audit_export.tls_ca/tls_cert/tls_key cannot be loaded: {exc}") from exc
        log.info("ATNA export to %s:%d over %s", section.syslog_host, section.syslog_port,
                 "TLS" if section.tls else "TCP")
        with self.sessions() as session:
            self._read_mark(session)
        self._thread = threading.Thread(target=self._run, name="atna-export", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread after a last pass, so the node's stop event is forwarded or spooled too."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout)
        self._thread = None
        try:
            self.tick()
        except Exception:
            log.exception("ATNA export: final pass failed")
