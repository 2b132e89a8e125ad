"""Run ``dicomnode serve`` as a real subprocess for integration tests."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pynetdicom import AE
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]
from sqlalchemy import Engine

from db.engine import make_engine
from db.migrate import upgrade

STARTUP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


class NodeProcess:
    """A node with its own folder, configuration file and database."""

    def __init__(self, root: Path, database_url: str, **sections: dict[str, Any] | list[dict[str, Any]]) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url
        self.port = free_port()
        self.storage = root / "storage"
        self.sections: dict[str, dict[str, Any] | list[dict[str, Any]]] = {
            "node": {"port": self.port, "host": "127.0.0.1", "storage_dir": str(self.storage), "shutdown_timeout": 10},
            "database": {"url": database_url},
            "admin": {"port": 0},  # the admin API on a free port, so nodes in parallel never clash on 8080
        }
        for name, values in sections.items():
            current = self.sections.get(name)
            self.sections[name] = {**current, **values} if isinstance(current, dict) and isinstance(values, dict) else values
        self.config_path = root / "node.toml"
        self.log_path = root / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.tls_args: tuple[ssl.SSLContext, str] | None = None  # how the readiness probe reaches a TLS node
        self._engine: Engine | None = None

    def write_config(self) -> None:
        lines = []
        for name, values in self.sections.items():
            tables = values if isinstance(values, list) else [values]
            for table in tables:  # a list becomes an array of tables, e.g. [[destinations]]
                lines.append(f"[[{name}]]" if isinstance(values, list) else f"[{name}]")
                lines += [f"{key} = {toml_value(value)}" for key, value in table.items()]
        self.config_path.write_text("\n".join(lines) + "\n")

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.database_url)
        return self._engine

    def start(self) -> None:
        self.write_config()
        upgrade(self.engine)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dicomnode", "serve", "--config", str(self.config_path)],
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()
        self.wait_listening()

    def wait_listening(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"dicomnode serve exited with {self.process.returncode}:\n{self.log()}")
            if self.answers_association():
                return
            time.sleep(0.1)
        raise TimeoutError(f"dicomnode serve did not listen on {self.port}:\n{self.log()}")

    def answers_association(self) -> bool:
        """True once the node answers an A-ASSOCIATE-RQ, whether it accepts or rejects it."""
        ae = AE(ae_title="PROBE")
        ae.add_requested_context(Verification)
        ae.acse_timeout = 5
        assoc = ae.associate("127.0.0.1", self.port, ae_title=self.called_ae, tls_args=self.tls_args)
        answered = assoc.is_established or assoc.is_rejected
        if assoc.is_established:
            assoc.release()
        return answered

    @property
    def called_ae(self) -> str:
        node = self.sections["node"]
        assert isinstance(node, dict)
        return str(node.get("ae_title", "DICOMNODE"))

    def wait_for_log(self, text: str, count: int = 1, timeout: float = STARTUP_TIMEOUT) -> None:
        """Wait until ``text`` appears ``count`` times in the node's log (e.g. every worker has started)."""
        deadline = time.monotonic() + timeout
        while self.log().count(text) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{text!r} did not appear {count} time(s) in the log:\n{self.log()}")
            time.sleep(0.1)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def terminate(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                self.terminate()
            except subprocess.TimeoutExpired:
                self.kill()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
