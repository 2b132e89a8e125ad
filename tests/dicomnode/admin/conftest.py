"""An admin API server running in-process (uvicorn on a free port) over a seeded database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from db.engine import make_engine, make_sessionmaker
from db.migrate import upgrade
from dicomnode.admin import AdminServer
from dicomnode.config import Config
from tests.dicomnode.admin.seed import Seeded, seed


@dataclass
class RunningAdmin:
    base: str
    sessions: sessionmaker[Session]
    seeded: Seeded
    config: Config

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=10, **kwargs)  # type: ignore[arg-type]


def admin_config(database_url: str, root: Path, **admin: object) -> Config:
    return Config(
        database={"url": database_url},
        node={"storage_dir": str(root / "storage")},
        results={"dir": str(root / "results")},
        admin={"host": "127.0.0.1", "port": 0, "disk_min_free_mb": 0, **admin},
    )


@pytest.fixture
def start_admin(tmp_path: Path) -> Iterator[Callable[..., RunningAdmin]]:
    """``start_admin(database_url, token="")``: seed the database and serve the admin API on a free port."""
    servers: list[AdminServer] = []
    engines = []

    def start(database_url: str, **admin: object) -> RunningAdmin:
        engine = make_engine(database_url)
        engines.append(engine)
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        config = admin_config(database_url, tmp_path, **admin)
        seeded = seed(sessions, Path(config.results.dir))
        server = AdminServer(config, sessions)
        server.start()
        servers.append(server)
        return RunningAdmin(f"http://127.0.0.1:{server.port}", sessions, seeded, config)

    yield start
    for server in servers:
        server.stop()
    for engine in engines:
        engine.dispose()
