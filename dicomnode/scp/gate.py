"""The gate in front of every association: a connection proves it is a DICOM request before it takes a slot.

pynetdicom starts an association thread for each accepted socket, counts every such thread against
``max_associations`` and waits ``acse_timeout`` for the A-ASSOCIATE-RQ on a blocking socket, so a peer that
connects and sends nothing useful (or one byte every few seconds, or an unknown PDU and a close) holds a
slot long after it left and locks out every scanner. The gate runs first, in the connection's own thread:

1. At accept: at most ``max_pending_per_host`` connections per source host and ``max_pending`` in all may be
   waiting to present their request; more are closed at once.
2. TLS handshake, if configured, then the first PDU is read with one deadline for the whole of it
   (``acse_timeout`` from the connection, however slowly it dribbles). A close, a timeout, a PDU other than
   A-ASSOCIATE-RQ (PS3.8 9.3.2) or one that does not decode ends the connection at once (with A-ABORT,
   PS3.8 9.3.8, where a PDU arrived).
3. AE titles are checked against PS3.5 Table 6.2-1 (AE: 16 bytes of the default character repertoire, no
   control characters or backslash, not all spaces): a malformed calling title gets A-ASSOCIATE-RJ
   (1, 1, 3), a malformed called title (1, 1, 7) (PS3.8 Table 9-21).

Only a request that passes becomes a pynetdicom association. Every refusal is reported to ``on_refused``.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass

from pynetdicom.pdu import A_ABORT_RQ, A_ASSOCIATE_RJ, A_ASSOCIATE_RQ

from db.text import quoted

ASSOCIATE_RQ = 0x01
PDU_TYPES = range(0x01, 0x08)  # PS3.8 Table 9-1
MAX_RQ_LENGTH = 1 << 20  # an A-ASSOCIATE-RQ with 128 presentation contexts is far below this
CALLED_AE, CALLING_AE = slice(4, 20), slice(20, 36)  # inside the PDU body (PS3.8 Table 9-11)
REJECT_CALLING_AE = (0x01, 0x01, 0x03)
REJECT_CALLED_AE = (0x01, 0x01, 0x07)
ABORT_UNRECOGNIZED_PDU, ABORT_UNEXPECTED_PDU, ABORT_INVALID_PARAMETER = 0x01, 0x02, 0x06  # PS3.8 Table 9-26


@dataclass(frozen=True)
class Refusal:
    """Why a connection did not become an association; ``reject`` or ``abort`` is what the peer was sent."""

    reason: str
    kind: str  # "limit", "closed", "timeout", "junk", "tls", "ae-title"
    calling_ae: str = ""
    called_ae: str = ""
    reject: tuple[int, int, int] | None = None
    abort: int | None = None


class Gatekeeper(Exception):
    """Raised inside the gate when a connection is refused; carries the :class:`Refusal`."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal


class PendingLimits:
    """Connections accepted but not yet associated, per source host and in all."""

    def __init__(self, per_host: int, total: int) -> None:
        self.per_host = per_host
        self.total = total
        self._pending: Counter[str] = Counter()
        self._lock = threading.Lock()

    def admit(self, host: str) -> Refusal | None:
        with self._lock:
            if self._pending[host] >= self.per_host:
                return Refusal(f"{host} already has {self.per_host} connection(s) waiting to associate "
                               "(node.max_pending_per_host)", "limit")
            if sum(self._pending.values()) >= self.total:
                return Refusal(f"{self.total} connections are already waiting to associate (node.max_pending)",
                               "limit")
            self._pending[host] += 1
            return None

    def release(self, host: str) -> None:
        with self._lock:
            self._pending[host] -= 1
            if self._pending[host] <= 0:
                del self._pending[host]


