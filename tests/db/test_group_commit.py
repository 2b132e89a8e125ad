"""The group commit of instance rows (db.ingest.insert_instances), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from db.ingest import InstanceInfo, insert_instances
from db.models import Association, Instance, utcnow


def instance(uid: str) -> InstanceInfo:
    return InstanceInfo(uid, "1.2.840.10008.5.1.4.1.1.2", "1.2", "1.2.3", "CT", "1.2.840.10008.1.2.1", f"/s/{uid}", 10)


def test_one_commit_reports_new_and_already_stored_rows(sessions: sessionmaker[Session]) -> None:
    with sessions.kw["bind"].connect() as connection:
        assert insert_instances(connection, [(instance("1.1"), None), (instance("1.2"), None), (instance("1.1"), None)]) == [
            True, True, False]
        assert insert_instances(connection, [(instance("1.2"), None), (instance("1.3"), None)]) == [False, True]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Instance)) == 3


def test_rows_hold_what_the_orm_would_store(sessions: sessionmaker[Session]) -> None:
    """Every column as given, and ``received_at`` bound as its type binds it: read back aware UTC, ordered
    and compared by the database like a row the ORM inserted (SQLite keeps it as text)."""
    with sessions.begin() as session:
        session.add(Instance(**{**instance("2.0").__dict__, "received_at": utcnow() - timedelta(seconds=1)}))
        assoc = Association(calling_ae="A", called_ae="B", peer_host="h", peer_port=1, tls=False, started_at=utcnow())
        session.add(assoc)
        session.flush()
        association_id = assoc.id
    before = utcnow()
    with sessions.kw["bind"].connect() as connection:
        assert insert_instances(connection, [(instance("2.1"), association_id), (instance("2.2"), None)]) == [True, True]
    after = utcnow()
    with sessions.begin() as session:
        session.add(Instance(**{**instance("2.3").__dict__, "received_at": after + timedelta(seconds=1)}))
    with sessions() as session:
        rows = {row.sop_instance_uid: row for row in session.scalars(select(Instance))}
        in_order = session.scalars(select(Instance.sop_instance_uid).order_by(Instance.received_at, Instance.id)).all()
        assert in_order == ["2.0", "2.1", "2.2", "2.3"]
        assert session.scalars(select(Instance.sop_instance_uid).where(Instance.received_at >= before,
                               Instance.received_at <= after).order_by(Instance.id)).all() == ["2.1", "2.2"]
    for uid in ("2.1", "2.2"):
        row = rows[uid]
        assert (row.sop_class_uid, row.study_uid, row.series_uid, row.modality, row.transfer_syntax, row.path, row.size) == (
            "1.2.840.10008.5.1.4.1.1.2", "1.2", "1.2.3", "CT", "1.2.840.10008.1.2.1", f"/s/{uid}", 10)
        assert row.received_at.tzinfo is not None and before <= row.received_at <= after
    assert (rows["2.1"].association_id, rows["2.2"].association_id) == (association_id, None)
