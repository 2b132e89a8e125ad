"""``dicomnode outbox list|resend ID``: results waiting for, or done with, delivery to the PACS."""

from __future__ import annotations

import json
from pathlib import Path

import click

from db.outbox import STATES, list_entries
from dicomnode.cli.options import config_option, database_session, load_or_exit
from dicomnode.delivery import resend_by_operator
from dicomnode.records import outbox_entry_as_dict
from dicomnode.rendering import render_table

COLUMNS = ("id", "state", "destination", "attempts", "last_status", "next_attempt_at", "sop_instance_uid")


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
    with database_session(load_or_exit(config_path)) as session:
        entries = list_entries(session, state=state, destination=destination, limit=limit)
        rows = [{**outbox_entry_as_dict(e), "path": e.path} for e in entries]
    click.echo(json.dumps(rows, indent=2) if fmt == "json" else render_table(rows, COLUMNS))


@outbox.command("resend")
@config_option
@click.argument("entry_id", type=int)
def resend_command(config_path: Path | None, entry_id: int) -> None:
    """Send entry ENTRY_ID again at the next delivery tick (also a sent or dead one)."""
    with database_session(load_or_exit(config_path), write=True) as session:
        entry = resend_by_operator(session, entry_id, via="cli")
        if entry is None:
            raise click.ClickException(f"no outbox entry with id {entry_id}")
        click.echo(f"outbox entry {entry_id} ({entry.sop_instance_uid}) queued for {entry.destination}")