def read_associate_rq(sock: socket.socket, deadline: float) -> bytes:
    """The whole first PDU if it is a well-formed A-ASSOCIATE-RQ; Gatekeeper (after answering) otherwise."""
    header = _read(sock, 6, deadline, "PDU header")
    pdu_type, _, length = struct.unpack(">BBL", header)
    if pdu_type not in PDU_TYPES:
        _abort(sock, ABORT_UNRECOGNIZED_PDU)
        raise Gatekeeper(Refusal(f"unknown PDU type 0x{pdu_type:02X} instead of an A-ASSOCIATE-RQ", "junk",
                                 abort=ABORT_UNRECOGNIZED_PDU))
    if pdu_type != ASSOCIATE_RQ:
        _abort(sock, ABORT_UNEXPECTED_PDU)
        raise Gatekeeper(Refusal(f"PDU type 0x{pdu_type:02X} before any A-ASSOCIATE-RQ", "junk",
                                 abort=ABORT_UNEXPECTED_PDU))
    if not 68 <= length <= MAX_RQ_LENGTH:
        _abort(sock, ABORT_INVALID_PARAMETER)
        raise Gatekeeper(Refusal(f"A-ASSOCIATE-RQ declares an implausible length of {length} bytes", "junk",
                                 abort=ABORT_INVALID_PARAMETER))
    body = _read(sock, length, deadline, "A-ASSOCIATE-RQ")
    called, calling = check_ae_title(body[CALLED_AE]), check_ae_title(body[CALLING_AE])
    if isinstance(calling, Refusal) or isinstance(called, Refusal):
        bad, rule = (calling, REJECT_CALLING_AE) if isinstance(calling, Refusal) else (called, REJECT_CALLED_AE)
        assert isinstance(bad, Refusal)
        label = "calling" if rule == REJECT_CALLING_AE else "called"
        _send(sock, _reject_pdu(rule))
        raise Gatekeeper(Refusal(f"malformed {label} AE title: {bad.reason}", "ae-title",
                                 calling_ae=_shown(body[CALLING_AE]), called_ae=_shown(body[CALLED_AE]),
                                 reject=rule))
    pdu = header + body
    try:
        A_ASSOCIATE_RQ().decode(pdu)
    except Exception as exc:  # noqa: BLE001 - pynetdicom raises many types on a malformed PDU
        _abort(sock, ABORT_INVALID_PARAMETER)
        raise Gatekeeper(Refusal(f"A-ASSOCIATE-RQ does not decode: {type(exc).__name__}: {exc}", "junk",
                                 calling_ae=str(calling), called_ae=str(called),
                                 abort=ABORT_INVALID_PARAMETER)) from exc
    return pdu


def check_ae_title(raw: bytes) -> str | Refusal:
    """The AE title in ``raw`` (16 bytes, spaces stripped) or why it breaks PS3.5 Table 6.2-1."""
    if any(byte > 0x7E for byte in raw):
        return Refusal(f"{quoted(_shown(raw))} holds bytes outside the default character repertoire", "ae-title")
    if any(byte < 0x20 or byte == 0x5C for byte in raw):
        return Refusal(f"{quoted(_shown(raw))} holds control characters or a backslash", "ae-title")
    title = raw.decode("ascii").strip(" ")
    if not title:
        return Refusal("the title is all spaces", "ae-title")
    return title


def _shown(raw: bytes) -> str:
    return raw.decode("latin-1").strip(" ")


def _read(sock: socket.socket, count: int, deadline: float, what: str) -> bytes:
    data = bytearray()
    while len(data) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Gatekeeper(Refusal(f"{what} not complete within acse_timeout ({len(data)} of {count} bytes)",
                                     "timeout"))
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(min(count - len(data), 65536))
        except (TimeoutError, socket.timeout):
            continue
        except OSError as exc:
            raise Gatekeeper(Refusal(f"connection failed before the {what} arrived: {exc}", "closed")) from exc
        if not chunk:
            raise Gatekeeper(Refusal(f"connection closed after {len(data)} of {count} bytes of the {what}", "closed"))
        data += chunk
    return bytes(data)


def _reject_pdu(rule: tuple[int, int, int]) -> bytes:
    pdu = A_ASSOCIATE_RJ()
    pdu.result, pdu.source, pdu.reason_diagnostic = rule
    return bytes(pdu.encode())


def _abort(sock: socket.socket, reason: int) -> None:
    pdu = A_ABORT_RQ()
    pdu.source, pdu.reason_diagnostic = 0x02, reason  # service provider initiated (PS3.8 Table 9-26)
    _send(sock, bytes(pdu.encode()))


def _send(sock: socket.socket, data: bytes) -> None:
    try:
        sock.settimeout(1.0)
        sock.sendall(data)
    except OSError:
        pass  # the peer is gone; nothing more to tell it
