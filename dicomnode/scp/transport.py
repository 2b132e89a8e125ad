"""pynetdicom's association server with the node's gate in front (:mod:`dicomnode.scp.gate`).

- :class:`GatedServer` limits connections waiting to associate (at accept, before any thread starts) and
  leaves the TLS handshake to the connection's thread, so a silent TLS client cannot hold the accept loop.
- :class:`GatedRequestHandler` runs the gate, then hands the already-read A-ASSOCIATE-RQ to pynetdicom
  through :class:`PrefacedSocket`, which serves those bytes before reading the socket again (in reads of
  up to 256 KiB where pynetdicom takes 4 KiB at a time).
  Associations share the server's read-only supported presentation contexts instead of a deep copy each.
- :class:`NodeAssociation` answers a C-STORE request that pynetdicom would drop without a response
  (no valid Affected SOP Instance UID or SOP Class UID, PS3.7 9.3.1.1) with 0xC210 at once, and serves
  each request as soon as it is decoded (its reactor waits on the DIMSE queue instead of sleeping).
- Neither binds pynetdicom's standard log handlers while its logger is above INFO (the node keeps it at
  WARNING, :mod:`dicomnode.logs`): they format every PDU and DIMSE message for log lines that are dropped.
"""

from __future__ import annotations

import logging
import queue
import socket
import ssl
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from pynetdicom import evt
from pynetdicom._globals import MODE_ACCEPTOR
from pynetdicom.ae import ApplicationEntity
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import C_STORE, DimseServiceType
from pynetdicom.presentation import PresentationContext
from pynetdicom.transport import AssociationSocket, RequestHandler, ThreadedAssociationServer

from dicomnode.scp.gate import Gatekeeper, PendingLimits, Refusal, read_associate_rq
from dicomnode.scp.responses import StoreResponses
from dicomnode.scp.tls import AuditedTLS

log = logging.getLogger(__name__)

CANNOT_UNDERSTAND = 0xC210
RECV_CHUNK = 1 << 18  # bytes one socket read may take (256 KiB)
REACTOR_WAIT = 0.001  # seconds an association's reactor waits for a DIMSE message before its other checks

RefusalHandler = Callable[[str, int, Refusal], None]
InvalidRequestHandler = Callable[[Association, str], None]


class PrefacedSocket(AssociationSocket):
    """An accepted socket whose first bytes (the A-ASSOCIATE-RQ the gate read) are served from memory."""

    def __init__(self, assoc: Association, client_socket: socket.socket, preface: bytes) -> None:
        super().__init__(assoc, client_socket=client_socket)
        self._preface = bytearray(preface)

    @property
    def ready(self) -> bool:
        return bool(self._preface) or super().ready

    def recv(self, nr_bytes: int) -> bytearray:
        if not self._preface:
            return self._recv(nr_bytes)
        head = self._preface[:nr_bytes]
        del self._preface[:nr_bytes]
        if len(head) < nr_bytes:
            head += self._recv(nr_bytes - len(head))
        return head

    def _recv(self, nr_bytes: int) -> bytearray:
        """``nr_bytes`` from the socket, fewer only when the peer closed it (as pynetdicom's ``recv``).

        pynetdicom reads 4096 bytes per call: 130 system calls, each dropping and taking the GIL again, for
        a 512 KiB data set. Here one call takes whatever has arrived, up to :data:`RECV_CHUNK`; memory grows
        only with the bytes received, never with the length a peer announces.
        """
        assert self.socket is not None
        received = bytearray()
        while len(received) < nr_bytes:
            chunk = self.socket.recv(min(nr_bytes - len(received), RECV_CHUNK))
            if not chunk:
                break
            received += chunk
        return received


def standard_logs() -> bool:
    """Whether pynetdicom's standard log handlers would log anything: they build the INFO and DEBUG lines
    of every PDU and DIMSE message sent and received (an eighth of the interpreter's time under concurrent
    senders) before a ``pynetdicom`` logger above INFO drops them."""
    return logging.getLogger("pynetdicom").isEnabledFor(logging.INFO)


