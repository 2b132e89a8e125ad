"""Shared fixtures: database URLs on SQLite and PostgreSQL, a running ``dicomnode serve``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from db.engine import make_engine, make_sessionmaker
from db.migrate import upgrade

from tests.databases import scratch_postgres
from tests.node_process import NodeProcess

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'node.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    with scratch_postgres("dicomnode_test") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


@contextmanager
def migrated_engine(url: str) -> Iterator[Engine]:
    """An engine on ``url`` whose schema has every migration applied; disposed afterwards."""
    engine = make_engine(url)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database, once on SQLite and once on PostgreSQL."""
    with migrated_engine(database_url) as engine:
        yield engine


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def node(tmp_path: Path, sqlite_url: str) -> Iterator[NodeProcess]:
    """A ``dicomnode serve`` subprocess on SQLite with default security, on a free port."""
    process = NodeProcess(tmp_path / "node", sqlite_url)
    process.start()
    try:
        yield process
    finally:
        process.stop()
