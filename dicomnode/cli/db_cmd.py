"""``dicomnode db upgrade|current``: the database schema (Alembic)."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from db.engine import make_engine
from db.migrate import current_revision, head_revision
from db.migrate import upgrade as upgrade_schema
from dicomnode.cli.options import config_option, load_or_exit


@click.group()
def db() -> None:
    """Manage the database schema."""


@db.command()
@config_option
def upgrade(config_path: Path | None) -> None:
    """Apply every pending migration to the configured database."""
    config = load_or_exit(config_path)
    engine = make_engine(config.database.url)
    try:
        upgrade_schema(engine)
        click.echo(f"database at revision {current_revision(engine)}")
    except SQLAlchemyError as exc:
        raise click.ClickException(f"database.url: cannot upgrade: {exc}") from exc
    finally:
        engine.dispose()


@db.command()
@config_option
def current(config_path: Path | None) -> None:
    """Show the database's schema revision and the one this version needs."""
    config = load_or_exit(config_path)
    engine = make_engine(config.database.url)
    try:
        click.echo(f"current: {current_revision(engine) or 'none'}; needed: {head_revision()}")
    except SQLAlchemyError as exc:
        raise click.ClickException(f"database.url: cannot connect: {exc}") from exc
    finally:
        engine.dispose()
