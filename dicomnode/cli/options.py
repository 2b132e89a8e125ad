"""Options every subcommand shares: ``--config FILE`` and logging set-up."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from db.engine import make_engine, make_sessionmaker
from dicomnode.config import Config, load_config
from dicomnode.errors import ConfigError
from dicomnode.logs import configure_logging

F = TypeVar("F", bound=Callable[..., Any])


def config_option(func: F) -> F:
    """Add ``--config FILE`` (falls back to $DICOMNODE_CONFIG, ./dicomnode.toml, embedded defaults)."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="TOML configuration file (default: $DICOMNODE_CONFIG, else ./dicomnode.toml, else built-in).",
    )(func)


def load_or_exit(config_path: Path | None) -> Config:
    """Load the configuration; on error print the message naming the key and exit with status 2."""
    try:
        return load_config(config_path)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


@contextmanager
def database_session(config: Config, write: bool = False) -> Iterator[Session]:
    """A session on ``config``'s database (one transaction committed at the end when ``write``).

    A database that cannot be reached stops the command with a message naming ``database.url``.
    """
    engine = make_engine(config.database.url)
    try:
        sessions = make_sessionmaker(engine)
        with sessions.begin() if write else sessions() as session:
            yield session
    except SQLAlchemyError as exc:
        raise click.ClickException(f"database.url: {exc}") from exc
    finally:
        engine.dispose()


def setup_logging(verbose: bool = False, json_logs: bool = False) -> None:
    configure_logging(verbose=verbose, json_logs=json_logs)


def require_data(source: str, data: Path | None) -> None:
    """Stop with a usage error when a file-based training or evaluation ``source`` has no ``--data`` folder."""
    if source != "phantoms" and data is None:
        raise click.UsageError(f"--source {source} needs --data FOLDER")