def bind_defaults(target: Association | ThreadedAssociationServer, bind_standard: Callable[[], None]) -> None:
    """pynetdicom's default handlers: all of them (``bind_standard``, its own ``_bind_defaults``) when
    :func:`standard_logs`, else only those of the intervention events, without its standard log handlers."""
    if standard_logs():
        bind_standard()
        return
    for event in evt._INTERVENTION_EVENTS:
        target.bind(event, evt.get_default_handler(event))


class NodeAssociation(Association):
    """An acceptor association that answers every C-STORE request, even one pynetdicom cannot serve, and
    encodes plain C-STORE responses itself (:mod:`dicomnode.scp.responses`)."""

    def __init__(self, ae: ApplicationEntity, mode: str) -> None:
        super().__init__(ae, mode)
        self.dimse = StoreResponses(self)

    def _run_reactor(self) -> None:
        """pynetdicom's acceptor reactor (``Association._run_reactor`` of pynetdicom 3.0), except that each
        pass waits up to :data:`REACTOR_WAIT` for the next DIMSE message on its queue instead of sleeping
        that long before looking: a request is served as soon as its last fragment is decoded, not half a
        millisecond later on average. Release, abort, a stopped DUL and the network timeout are checked on
        every pass, as there; the network timeout aborts (pynetdicom's default ``network_timeout_response``)."""
        self._is_paused = False
        while not self._kill:
            # the send_*() methods of an acceptor pause the reactor so that it leaves their responses alone
            self._is_paused = True
            self._reactor_checkpoint.wait()
            self._is_paused = False
            try:
                context_id, msg = self.dimse.msg_queue.get(timeout=REACTOR_WAIT)
            except queue.Empty:
                context_id, msg = None, None
            if msg:
                self._serve_request(msg, cast(int, context_id))
            if self.is_established and self.acse.is_release_requested():
                self.acse.send_release(is_response=True)
                self.is_released = True
                self.is_established = False
                evt.trigger(self, evt.EVT_RELEASED, {})
                self.kill()
                return
            if self.acse.is_aborted():
                self.dul.receive_pdu(wait=False)  # so that EVT_ACSE_RECV fires for the abort
                self.is_aborted = True
                self.is_established = False
                evt.trigger(self, evt.EVT_ABORTED, {})
                self.kill()
                return
            if not self.dul.is_alive():
                self.kill()
                return
            if self.dul.idle_timer_expired():
                log.error("network timeout reached (node.network_timeout): aborting the association")
                self.abort()
                self.kill()
                return

    def _bind_defaults(self) -> None:
        bind_defaults(self, super()._bind_defaults)

    def _serve_request(self, msg: DimseServiceType, context_id: int) -> None:
        if isinstance(msg, C_STORE) and not msg.is_valid_request and not self._sent_release:
            self._refuse_store(msg, context_id)
            return
        super()._serve_request(msg, context_id)

    def _refuse_store(self, request: C_STORE, context_id: int) -> None:
        missing = [name for name in request.REQUEST_KEYWORDS if getattr(request, name) is None]
        reason = "C-STORE request without a valid " + ", ".join(missing) + " (PS3.7 9.3.1.1)"
        server = self._server
        if isinstance(server, GatedServer):
            server.on_invalid_request(self, reason)
        if request.MessageID is None:  # nothing to answer to: end the association instead of leaving it hanging
            self.abort()
            return
        response = C_STORE()
        response.MessageIDBeingRespondedTo = request.MessageID
        if request.AffectedSOPClassUID is not None:
            response.AffectedSOPClassUID = request.AffectedSOPClassUID
        response.Status = CANNOT_UNDERSTAND
        self.dimse.send_msg(response, context_id)


