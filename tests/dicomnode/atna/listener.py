"""A test syslog collector: TCP or TLS, octet-counting frames (RFC 6587 3.4.1 / RFC 5425 4.3)."""

from __future__ import annotations

import socket
import ssl
import threading
import time


class Collector:
    """Accepts connections on 127.0.0.1 in a thread and keeps every framed message it reads."""

    def __init__(self, port: int = 0, context: ssl.SSLContext | None = None) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.context = context
        self.messages: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            try:
                if self.context is not None:
                    conn = self.context.wrap_socket(conn, server_side=True)
                self.messages += parse_frames(read_all(conn))
            except (OSError, ssl.SSLError):
                pass
            finally:
                conn.close()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.messages)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


def read_all(conn: socket.socket) -> bytes:
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def parse_frames(data: bytes) -> list[bytes]:
    """Split ``MSG-LEN SP SYSLOG-MSG`` frames; fail on anything else."""
    out = []
    while data:
        length, _, rest = data.partition(b" ")
        size = int(length)
        assert len(rest) >= size, "truncated frame"
        out.append(rest[:size])
        data = rest[size:]
    return out
