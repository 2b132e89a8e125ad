"""Queries of the ingest path: association rows, instance rows, and recovery after a crash."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Dialect, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from db.audit import new_event
from db.models import Association, AuditEvent, Instance, utcnow


@dataclass(frozen=True)
class PeerInfo:
    calling_ae: str
    called_ae: str
    host: str
    port: int
    tls: bool


@dataclass(frozen=True)
class InstanceInfo:
    """What the C-STORE handler learnt from one dataset (UIDs and technical attributes only)."""

    sop_instance_uid: str
    sop_class_uid: str
    study_uid: str
    series_uid: str
    modality: str | None
    transfer_syntax: str
    path: str
    size: int


def open_association(sessions: sessionmaker[Session], peer: PeerInfo) -> int:
    """Insert the row of a newly accepted association and return its id."""
    with sessions.begin() as session:
        row = Association(
            calling_ae=peer.calling_ae,
            called_ae=peer.called_ae,
            peer_host=peer.host,
            peer_port=peer.port,
            tls=peer.tls,
            started_at=utcnow(),
        )
        session.add(row)
        session.flush()
        return row.id


def add_instance(
    sessions: sessionmaker[Session], info: InstanceInfo, association_id: int | None, write_file: Callable[[], None]
) -> bool:
    """Record a received instance: insert its row, call ``write_file`` (the durable write), then commit.

    Returns False, without calling ``write_file``, when the SOP Instance UID is already stored. Inserting
    first makes the duplicate check and the claim on the UID one step, also between concurrent associations
    (a second insert of the same UID waits for the first to commit, then fails the unique constraint).
    If ``write_file`` raises, nothing is committed.
    """
    with sessions() as session:
        session.add(
            Instance(
                sop_instance_uid=info.sop_instance_uid,
                sop_class_uid=info.sop_class_uid,
                study_uid=info.study_uid,
                series_uid=info.series_uid,
                modality=info.modality,
                transfer_syntax=info.transfer_syntax,
                path=info.path,
                size=info.size,
                received_at=utcnow(),
                association_id=association_id,
            )
        )
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            return False
        write_file()
        session.commit()
    return True


def instance_exists(sessions: sessionmaker[Session], sop_instance_uid: str) -> bool:
    """True when an instance row with this SOP Instance UID is committed."""
    with sessions() as session:
        return session.scalar(select(Instance.id).where(Instance.sop_instance_uid == sop_instance_uid)) is not None


def insert_instances(connection: Connection, batch: list[tuple[InstanceInfo, int | None]]) -> list[bool]:
    """Insert the rows of ``batch`` ((instance, association id) pairs) on ``connection``: one transaction, one commit.

    Returns, per row, True when it was inserted and False when its SOP Instance UID was already stored
    (``INSERT ... ON CONFLICT DO NOTHING`` on the unique key, so concurrent writers never fail the batch).
    This is the group commit of the ingest path: the rows of concurrent associations share one commit
    (one WAL fsync on SQLite, one WAL flush on PostgreSQL). The caller owns ``connection`` (the group
    committer keeps one for its life: no pool check-out and no pre-ping round trip per batch). Nothing is
    committed if it raises. On a connection in autocommit mode (PostgreSQL, see :mod:`dicomnode.scp.commit`)
    the single INSERT statement is itself the transaction.
    """
    if not batch:
        return []
    dialect = connection.dialect
    received_at = _received_at_processor(dialect)(utcnow())
    parameters: list[object] = []
    for info, association_id in batch:
        parameters += (info.sop_instance_uid, info.sop_class_uid, info.study_uid, info.series_uid, info.modality,
                       info.transfer_syntax, info.path, info.size, received_at, association_id)
    # The statement as text on the driver (its rows' placeholders written once per batch size), not a Core
    # insert compiled for every batch: the SQL layer cost a tenth of the node's interpreter time under
    # concurrent senders. exec_driver_sql keeps SQLAlchemy's error wrapping, invalidation and events.
    with connection.begin():  # one transaction, one commit
        result = connection.exec_driver_sql(_insert_sql(dialect.name, len(batch)), tuple(parameters))
        new = {str(row[0]) for row in result}
    seen: set[str] = set()
    inserted = []
    for info, _ in batch:  # a UID twice in one batch: the first occurrence is the one inserted
        inserted.append(info.sop_instance_uid in new and info.sop_instance_uid not in seen)
        seen.add(info.sop_instance_uid)
    return inserted


INSTANCE_COLUMNS = ("sop_instance_uid", "sop_class_uid", "study_uid", "series_uid", "modality", "transfer_syntax",
                    "path", "size", "received_at", "association_id")


@cache
def _insert_sql(dialect: str, rows: int) -> str:
    """``INSERT INTO instances (...) VALUES (...), ... ON CONFLICT (sop_instance_uid) DO NOTHING RETURNING
    sop_instance_uid`` for ``rows`` rows, in the driver's positional placeholders (sqlite3 ``?``, psycopg
    ``%s``). At most MAX_BATCH (256) rows of 10 values: within SQLite's 32766 and PostgreSQL's 65535."""
    placeholder = "?" if dialect == "sqlite" else "%s"
    row = "(" + ", ".join([placeholder] * len(INSTANCE_COLUMNS)) + ")"
    return (f"INSERT INTO instances ({', '.join(INSTANCE_COLUMNS)}) VALUES {', '.join([row] * rows)} "
            "ON CONFLICT (sop_instance_uid) DO NOTHING RETURNING sop_instance_uid")


@cache
def _received_at_processor(dialect: Dialect) -> Callable[[datetime], object]:
    """``received_at`` as the column's type binds it (UTCDateTime: on SQLite the text SQLAlchemy stores),
    once per dialect."""
    bind = Instance.__table__.c.received_at.type.bind_processor(dialect)
    return bind if bind is not None else (lambda value: value)


def delete_instance(sessions: sessionmaker[Session], sop_instance_uid: str) -> None:
    """Remove the row of an instance that was never acknowledged (its file could not be made durable)."""
    with sessions.begin() as session:
        session.execute(delete(Instance).where(Instance.sop_instance_uid == sop_instance_uid))


def close_association(
    sessions: sessionmaker[Session],
    association_id: int,
    outcome: str,
    echoes: int = 0,
    at: datetime | None = None,
    reason: str = "",
) -> None:
    """Mark an association ended and write its summary audit rows (one per study received).

    ``reason`` (for an aborted association: who aborted and what the node can tell of why) is appended to
    the message of the ``association`` row and kept in its ``detail.reason``.
    """
    with sessions.begin() as session:
        _close(session, association_id, outcome, echoes, at or utcnow(), reason)


def _close(session: Session, association_id: int, outcome: str, echoes: int, at: datetime, reason: str = "") -> None:
    assoc = session.get(Association, association_id)
    if assoc is None:
        return
    rows = session.execute(
        select(Instance.study_uid, func.count(), func.coalesce(func.sum(Instance.size), 0))
        .where(Instance.association_id == association_id)
        .group_by(Instance.study_uid)
    ).all()
    assoc.ended_at = at
    assoc.outcome = outcome
    assoc.instance_count = sum(count for _, count, _ in rows)
    assoc.bytes_received = int(sum(size for _, _, size in rows))
    actor: dict[str, Any] = {"actor_ae": assoc.calling_ae, "actor_host": assoc.peer_host, "association_id": association_id}
    for study_uid, count, size in rows:
        session.add(
            new_event(
                "instances-received",
                "success",
                f"{count} instance(s) of study {study_uid} received",
                study_uid=study_uid,
                detail={"instances": count, "bytes": int(size)},
                at=at,
                **actor,
            )
        )
    session.add(
        new_event(
            "association",
            "success" if outcome == "released" else "failure",
            f"association {outcome}: {assoc.instance_count} instance(s), {assoc.bytes_received} bytes"
            + (f"; {reason}" if reason else ""),
            detail={
                "outcome": outcome,
                "called_ae": assoc.called_ae,
                "peer_port": assoc.peer_port,
                "tls": assoc.tls,
                "instances": assoc.instance_count,
                "bytes": assoc.bytes_received,
                "echoes": echoes,
                "studies": len(rows),
                **({"reason": reason} if reason else {}),
            },
            at=at,
            **actor,
        )
    )


def close_interrupted_associations(sessions: sessionmaker[Session]) -> int:
    """At start-up: associations left open by a crash are closed as ``interrupted``; return how many."""
    with sessions.begin() as session:
        ids = session.scalars(select(Association.id).where(Association.ended_at.is_(None))).all()
        now = utcnow()
        for association_id in ids:
            _close(session, association_id, "interrupted", 0, now)
        return len(ids)


def add_audit(sessions: sessionmaker[Session], event: AuditEvent) -> None:
    with sessions.begin() as session:
        session.add(event)


def last_start(sessions: sessionmaker[Session]) -> datetime | None:
    """When the node last started (its latest ``node`` audit row saying so), or None on a new database."""
    with sessions() as session:
        return session.scalar(
            select(func.max(AuditEvent.at)).where(AuditEvent.event_type == "node", AuditEvent.message.like("% started"))
        )


def known_paths(sessions: sessionmaker[Session], paths: list[str]) -> set[str]:
    """Those of ``paths`` that an instance row points to."""
    found: set[str] = set()
    with sessions() as session:
        for start in range(0, len(paths), 500):
            chunk = paths[start : start + 500]
            found.update(session.scalars(select(Instance.path).where(Instance.path.in_(chunk))))
    return found


def rows_since(sessions: sessionmaker[Session], since: datetime | None) -> list[tuple[str, str]]:
    """(SOP Instance UID, path) of the instances received since ``since`` (all of them when None)."""
    query = select(Instance.sop_instance_uid, Instance.path)
    if since is not None:
        query = query.where(Instance.received_at >= since)
    with sessions() as session:
        return [(uid, path) for uid, path in session.execute(query)]
