"""Database tests, each run on SQLite and on PostgreSQL: migrations, instances, associations, audit search."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from db.audit import AuditFilter, record_event, search_events
from db.ingest import (
    InstanceInfo,
    PeerInfo,
    add_instance,
    close_association,
    close_interrupted_associations,
    open_association,
)
from db.migrate import current_revision, head_revision, upgrade
from db.models import Association, AuditEvent, Instance


PEER = PeerInfo("CT01", "DICOMNODE", "127.0.0.1", 40000, False)


def instance(uid: str, study: str = "1.2.3", association_id: int | None = None) -> InstanceInfo:
    return InstanceInfo(uid, "1.2.840.10008.5.1.4.1.1.2", study, study + ".1", "CT", "1.2.840.10008.1.2.1", "/x", 10)


def test_migrations_create_every_table(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    assert {"associations", "instances", "audit_events"} <= set(inspect(engine).get_table_names())
    upgrade(engine)  # idempotent
    assert current_revision(engine) == head_revision()


def no_file() -> None:
    pass


def test_instance_is_stored_once_and_written_once(sessions: sessionmaker[Session]) -> None:
    association_id = open_association(sessions, PEER)
    writes: list[str] = []
    assert add_instance(sessions, instance("1.2.3.4"), association_id, lambda: writes.append("1.2.3.4"))
    assert not add_instance(sessions, instance("1.2.3.4"), association_id, lambda: writes.append("again"))
    assert writes == ["1.2.3.4"]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Instance)) == 1


def test_failed_write_commits_nothing(sessions: sessionmaker[Session]) -> None:
    def disk_full() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        add_instance(sessions, instance("1.7"), None, disk_full)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Instance)) == 0
    assert add_instance(sessions, instance("1.7"), None, no_file)  # the UID is free again


def test_close_association_writes_counts_and_one_event_per_study(sessions: sessionmaker[Session]) -> None:
    association_id = open_association(sessions, PEER)
    for uid, study in [("1.1", "9.1"), ("1.2", "9.1"), ("1.3", "9.2")]:
        add_instance(sessions, instance(uid, study), association_id, no_file)
    close_association(sessions, association_id, "released", echoes=1)
    with sessions() as session:
        row = session.get(Association, association_id)
        assert row is not None and (row.outcome, row.instance_count, row.bytes_received) == ("released", 3, 30)
        assert row.ended_at is not None and row.ended_at.tzinfo is not None
        received = search_events(session, AuditFilter(event_type="instances-received"))
        assert sorted((e.study_uid, e.detail["instances"]) for e in received) == [("9.1", 2), ("9.2", 1)]
        [summary] = search_events(session, AuditFilter(event_type="association"))
        assert summary.detail["echoes"] == 1 and summary.actor_ae == "CT01"


def test_open_associations_are_closed_as_interrupted(sessions: sessionmaker[Session]) -> None:
    association_id = open_association(sessions, PEER)
    add_instance(sessions, instance("1.9"), association_id, no_file)
    assert close_interrupted_associations(sessions) == 1
    assert close_interrupted_associations(sessions) == 0
    with sessions() as session:
        [event] = search_events(session, AuditFilter(event_type="association"))
        assert event.outcome == "failure" and event.detail["outcome"] == "interrupted"


def test_audit_filters(sessions: sessionmaker[Session]) -> None:
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with sessions.begin() as session:
        for hour, (event_type, outcome, ae, study) in enumerate(
            [
                ("security", "rejected", "EVIL", None),
                ("store", "failure", "CT01", "1.5"),
                ("store", "duplicate", "CT01", "1.5"),
                ("instances-received", "success", "CT02", "1.6"),
            ]
        ):
            record_event(
                session, event_type, outcome, "m", actor_ae=ae, study_uid=study, at=base + timedelta(hours=hour)
            )
    with sessions() as session:

        def ids(**kwargs: object) -> list[str]:
            return [f"{e.event_type}/{e.outcome}" for e in search_events(session, AuditFilter(**kwargs))]

        assert ids() == ["instances-received/success", "store/duplicate", "store/failure", "security/rejected"]
        assert ids(event_type="store") == ["store/duplicate", "store/failure"]
        assert ids(calling_ae="CT01", outcome="failure") == ["store/failure"]
        assert ids(study_uid="1.6") == ["instances-received/success"]
        assert ids(since=base + timedelta(hours=1), until=base + timedelta(hours=3)) == [
            "store/duplicate",
            "store/failure",
        ]
        assert ids(limit=1) == ["instances-received/success"]
        first = search_events(session, AuditFilter(limit=1))[0]
        assert first.at == base + timedelta(hours=3)  # aware UTC on both backends


def test_unknown_event_type_is_refused(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, pytest.raises(ValueError, match="unknown audit event type"):
        record_event(session, "nonsense", "success")
    with sessions() as session:
        assert session.query(AuditEvent).count() == 0
