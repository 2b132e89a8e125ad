"""Database rows as plain data, the one shape the CLI (JSON, CSV, tables) and the HTTP API both show.

Times are UTC ISO 8601 with a ``Z``; rows carry UIDs, AE titles and reasons, never patient data.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from db.jobs import Job
from db.models import AuditEvent
from db.outbox import OutboxEntry


def utc_iso(value: datetime | None) -> str | None:
    """``2026-03-01T12:00:00Z``, or None."""
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def event_as_dict(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": utc_iso(event.at),
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


def job_as_dict(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "pipeline": job.pipeline,
        "inputs": list(job.inputs or [job.series_uid]),
        "state": job.state,
        "study_uid": job.study_uid,
        "series_uid": job.series_uid,
        "version": job.version,
        "ready_rule": job.ready_rule,
        "reason": job.reason,
        "error": job.error,
        "instances": job.instance_count,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "worker_id": job.worker_id,
        "created_at": utc_iso(job.created_at),
        "started_at": utc_iso(job.started_at),
        "finished_at": utc_iso(job.finished_at),
        "heartbeat_at": utc_iso(job.heartbeat_at),
        "superseded_by": job.superseded_by,
        "detail": job.detail or {},
        "timings_ms": job.timings or {},
        "result": job.result,
    }


def outbox_entry_as_dict(entry: OutboxEntry) -> dict[str, Any]:
    """An outbox entry (the file's path stays out: it means nothing off the server)."""
    return {
        "id": entry.id,
        "state": entry.state,
        "destination": entry.destination,
        "sop_instance_uid": entry.sop_instance_uid,
        "sop_class_uid": entry.sop_class_uid,
        "study_uid": entry.study_uid,
        "series_uid": entry.series_uid,
        "job_id": entry.job_id,
        "attempts": entry.attempts,
        "last_status": entry.last_status,
        "error": entry.last_error,
        "queued_at": utc_iso(entry.queued_at),
        "next_attempt_at": utc_iso(entry.next_attempt_at),
        "last_attempt_at": utc_iso(entry.last_attempt_at),
        "sent_at": utc_iso(entry.sent_at),
    }
