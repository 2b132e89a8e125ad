"""Alembic environment: runs on the connection handed over by ``db.migrate.upgrade``, or on the URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import db.jobs  # noqa: F401
import db.outbox  # noqa: F401
from db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("alembic: no connection given and sqlalchemy.url is not set")
    engine = create_engine(url)
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
