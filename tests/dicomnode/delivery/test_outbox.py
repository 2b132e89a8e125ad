"""Outbox: idempotent enqueue, due entries, attempts with backoff, dead, resend; audited (SQLite and PostgreSQL)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db import outbox as q
from db.engine import make_engine, make_sessionmaker
from db.migrate import upgrade
from db.models import AuditEvent
from dicomnode.config import Config, Destination
from dicomnode.delivery import deliver_due, enqueue, write_results
from tests.dicomnode.delivery.conftest import StoreSCP
from tests.node_process import free_port

LEASE = timedelta(minutes=2)
T0 = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)


def config(tmp_path: Path, port: int, **delivery: object) -> Config:
    return Config(
        destinations=[Destination(name="pacs", ae_title="TESTPACS", host="127.0.0.1", port=port)],
        results={"dir": tmp_path / "results"}, delivery={"acse_timeout": 5, "network_timeout": 5, **delivery},
    )


def events(sessions: sessionmaker[Session], outcome: str | None = None) -> list[AuditEvent]:
    with sessions() as session:
        query = select(AuditEvent).where(AuditEvent.event_type == "delivery").order_by(AuditEvent.id)
        rows = list(session.scalars(query))
    return [e for e in rows if outcome is None or e.outcome == outcome]


def test_enqueue_writes_files_and_is_idempotent(database_url: str, results: list[Dataset], tmp_path: Path) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    destinations = [Destination(name="a", ae_title="A", host="127.0.0.1", port=104),
                    Destination(name="b", ae_title="B", host="127.0.0.1", port=105)]
    try:
        for _ in range(2):
            with sessions.begin() as session:
                enqueue(session, write_results(tmp_path, results), destinations, job_id=7, now=T0)
        with sessions() as session:
            rows = session.scalars(select(q.OutboxEntry)).all()
            assert len(rows) == 2 * len(results)
            assert {(r.state, r.attempts, r.job_id) for r in rows} == {(q.PENDING, 0, 7)}
            assert q.claim_due(session, T0 - timedelta(seconds=1), LEASE) == []
            assert len(q.claim_due(session, T0, LEASE)) == len(rows)
            assert q.claim_due(session, T0, LEASE) == []  # leased: a second sender does not get them
            assert len(q.claim_due(session, T0 + LEASE, LEASE)) == len(rows)  # the lease ran out
        for ds in results:
            path = tmp_path / ds.StudyInstanceUID / ds.SeriesInstanceUID / f"{ds.SOPInstanceUID}.dcm"
            assert pydicom.dcmread(path).SOPInstanceUID == ds.SOPInstanceUID
        queued = [e for e in events(sessions) if e.outcome == "queued"]
        assert [e.detail["added"] for e in queued] == [2 * len(results), 0]
    finally:
        engine.dispose()


def test_without_destinations_results_stay_in_the_folder(sessions, results: list[Dataset], tmp_path: Path) -> None:  # noqa: ANN001
    with sessions.begin() as session:
        assert enqueue(session, write_results(tmp_path / "var" / "results", results), []) == []
    with sessions() as session:
        assert session.scalars(select(q.OutboxEntry)).all() == []
    assert len(list((tmp_path / "var" / "results").rglob("*.dcm"))) == len(results)


def test_due_entries_go_over_one_association(sessions, results, store_scp: StoreSCP, tmp_path: Path) -> None:  # noqa: ANN001
    cfg = config(tmp_path, store_scp.port)
    with sessions.begin() as session:
        enqueue(session, write_results(cfg.results.dir, results), cfg.destinations)
    outcome = deliver_due(sessions, cfg)
    assert (outcome.sent, outcome.retried, outcome.dead) == (len(results), 0, 0)
    assert store_scp.associations == 1
    assert sorted(ds.SOPInstanceUID for ds in store_scp.received) == sorted(ds.SOPInstanceUID for ds in results)
    with sessions() as session:
        rows = session.scalars(select(q.OutboxEntry)).all()
        assert {(r.state, r.last_status, r.attempts) for r in rows} == {(q.SENT, "0x0000", 1)}
    ok = events(sessions, "success")
    assert len(ok) == len(results) and ok[0].actor_ae == "TESTPACS" and ok[0].detail["status"] == "0x0000"
    assert deliver_due(sessions, cfg).attempted == 0  # nothing left


def test_refusal_status_is_retried(sessions, results, store_scp: StoreSCP, tmp_path: Path) -> None:  # noqa: ANN001
    store_scp.status = 0xA700
    cfg = config(tmp_path, store_scp.port)
    with sessions.begin() as session:
        enqueue(session, write_results(cfg.results.dir, results[:1]), cfg.destinations, now=T0)
    assert deliver_due(sessions, cfg, now=T0, rng=random.Random(0)).retried == 1
    with sessions() as session:
        (row,) = session.scalars(select(q.OutboxEntry)).all()
        assert (row.state, row.last_status) == (q.PENDING, "0xA700")


def test_unreachable_peer_backs_off_then_dies_and_resend_revives(sessions, results, tmp_path: Path) -> None:  # noqa: ANN001
    cfg = config(tmp_path, free_port(), give_up_after_seconds=600)
    with sessions.begin() as session:
        enqueue(session, write_results(cfg.results.dir, results[:2]), cfg.destinations, now=T0)
    first = deliver_due(sessions, cfg, now=T0, rng=random.Random(0))
    assert (first.sent, first.retried) == (0, 2)
    with sessions() as session:
        rows = session.scalars(select(q.OutboxEntry)).all()
        for row in rows:
            assert row.state == q.PENDING and row.attempts == 1 and row.last_status == "no-association"
            assert T0 + timedelta(seconds=8) <= row.next_attempt_at <= T0 + timedelta(seconds=12)
    assert deliver_due(sessions, cfg, now=T0 + timedelta(seconds=5)).attempted == 0  # not yet due
    last = deliver_due(sessions, cfg, now=T0 + timedelta(seconds=601))
    assert last.dead == 2
    failures = events(sessions, "failure")
    assert len(failures) == 4 and failures[-1].detail["state"] == "dead"
    with sessions.begin() as session:
        entry = q.resend(session, rows[0].id, now=T0 + timedelta(hours=1))
        assert entry is not None and entry.state == q.PENDING
        assert q.resend(session, 99999) is None
    with sessions() as session:
        assert [r.id for r in q.claim_due(session, T0 + timedelta(hours=1), LEASE)] == [rows[0].id]


def test_destination_removed_from_configuration(sessions, results, tmp_path: Path) -> None:  # noqa: ANN001
    cfg = config(tmp_path, 104)
    with sessions.begin() as session:
        enqueue(session, write_results(cfg.results.dir, results[:1]), cfg.destinations, now=T0)
    outcome = deliver_due(sessions, Config(results={"dir": tmp_path / "results"}), now=T0)
    assert outcome.retried == 1
    assert events(sessions, "failure")[0].detail["status"] == "unconfigured"


@pytest.mark.parametrize("status", [0xB000])
def test_warning_status_counts_as_delivered(sessions, results, store_scp: StoreSCP, tmp_path: Path, status: int) -> None:  # noqa: ANN001
    store_scp.status = status
    cfg = config(tmp_path, store_scp.port)
    with sessions.begin() as session:
        enqueue(session, write_results(cfg.results.dir, results[:1]), cfg.destinations)
    assert deliver_due(sessions, cfg).sent == 1
