"""SQLite transactions (db.engine): writers take the lock at BEGIN; a READ_ONLY one never blocks them."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select

from db.engine import READ_ONLY, make_sessionmaker
from db.models import Instance
from tests.conftest import migrated_engine


@pytest.mark.parametrize("read_only, blocks", [(True, False), (False, True)])
def test_an_open_read_only_transaction_does_not_hold_the_write_lock(sqlite_url: str, read_only: bool,
                                                                    blocks: bool) -> None:
    with migrated_engine(sqlite_url) as engine:
        sessions = make_sessionmaker(engine)
        with sessions() as session:
            if read_only:
                session.connection(execution_options=READ_ONLY)
            assert session.scalar(select(func.count()).select_from(Instance)) == 0  # the transaction is open
            writer = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=0.2, isolation_level=None)
            try:
                if blocks:
                    with pytest.raises(sqlite3.OperationalError, match="locked"):
                        writer.execute("BEGIN IMMEDIATE")
                else:
                    writer.execute("BEGIN IMMEDIATE")
                    writer.execute("COMMIT")
            finally:
                writer.close()
