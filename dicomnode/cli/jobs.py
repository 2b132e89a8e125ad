"""``dicomnode jobs list|show ID|retry ID``: the analysis queue for administrators."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import make_engine, make_sessionmaker
from db.jobs import STATES, Job, list_jobs, retry
from db.models import AuditEvent
from dicomnode.cli.options import config_option, load_or_exit

COLUMNS = ("id", "state", "version", "attempts", "series_uid", "created_at", "worker_id", "reason")


def _time(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if value else None


def job_as_dict(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "state": job.state,
        "study_uid": job.study_uid,
        "series_uid": job.series_uid,
        "version": job.version,
        "ready_rule": job.ready_rule,
        "reason": job.reason,
        "instances": job.instance_count,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "worker_id": job.worker_id,
        "created_at": _time(job.created_at),
        "started_at": _time(job.started_at),
        "heartbeat_at": _time(job.heartbeat_at),
        "finished_at": _time(job.finished_at),
        "error": job.error,
        "superseded_by": job.superseded_by,
        "detail": job.detail,
        "timings_ms": job.timings,
        "result": job.result,
    }


@contextmanager
def _session(config_path: Path | None, write: bool = False) -> Iterator[Session]:
    config = load_or_exit(config_path)
    engine = make_engine(config.database.url)
    try:
        sessions = make_sessionmaker(engine)
        with (sessions.begin() if write else sessions()) as session:
            yield session
    finally:
        engine.dispose()


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
    with _session(config_path) as session:
        rows = [job_as_dict(job) for job in list_jobs(session, state=state, study_uid=study_uid, limit=limit)]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    cells = [[("" if row[c] is None else str(row[c])) for c in COLUMNS] for row in rows]
    widths = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(COLUMNS)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths)).rstrip())
    for line in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip())


@jobs.command("show")
@config_option
@click.argument("job_id", type=int)
def show_command(config_path: Path | None, job_id: int) -> None:
    """One job as JSON, with the audit events that mention it."""
    with _session(config_path) as session:
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
            {"at": _time(e.at), "event_type": e.event_type, "outcome": e.outcome, "message": e.message}
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
        with _session(config_path, write=True) as session:
            job = retry(session, job_id, force=force)
            message = f"job {job.id} queued again (series {job.series_uid}, version {job.version})"
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(message)
