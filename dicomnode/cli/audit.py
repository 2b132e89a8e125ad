"""``dicomnode audit``: search the audit log; table, JSON or CSV; times in UTC ISO 8601."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from db.audit import EVENT_TYPES, OUTCOMES, AuditFilter, search_events
from dicomnode.cli.options import config_option, database_session, load_or_exit
from dicomnode.records import event_as_dict
from dicomnode.rendering import render_csv, render_table

COLUMNS = ("id", "at", "event_type", "outcome", "actor_ae", "actor_host", "study_uid", "message")


class IsoTime(click.ParamType[datetime]):
    """An ISO 8601 date or date-time; without a zone it is taken as UTC."""

    name = "ISO-8601"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 date or date-time (e.g. 2026-11-21T08:00:00Z)", param, ctx)
        return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed


@click.command()
@config_option
@click.option("--since", type=IsoTime(), help="Only events at or after this time (UTC if no zone).")
@click.option("--until", type=IsoTime(), help="Only events before this time (UTC if no zone).")
@click.option("--event", "event_type", type=click.Choice(EVENT_TYPES), help="Only this event type.")
@click.option("--calling-ae", help="Only events of this calling AE title.")
@click.option("--study", "study_uid", help="Only events about this Study Instance UID.")
@click.option("--outcome", type=click.Choice(OUTCOMES), help="Only this outcome.")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=100, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "atna"]), default="table",
              show_default=True, help="atna: one DICOM audit message (PS3.15 A.5, XML) per line.")
def audit(config_path: Path | None, fmt: str, **filters: Any) -> None:
    """Search the audit log, newest first."""
    config = load_or_exit(config_path)
    with database_session(config) as session:
        rows = [event_as_dict(e) for e in search_events(session, AuditFilter(**filters))]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    elif fmt == "atna":
        from dicomnode.atna.export import render_atna  # lxml loads only for this format

        click.echo(render_atna(rows, config))
    elif fmt == "csv":
        click.echo(render_csv(rows, COLUMNS))
    else:
        click.echo(render_table(rows, COLUMNS))
