"""SQLAlchemy 2 models of the node's state.

Tables: ``associations`` (one row per DICOM association, PS3.8 upper layer), ``instances`` (one row per
stored SOP Instance), ``audit_events`` (append-only log of everything that happened, the admins' record).
The schema is created and changed only by Alembic migrations (``db/migrations``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

UID_LENGTH = 64  # PS3.5 Table 6.2-1, UI: at most 64 characters


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(timezone.utc)")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Association(Base):
    """One DICOM association as the acceptor saw it."""

    __tablename__ = "associations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    calling_ae: Mapped[str] = mapped_column(String(16))
    called_ae: Mapped[str] = mapped_column(String(16))
    peer_host: Mapped[str] = mapped_column(String(64))
    peer_port: Mapped[int] = mapped_column(Integer)
    tls: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # open -> released | aborted | interrupted (the node stopped while it was open)
    outcome: Mapped[str] = mapped_column(String(16), default="open")
    instance_count: Mapped[int] = mapped_column(Integer, default=0)
    bytes_received: Mapped[int] = mapped_column(BigInteger, default=0)


class Instance(Base):
    """One stored SOP Instance, kept as received (no transcoding)."""

    __tablename__ = "instances"
    __table_args__ = (Index("ix_instances_series", "series_uid"), Index("ix_instances_study", "study_uid"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sop_instance_uid: Mapped[str] = mapped_column(String(UID_LENGTH), unique=True)
    sop_class_uid: Mapped[str] = mapped_column(String(UID_LENGTH))
    study_uid: Mapped[str] = mapped_column(String(UID_LENGTH))
    series_uid: Mapped[str] = mapped_column(String(UID_LENGTH))
    modality: Mapped[str | None] = mapped_column(String(16), nullable=True)
    transfer_syntax: Mapped[str] = mapped_column(String(UID_LENGTH))
    path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    association_id: Mapped[int | None] = mapped_column(ForeignKey("associations.id"), nullable=True)


class AuditEvent(Base):
    """An append-only audit record. ``detail`` carries UIDs and reasons, never patient names or IDs."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_type_at", "event_type", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    event_type: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    actor_ae: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    actor_host: Mapped[str | None] = mapped_column(String(64), nullable=True)
    study_uid: Mapped[str | None] = mapped_column(String(UID_LENGTH), nullable=True, index=True)
    series_uid: Mapped[str | None] = mapped_column(String(UID_LENGTH), nullable=True)
    sop_instance_uid: Mapped[str | None] = mapped_column(String(UID_LENGTH), nullable=True)
    association_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
