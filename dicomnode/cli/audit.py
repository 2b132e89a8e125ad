"""``dicomnode audit``: search the audit log; table, JSON or CSV; times in UTC ISO 8601."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from db.audit import EVENT_TYPES, OUTCOMES, AuditFilter, search_events
from db.engine import make_engine, make_sessionmaker
from db.models import AuditEvent
from dicomnode.cli.options import config_option, load_or_exit

COLUMNS = ("id", "at", "event_type", "outcome", "actor_ae", "actor_host", "study_uid", "message")


class IsoTime(click.ParamType):
    """An ISO 8601 date or date-time; without a zone it is taken as UTC."""

    name = "ISO-8601"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 date or date-time (e.g. 2026-11-21T08:00:00Z)", param, ctx)
        return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed


def event_as_dict(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
        "event_type": event.event_type,
        "outcome": event.outcome,
        "actor_ae": event.actor_ae,
        "actor_host": event.actor_host,
        "study_uid": event.study_uid,
        "series_uid": event.series_uid,
        "sop_instance_uid": event.sop_instance_uid,
        "association_id": event.association_id,
        "message": event.message,
        "detail": event.detail,
    }


def render_table(rows: list[dict[str, Any]]) -> str:
    cells = [[("" if row[c] is None else str(row[c])) for c in COLUMNS] for row in rows]
    widths = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip() for line in cells]
    return "\n".join(lines)


def render_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()) if rows else list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "detail": json.dumps(row.get("detail", {}))})
    return out.getvalue().rstrip("\n")


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
    engine = make_engine(config.database.url)
    try:
        with make_sessionmaker(engine)() as session:
            rows = [event_as_dict(e) for e in search_events(session, AuditFilter(**filters))]
    finally:
        engine.dispose()
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    elif fmt == "atna":
        from dicomnode.atna.export import render_atna  # lxml loads only for this format

        click.echo(render_atna(rows, config))
    elif fmt == "csv":
        click.echo(render_csv(rows))
    else:
        click.echo(render_table(rows))
