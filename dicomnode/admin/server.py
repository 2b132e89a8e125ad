"""``AdminServer``: the admin app under uvicorn in a background thread of ``dicomnode serve``.

The Node starts it after the storage SCP and stops it before the SCP. The listening socket is bound in
:meth:`AdminServer.start` itself, so a port in use or a refused address is a :class:`StartupError` at
start-up, not a log line from a thread. With no ``admin.token`` configured the server refuses any address
that is not loopback (:func:`check_binding`).
"""

from __future__ import annotations

import logging
import socket
import threading
import time

import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from dicomnode.admin.app import create_app
from dicomnode.admin.auth import is_loopback
from dicomnode.admin.status import StatusProvider
from dicomnode.config import AdminSection, Config
from dicomnode.errors import StartupError

log = logging.getLogger(__name__)
START_TIMEOUT = 15.0
MIN_TOKEN_LENGTH = 16


def check_binding(admin: AdminSection) -> None:
    """Refuse a non-loopback ``admin.host`` without ``admin.token`` (the API's secure default)."""
    if not admin.token and not is_loopback(admin.host):
        raise StartupError(
            f"admin.host is {admin.host!r}, which is not a loopback address, and admin.token is empty: "
            "set admin.token (a bearer token) to serve the admin API on other addresses, "
            "or set admin.host = \"127.0.0.1\""
        )
    if admin.token and len(admin.token) < MIN_TOKEN_LENGTH:
        log.warning("admin.token is shorter than %d characters; use a long random token", MIN_TOKEN_LENGTH)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``localhost`` means 127.0.0.1); StartupError if refused."""
    address = "127.0.0.1" if host.lower() == "localhost" else host
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM,
                                                              flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
        sock.listen(128)
    except OSError as exc:
        raise StartupError(f"admin.host/admin.port {host}:{port} cannot be bound: {exc}") from exc
    sock.setblocking(False)
    return sock


class AdminServer:
    """Serve :func:`~dicomnode.admin.app.create_app` on ``admin.host:admin.port`` until :meth:`stop`."""

    def __init__(self, config: Config, sessions: sessionmaker[Session],
                 status_provider: StatusProvider | None = None) -> None:
        self.config = config
        self.app = create_app(config, sessions, status_provider)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def port(self) -> int:
        """The port actually bound (``admin.port = 0`` picks a free one)."""
        if self._socket is None:
            return self.config.admin.port
        return int(self._socket.getsockname()[1])

    def start(self) -> None:
        admin = self.config.admin
        check_binding(admin)
        self._socket = bind_socket(admin.host, admin.port)
        uv_config = uvicorn.Config(self.app, log_config=None, access_log=False, lifespan="off",
                                   timeout_graceful_shutdown=5, server_header=False)
        self._server = uvicorn.Server(uv_config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name="admin-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise StartupError(f"the admin HTTP server on {admin.host}:{admin.port} did not start")
            time.sleep(0.02)
        log.info("admin API listening on http://%s:%d/ (token %s)", admin.host, self.port,
                 "required off loopback and for POST" if admin.token else "not configured: loopback only")

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to finish open requests and exit; wait for its thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the admin HTTP server did not stop within %.0f s", timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None
