"""``dicomnode outbox list|resend ID``: results waiting for, or done with, delivery to the PACS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from db.audit import record_event
from db.engine import make_engine, make_sessionmaker
from db.outbox import STATES, OutboxEntry, list_entries, resend
from dicomnode.cli.options import config_option, load_or_exit

COLUMNS = ("id", "state", "destination", "attempts", "last_status", "next_attempt_at", "sop_instance_uid")


def _time(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if value else None


def entry_as_dict(entry: OutboxEntry) -> dict[str, Any]:
    return {
        "id": entry.id, "state": entry.state, "destination": entry.destination, "attempts": entry.attempts,
        "last_status": entry.last_status, "last_error": entry.last_error,
        "queued_at": _time(entry.queued_at), "next_attempt_at": _time(entry.next_attempt_at),
        "last_attempt_at": _time(entry.last_attempt_at), "sent_at": _time(entry.sent_at),
        "sop_instance_uid": entry.sop_instance_uid, "sop_class_uid": entry.sop_class_uid,
        "study_uid": entry.study_uid, "series_uid": entry.series_uid, "job_id": entry.job_id, "path": entry.path,
    }


def render_table(rows: list[dict[str, Any]]) -> str:
    cells = [[("" if row[c] is None else str(row[c])) for c in COLUMNS] for row in rows]
    widths = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip() for line in cells]
    return "\n".join(lines)


@contextmanager
def _session(config_path: Path | None, write: bool = False) -> Iterator[Session]:
    config = load_or_exit(config_path)
    engine = make_engine(config.database.url)
    try:
        sessions = make_sessionmaker(engine)
        with (sessions.begin() if write else sessions()) as session:
            yield session
    except SQLAlchemyError as exc:
        raise click.ClickException(f"database.url: {exc}") from exc
    finally:
        engine.dispose()


@click.group()
def outbox() -> None:
    """List results queued for delivery and re-send them."""


@outbox.command("list")
@config_option
@click.option("--state", type=click.Choice(STATES), help="Only entries in this state.")
@click.option("--destination", help="Only entries for this destination name.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_command(config_path: Path | None, state: str | None, destination: str | None, limit: int, fmt: str) -> None:
    """Outbox entries, newest first."""
    with _session(config_path) as session:
        rows = [entry_as_dict(e) for e in list_entries(session, state=state, destination=destination, limit=limit)]
    click.echo(json.dumps(rows, indent=2) if fmt == "json" else render_table(rows))


@outbox.command("resend")
@config_option
@click.argument("entry_id", type=int)
def resend_command(config_path: Path | None, entry_id: int) -> None:
    """Send entry ENTRY_ID again at the next delivery tick (also a sent or dead one)."""
    with _session(config_path, write=True) as session:
        entry = resend(session, entry_id)
        if entry is None:
            raise click.ClickException(f"no outbox entry with id {entry_id}")
        record_event(
            session, "delivery", "requeued", f"outbox entry {entry_id} re-queued for {entry.destination} by operator",
            study_uid=entry.study_uid, series_uid=entry.series_uid, sop_instance_uid=entry.sop_instance_uid,
            detail={"outbox_id": entry_id, "destination": entry.destination, "via": "cli"},
        )
        click.echo(f"outbox entry {entry_id} ({entry.sop_instance_uid}) queued for {entry.destination}")
