"""Queries of the ingest path: association rows, instance rows, and recovery after a crash."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
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


def close_association(
    sessions: sessionmaker[Session], association_id: int, outcome: str, echoes: int = 0, at: datetime | None = None
) -> None:
    """Mark an association ended and write its summary audit rows (one per study received)."""
    with sessions.begin() as session:
        _close(session, association_id, outcome, echoes, at or utcnow())


def _close(session: Session, association_id: int, outcome: str, echoes: int, at: datetime) -> None:
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
            f"association {outcome}: {assoc.instance_count} instance(s), {assoc.bytes_received} bytes",
            detail={
                "outcome": outcome,
                "called_ae": assoc.called_ae,
                "peer_port": assoc.peer_port,
                "tls": assoc.tls,
                "instances": assoc.instance_count,
                "bytes": assoc.bytes_received,
                "echoes": echoes,
                "studies": len(rows),
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
