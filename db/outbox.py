"""The outbox: one row per (produced SOP Instance, destination) still to deliver or delivered, and its queries.

States::

    pending --C-STORE success--> sent
    pending --failure, time left--> pending (next_attempt_at = now + backoff)
    pending --failure, give-up time passed--> dead
    sent | dead --resend--> pending (attempts and the give-up clock start again)

The pair (SOP Instance UID, destination) is unique, so queueing the same result twice (a retried job, a
crash between the write and the commit) adds nothing: results carry deterministic UIDs and the PACS sees
each instance once. The dataset itself lives in a file (``path``), written durably before the row commits.
Times are UTC. The caller commits, so a state change lands together with its audit row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from db.models import UID_LENGTH, Base, UTCDateTime, utcnow

PENDING, SENT, DEAD = "pending", "sent", "dead"
STATES = (PENDING, SENT, DEAD)


class OutboxEntry(Base):
    """One produced instance for one destination."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("sop_instance_uid", "destination", name="uq_outbox_sop_destination"),
        Index("ix_outbox_state_due", "state", "next_attempt_at"),
        Index("ix_outbox_study", "study_uid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sop_instance_uid: Mapped[str] = mapped_column(String(UID_LENGTH))
    sop_class_uid: Mapped[str] = mapped_column(String(UID_LENGTH))
    study_uid: Mapped[str] = mapped_column(String(UID_LENGTH))
    series_uid: Mapped[str] = mapped_column(String(UID_LENGTH))
    destination: Mapped[str] = mapped_column(String(64))  # [[destinations]] name
    path: Mapped[str] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # the give-up clock starts here
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status: Mapped[str | None] = mapped_column(String(32), nullable=True)  # "0x0000", "no-association", ...
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


@dataclass(frozen=True)
class OutboxItem:
    """What to queue for one produced instance (its file already written durably)."""

    sop_instance_uid: str
    sop_class_uid: str
    study_uid: str
    series_uid: str
    path: str


def enqueue(
    session: Session, items: Iterable[OutboxItem], destinations: Sequence[str], *,
    job_id: int | None = None, now: datetime | None = None,
) -> tuple[list[OutboxEntry], list[OutboxEntry]]:
    """Queue every item for every destination, idempotently by (SOP Instance UID, destination).

    Returns
    -------
    (added, existing)
        Rows created now, and rows that were already there (left as they are: a pending one keeps its
        schedule, a sent or dead one is re-sent only by :func:`resend`).
    """
    now = now or utcnow()
    items = list(items)
    added: list[OutboxEntry] = []
    existing: list[OutboxEntry] = []
    for destination in destinations:
        uids = [item.sop_instance_uid for item in items]
        known = {
            row.sop_instance_uid: row
            for row in session.scalars(
                select(OutboxEntry).where(OutboxEntry.destination == destination, OutboxEntry.sop_instance_uid.in_(uids))
            )
        }
        for item in items:
            if item.sop_instance_uid in known:
                existing.append(known[item.sop_instance_uid])
                continue
            entry = OutboxEntry(
                sop_instance_uid=item.sop_instance_uid, sop_class_uid=item.sop_class_uid, study_uid=item.study_uid,
                series_uid=item.series_uid, destination=destination, path=item.path, job_id=job_id, state=PENDING,
                attempts=0, queued_at=now, next_attempt_at=now,
            )
            try:
                with session.begin_nested():  # a concurrent enqueue of the same pair loses quietly
                    session.add(entry)
            except IntegrityError:
                existing.append(
                    session.scalars(
                        select(OutboxEntry).where(
                            OutboxEntry.destination == destination,
                            OutboxEntry.sop_instance_uid == item.sop_instance_uid,
                        )
                    ).one()
                )
                continue
            added.append(entry)
    return added, existing


def claim_due(session: Session, now: datetime, lease: timedelta, limit: int = 1000) -> Sequence[OutboxEntry]:
    """Pending entries whose next attempt is due, oldest first, leased to the caller for ``lease``.

    Their ``next_attempt_at`` moves to ``now + lease`` in the caller's transaction, so another process
    running delivery on the same database (a second receiver) does not send them too; recording the
    attempt sets the real next time. ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the single-writer
    transaction on SQLite. If the sender dies, the entries are due again when the lease ends.
    """
    query = (
        select(OutboxEntry)
        .where(OutboxEntry.state == PENDING, OutboxEntry.next_attempt_at <= now)
        .order_by(OutboxEntry.next_attempt_at, OutboxEntry.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    entries = session.scalars(query).all()
    for entry in entries:
        entry.next_attempt_at = now + lease
    return entries


def record_success(entry: OutboxEntry, status: str, now: datetime | None = None) -> None:
    """The destination accepted the instance."""
    now = now or utcnow()
    entry.attempts += 1
    entry.state = SENT
    entry.last_attempt_at = now
    entry.sent_at = now
    entry.last_status = status
    entry.last_error = None


def record_failure(
    entry: OutboxEntry, status: str, error: str, next_attempt_at: datetime | None, now: datetime | None = None,
) -> None:
    """An attempt failed; retry at ``next_attempt_at``, or give up (``dead``) when it is ``None``."""
    now = now or utcnow()
    entry.attempts += 1
    entry.last_attempt_at = now
    entry.last_status = status
    entry.last_error = error[:4000]
    if next_attempt_at is None:
        entry.state = DEAD
    else:
        entry.state = PENDING
        entry.next_attempt_at = next_attempt_at


def resend(session: Session, entry_id: int, now: datetime | None = None) -> OutboxEntry | None:
    """Make entry ``entry_id`` pending and due now, with a fresh give-up clock; ``None`` if unknown."""
    now = now or utcnow()
    entry = session.get(OutboxEntry, entry_id)
    if entry is None:
        return None
    entry.state = PENDING
    entry.queued_at = now
    entry.next_attempt_at = now
    entry.last_error = None
    return entry


def list_entries(
    session: Session, state: str | None = None, destination: str | None = None, limit: int = 100,
) -> Sequence[OutboxEntry]:
    """Entries newest first, optionally of one state and/or destination."""
    query = select(OutboxEntry)
    if state is not None:
        query = query.where(OutboxEntry.state == state)
    if destination is not None:
        query = query.where(OutboxEntry.destination == destination)
    return session.scalars(query.order_by(OutboxEntry.id.desc()).limit(limit)).all()
