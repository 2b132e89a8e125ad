"""The carriers of pending series (db.series.pending_series): the associations that carried instances a
series' latest job does not cover, gathered for every series at once and in chunks of IN_CHUNK series,
on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from db import series
from db.ingest import InstanceInfo, insert_instances
from db.jobs import NewJob, create_job
from db.models import Association, utcnow
from db.series import pending_series


def info(uid: str, series_uid: str) -> InstanceInfo:
    return InstanceInfo(uid, "1.2.840.10008.5.1.4.1.1.2", "9.1", series_uid, "CT", "1.2.840.10008.1.2.1", f"/s/{uid}", 1)


def association(sessions: sessionmaker[Session], outcome: str) -> int:
    with sessions.begin() as session:
        row = Association(calling_ae="A", called_ae="B", peer_host="h", peer_port=1, tls=False, started_at=utcnow(),
                          outcome=outcome, ended_at=None if outcome == "open" else utcnow())
        session.add(row)
        session.flush()
        return row.id


def test_carriers_above_the_latest_job_of_every_series(sessions: sessionmaker[Session]) -> None:
    first, second, third = association(sessions, "released"), association(sessions, "open"), association(sessions, "aborted")
    many = [f"9.1.3.{n}" for n in range(series.IN_CHUNK + 3)]  # more series than one IN list holds
    with sessions.kw["bind"].connect() as connection:
        insert_instances(connection, [(info(f"9.1.1.{n}", "9.1.1"), first) for n in range(3)])
    with sessions.begin() as session:  # a job covers the three instances of 9.1.1 carried by the first
        [activity] = pending_series(session, ["9.1.1"])
        create_job(session, NewJob("9.1", "9.1.1", "released", activity.instance_count, activity.max_instance_id,
                                   activity.last_received_at), None)
    with sessions.kw["bind"].connect() as connection:
        insert_instances(connection, [(info("9.1.1.3", "9.1.1"), second), (info("9.1.1.4", "9.1.1"), second),
                                      (info("9.1.2.0", "9.1.2"), first), (info("9.1.2.1", "9.1.2"), None),
                                      (info("9.1.2.2", "9.1.2"), third)])
        insert_instances(connection, [(info(f"{uid}.0", uid), third) for uid in many])
    with sessions() as session:
        by_series = {activity.series_uid: activity for activity in pending_series(session, None)}
        assert set(by_series) == {"9.1.1", "9.1.2", *many}
        assert [(c.association_id, c.outcome) for c in by_series["9.1.1"].carriers] == [(second, "open")]
        assert not by_series["9.1.1"].unknown_carrier
        assert by_series["9.1.1"].carriers[0].last_instance_id == by_series["9.1.1"].max_instance_id
        assert [c.association_id for c in by_series["9.1.2"].carriers] == [first, third]  # by their last instance
        assert by_series["9.1.2"].unknown_carrier
        assert all([c.association_id for c in by_series[uid].carriers] == [third] for uid in many)
        assert all(not by_series[uid].unknown_carrier for uid in many)
        assert pending_series(session, ["9.1.2"]) == [by_series["9.1.2"]]
