"""TLS for the SCP (PS3.15 Annex B.1, the Basic TLS Secure Transport Connection Profile).

The server context uses TLS 1.2 or later with the configured certificate and key; with
``require_client_cert`` the peer must present a certificate signed by ``tls_ca``.
:class:`AuditedTLS` wraps accepted sockets with a handshake time limit and reports failed handshakes.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable

from dicomnode.config import SecuritySection
from dicomnode.errors import StartupError


def server_context(security: SecuritySection) -> ssl.SSLContext:
    """The SSLContext of the listening socket, or StartupError naming the file that cannot be used."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(security.tls_cert), str(security.tls_key))
    except (OSError, ssl.SSLError) as exc:
        raise StartupError(f"security.tls_cert/tls_key cannot be loaded: {exc}") from exc
    if security.tls_ca is not None:
        try:
            context.load_verify_locations(cafile=str(security.tls_ca))
        except (OSError, ssl.SSLError) as exc:
            raise StartupError(f"security.tls_ca cannot be loaded: {exc}") from exc
    if security.require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
    elif security.tls_ca is not None:
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


class AuditedTLS:
    """Stands in for the SSLContext pynetdicom wraps accepted sockets with.

    The handshake gets ``timeout`` seconds (a silent client cannot hold the accept loop), and a failed
    handshake is reported to ``on_failure(host, port, reason)`` before the connection is dropped.
    """

    def __init__(self, context: ssl.SSLContext, timeout: float, on_failure: Callable[[str, int, str], None]) -> None:
        self.context = context
        self.timeout = timeout
        self.on_failure = on_failure

    def wrap_socket(self, sock: socket.socket, server_side: bool = True) -> ssl.SSLSocket:
        host, port = sock.getpeername()[:2]
        previous = sock.gettimeout()
        sock.settimeout(self.timeout)
        try:
            wrapped = self.context.wrap_socket(sock, server_side=server_side)
        except (ssl.SSLError, OSError) as exc:
            self.on_failure(str(host), int(port), f"TLS handshake failed: {exc}")
            sock.close()
            raise
        wrapped.settimeout(previous)
        return wrapped