class GatedRequestHandler(RequestHandler):
    """Runs the gate for one connection; only a valid A-ASSOCIATE-RQ becomes a pynetdicom association."""

    server: GatedServer

    def handle(self) -> None:
        server = self.server
        host, port = str(self.client_address[0]), int(self.client_address[1])
        sock: socket.socket = self.request
        try:
            deadline = time.monotonic() + float(self.ae.acse_timeout or 30)
            if server.tls is not None:
                sock = server.tls.wrap_socket(sock, server_side=True)
            preface = read_associate_rq(sock, deadline)
        except Gatekeeper as refused:
            server.refuse(sock, host, port, refused.refusal)
            return
        except OSError as exc:  # a failed TLS handshake (AuditedTLS has reported it)
            server.refuse(sock, host, port, Refusal(f"TLS handshake failed: {exc}", "tls"), report=False)
            return
        finally:
            server.pending.release(host)
        sock.settimeout(self.ae.network_timeout)  # a peer that stalls mid-PDU cannot block the DUL forever
        self.request = sock
        assoc = self._create_association_with(preface)
        evt.trigger(assoc, evt.EVT_CONN_OPEN, {"address": self.client_address})
        assoc.start()

    def _create_association_with(self, preface: bytes) -> Association:
        """As pynetdicom's ``_create_association``, with :class:`NodeAssociation` and :class:`PrefacedSocket`."""
        assoc = NodeAssociation(self.ae, MODE_ACCEPTOR)
        assoc._server = self.server
        assoc.name = f"AcceptorThread@{datetime.now():%Y%m%d%H%M%S}"  # pynetdicom counts threads by this name
        assoc.set_socket(PrefacedSocket(assoc, self.request, preface))
        assoc.acceptor.maximum_length = self.ae.maximum_pdu_size
        assoc.acceptor.ae_title = self.server.ae_title
        assoc.acceptor.address_info = self.local
        assoc.acceptor.implementation_class_uid = self.ae.implementation_class_uid
        assoc.acceptor.implementation_version_name = self.ae.implementation_version_name
        # pynetdicom deep-copies the server's contexts for every association; negotiation only reads them
        # (negotiate_as_acceptor builds new contexts for its answer), and the deep copy of every storage SOP
        # class with every transfer syntax cost a third of the node's CPU under concurrent senders.
        assoc.acceptor.supported_contexts = list(self.server.contexts)
        assoc.requestor.address_info = self.remote
        for event, handlers in self.server._handlers.items():
            if event.is_intervention and handlers:
                assoc.bind(event, *handlers)
            elif isinstance(event, evt.NotificationEvent) and isinstance(handlers, list):  # (handler, args) pairs
                for handler, args in handlers:
                    assoc.bind(event, handler, args)
        return assoc


class GatedServer(ThreadedAssociationServer):
    """A threaded association server whose connections pass the gate first."""

    def __init__(
        self,
        ae: ApplicationEntity,
        address: tuple[str, int] | tuple[str, int, int, int],
        ae_title: str,
        contexts: list[PresentationContext],
        ssl_context: ssl.SSLContext | None = None,
        evt_handlers: list[evt.EventHandlerType] | None = None,
        *,
        pending: PendingLimits,
        tls: AuditedTLS | None,
        on_refused: RefusalHandler,
        on_invalid_request: InvalidRequestHandler,
    ) -> None:
        """As :meth:`ApplicationEntity.make_server` calls it, with the gate's keyword arguments after its own."""
        self.pending = pending
        self.tls = tls
        self.on_refused = on_refused
        self.on_invalid_request = on_invalid_request
        super().__init__(ae, address, ae_title, contexts, ssl_context, evt_handlers, GatedRequestHandler)
        self.daemon_threads = True

    def _bind_defaults(self) -> None:
        bind_defaults(self, super()._bind_defaults)

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        assert self.socket is not None
        client, address = self.socket.accept()  # TLS, if any, is the connection thread's business
        return client, address

    def verify_request(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> bool:
        host, port = str(client_address[0]), int(client_address[1])
        refusal = self.pending.admit(host)
        if refusal is None:
            return True
        self.on_refused(host, port, refusal)
        return False  # socketserver closes the socket

    def refuse(self, sock: socket.socket, host: str, port: int, refusal: Refusal, report: bool = True) -> None:
        """Record the refusal, then close (a peer that saw the close finds the row already written)."""
        try:
            if report:
                self.on_refused(host, port, refusal)
        finally:
            sock.close()
