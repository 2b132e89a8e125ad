"""The group commit of instance rows (db.ingest.insert_instances), on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from db.ingest import InstanceInfo, insert_instances
from db.models import Instance


def instance(uid: str) -> InstanceInfo:
    return InstanceInfo(uid, "1.2.840.10008.5.1.4.1.1.2", "1.2", "1.2.3", "CT", "1.2.840.10008.1.2.1", f"/s/{uid}", 10)


def test_one_commit_reports_new_and_already_stored_rows(sessions: sessionmaker[Session]) -> None:
    with sessions.kw["bind"].connect() as connection:
        assert insert_instances(connection, [(instance("1.1"), None), (instance("1.2"), None), (instance("1.1"), None)]) == [
            True, True, False]
        assert insert_instances(connection, [(instance("1.2"), None), (instance("1.3"), None)]) == [False, True]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Instance)) == 3
