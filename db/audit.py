"""The append-only audit log: record an event, search events.

Event types (``audit_events.event_type``):

- ``node``: the node started or stopped (IHE ATNA Application Activity, PS3.15 A.5.3.1).
- ``association``: an association ended (released, aborted, interrupted) with its counts.
- ``instances-received``: instances of one study received over one association
  (IHE ATNA DICOM Instances Transferred, PS3.15 A.5.3.4).
- ``store``: a single C-STORE that did not simply succeed (``duplicate`` or ``failure``, with the reason).
- ``security``: an association rejected (unknown caller, wrong called AE title, TLS failure)
  (IHE ATNA Security Alert, PS3.15 A.5.3.11).
- ``series-ready``: a series was judged complete (``detail.rule``: ``released`` or ``quiet``).
- ``admin``: an action taken through the admin HTTP API (retry, resend), ``success`` or ``failure``.
- ``job``: an analysis job changed state: ``queued``, ``skipped`` (with the reason), ``started``,
  ``success``, ``requeued``, ``failure``, ``superseded`` (a newer version replaced it), ``retried``.
- ``delivery``: results queued for a destination (``queued``), every C-STORE attempt (``success`` or
  ``failure`` with ``detail.status``, the next attempt or ``detail.state == "dead"``), a resend (``requeued``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from db.models import AuditEvent, utcnow

EVENT_TYPES: tuple[str, ...] = ("node", "association", "instances-received", "store", "security", "series-ready", "job", "delivery")
OUTCOMES: tuple[str, ...] = ("success", "duplicate", "failure", "rejected")
OUTCOMES += ("queued", "skipped", "started", "requeued", "superseded", "retried")  # job life cycle
EVENT_TYPES += ("admin",)  # an action taken through the admin HTTP API (every POST), with its outcome


@dataclass(frozen=True)
class AuditFilter:
    """Filters of ``dicomnode audit`` and ``GET /api/audit``; ``None`` means no filter."""

    since: datetime | None = None
    until: datetime | None = None
    event_type: str | None = None
    calling_ae: str | None = None
    study_uid: str | None = None
    outcome: str | None = None
    limit: int = 100


def new_event(
    event_type: str,
    outcome: str,
    message: str = "",
    *,
    actor_ae: str | None = None,
    actor_host: str | None = None,
    study_uid: str | None = None,
    series_uid: str | None = None,
    sop_instance_uid: str | None = None,
    association_id: int | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Build an audit row (not yet added to a session)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown audit event type {event_type!r}; expected one of {EVENT_TYPES}")
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}; expected one of {OUTCOMES}")
    return AuditEvent(
        at=at or utcnow(),
        event_type=event_type,
        outcome=outcome,
        message=message,
        actor_ae=actor_ae,
        actor_host=actor_host,
        study_uid=study_uid,
        series_uid=series_uid,
        sop_instance_uid=sop_instance_uid,
        association_id=association_id,
        detail=detail or {},
    )


def record_event(session: Session, event_type: str, outcome: str, message: str = "", **fields: Any) -> AuditEvent:
    """Add an audit row to ``session`` (the caller commits, so it lands with the change it describes)."""
    event = new_event(event_type, outcome, message, **fields)
    session.add(event)
    return event


def filtered_query(flt: AuditFilter) -> Select[AuditEvent]:
    """The SELECT for ``flt``, newest first."""
    query = select(AuditEvent)
    if flt.since is not None:
        query = query.where(AuditEvent.at >= flt.since)
    if flt.until is not None:
        query = query.where(AuditEvent.at < flt.until)
    if flt.event_type is not None:
        query = query.where(AuditEvent.event_type == flt.event_type)
    if flt.calling_ae is not None:
        query = query.where(AuditEvent.actor_ae == flt.calling_ae)
    if flt.study_uid is not None:
        query = query.where(AuditEvent.study_uid == flt.study_uid)
    if flt.outcome is not None:
        query = query.where(AuditEvent.outcome == flt.outcome)
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(flt.limit)


def search_events(session: Session, flt: AuditFilter) -> Sequence[AuditEvent]:
    """Audit rows matching ``flt``, newest first, at most ``flt.limit``."""
    return session.scalars(filtered_query(flt)).all()
