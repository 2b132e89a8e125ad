"""``dicomnode jobs list|show ID|retry ID``: the analysis queue for administrators."""

from __future__ import annotations

import json
from pathlib import Path

import click
from sqlalchemy import select

from db.jobs import STATES, Job, list_jobs, retry
from db.models import AuditEvent
from dicomnode.cli.options import config_option, database_session, load_or_exit
from dicomnode.records import job_as_dict, utc_iso
from dicomnode.rendering import render_table

COLUMNS = ("id", "pipeline", "state", "version", "attempts", "series_uid", "created_at", "worker_id", "reason")


@click.group()
def jobs() -> None:
    """List, inspect and retry analysis jobs."""


@jobs.command("list")
@config_option
@click.option("--state", type=click.Choice(STATES), help="Only jobs in this state.")
@click.option("--study", "study_uid", help="Only jobs of this Study Instance UID.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_command(config_path: Path | None, state: str | None, study_uid: str | None, limit: int, fmt: str) -> None:
    """Jobs, newest first."""
    with database_session(load_or_exit(config_path)) as session:
        rows = [job_as_dict(job) for job in list_jobs(session, state=state, study_uid=study_uid, limit=limit)]
    click.echo(json.dumps(rows, indent=2) if fmt == "json" else render_table(rows, COLUMNS))


@jobs.command("show")
@config_option
@click.argument("job_id", type=int)
def show_command(config_path: Path | None, job_id: int) -> None:
    """One job as JSON, with the audit events that mention it."""
    with database_session(load_or_exit(config_path)) as session:
        job = session.get(Job, job_id)
        if job is None:
            raise click.ClickException(f"no job {job_id}")
        data = job_as_dict(job)
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.series_uid == job.series_uid, AuditEvent.event_type.in_(("job", "series-ready")))
            .order_by(AuditEvent.id)
        )
        data["events"] = [
            {"at": utc_iso(e.at), "event_type": e.event_type, "outcome": e.outcome, "message": e.message}
            for e in events
            if e.event_type == "series-ready" or (e.detail or {}).get("job_id") == job_id
        ]
    click.echo(json.dumps(data, indent=2))


@jobs.command("retry")
@config_option
@click.argument("job_id", type=int)
@click.option("--force", is_flag=True, help="Also run a job that selection skipped.")
def retry_command(config_path: Path | None, job_id: int, force: bool) -> None:
    """Queue a finished job again with fresh attempts."""
    try:
        with database_session(load_or_exit(config_path), write=True) as session:
            job = retry(session, job_id, force=force)
            message = f"job {job.id} queued again (series {job.series_uid}, version {job.version})"
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(message)
