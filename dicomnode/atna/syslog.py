"""RFC 5424 syslog messages carrying DICOM audit messages, sent over TCP or TLS, spooled when undeliverable.

- Message (RFC 5424 section 6): ``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - BOM XML``, facility
  10 (security/authorization) and severity 5 (notice), PRI 85, as IHE ITI-20 (Record Audit Event) uses;
  MSGID ``IHE+RFC-3881``; the MSG is the UTF-8 audit message (PS3.15 A.5) after a BOM (RFC 5424 6.4).
- Transport: TCP with octet-counting framing, ``MSG-LEN SP SYSLOG-MSG`` (RFC 6587 section 3.4.1), or the
  same framing inside TLS (RFC 5425 section 4.3), with the collector's certificate checked against
  ``tls_ca`` and an optional client certificate (``tls_cert``/``tls_key``) for mutual authentication.
- Spool: a message that cannot be delivered (collector down, TLS refused) is written to ``spool_dir`` as
  one file; every later :meth:`SyslogSender.send` first delivers the spool, oldest first, and removes each
  file once written to the socket.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import ssl
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)

FACILITY_AUTHPRIV = 10  # RFC 5424 Table 1: security/authorization messages
SEVERITY_NOTICE = 5
MSGID = "IHE+RFC-3881"
BOM = b"\xef\xbb\xbf"
SPOOL_SUFFIX = ".syslog"


def _header_field(value: str, limit: int) -> str:
    """A PRINTUSASCII header field of at most ``limit`` characters; ``-`` (NILVALUE) when empty."""
    cleaned = "".join(c for c in value if 33 <= ord(c) <= 126)[:limit]
    return cleaned or "-"


def format_message(payload: bytes, *, hostname: str, app_name: str = "dicomnode", procid: str | None = None,
                   msgid: str = MSGID, at: datetime | None = None,
                   facility: int = FACILITY_AUTHPRIV, severity: int = SEVERITY_NOTICE) -> bytes:
    """One RFC 5424 SYSLOG-MSG whose MSG is ``payload`` (UTF-8) after a BOM."""
    stamp = (at or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="milliseconds")
    header = " ".join([
        f"<{facility * 8 + severity}>1",
        stamp.replace("+00:00", "Z"),
        _header_field(hostname, 255),
        _header_field(app_name, 48),
        _header_field(procid or str(os.getpid()), 128),
        _header_field(msgid, 32),
        "-",  # no STRUCTURED-DATA
    ])
    return header.encode("ascii") + b" " + BOM + payload


def frame(message: bytes) -> bytes:
    """Octet-counting framing (RFC 6587 3.4.1, also RFC 5425 4.3): ``MSG-LEN SP SYSLOG-MSG``."""
    return str(len(message)).encode("ascii") + b" " + message


class SyslogSender:
    """Deliver syslog messages to one collector; what cannot be delivered now waits in ``spool_dir``."""

    def __init__(self, host: str, port: int, spool_dir: Path, *, tls: bool = False, ca: Path | None = None,
                 cert: Path | None = None, key: Path | None = None, timeout: float = 5.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.spool_dir = Path(spool_dir)
        self._counter = itertools.count()
        self._ssl: ssl.SSLContext | None = None
        if tls:
            self._ssl = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca) if ca else None)
            self._ssl.minimum_version = ssl.TLSVersion.TLSv1_2
            if cert is not None:
                self._ssl.load_cert_chain(str(cert), str(key) if key else None)

    # ---- spool ---------------------------------------------------------------------------------
    def spooled(self) -> list[Path]:
        """Spool files, oldest first."""
        if not self.spool_dir.is_dir():
            return []
        return sorted(self.spool_dir.glob(f"*{SPOOL_SUFFIX}"))

    def spool(self, message: bytes) -> Path:
        """Write one undelivered message durably (temporary name, fsync, rename)."""
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(self._counter):06d}{SPOOL_SUFFIX}"
        path = self.spool_dir / name
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as handle:
            handle.write(message)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        return path

    # ---- delivery ------------------------------------------------------------------------------
    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        if self._ssl is None:
            return sock
        try:
            return self._ssl.wrap_socket(sock, server_hostname=self.host)
        except (ssl.SSLError, OSError):
            sock.close()
            raise

    def send(self, messages: Iterable[bytes]) -> int:
        """Deliver the spool, then ``messages``; spool whatever is not delivered. Returns how many were sent."""
        pending = list(messages)
        sent = 0
        try:
            with self._connect() as sock:
                for path in self.spooled():
                    sock.sendall(frame(path.read_bytes()))
                    path.unlink()
                    sent += 1
                while pending:
                    sock.sendall(frame(pending[0]))
                    pending.pop(0)
                    sent += 1
        except (OSError, ssl.SSLError) as exc:
            if pending:
                log.warning("syslog collector %s:%d unreachable (%s); %d message(s) spooled in %s",
                            self.host, self.port, exc, len(pending), self.spool_dir)
            for message in pending:
                self.spool(message)
        return sent
