"""Assembly passes over a real database (SQLite and PostgreSQL) filled through the ingest queries."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydicom.dataset import Dataset
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db.ingest import InstanceInfo, PeerInfo, add_instance, close_association, open_association
from db.jobs import QUEUED, SKIPPED, Job
from db.models import AuditEvent, utcnow
from dicomnode.assembly.assembler import Assembler
from dicomnode.config import Config
from tests.factories import ct_series

PEER = PeerInfo("CT01", "DICOMNODE", "127.0.0.1", 40000, False)


def config(**assembly: float) -> Config:
    return Config(assembly={"quiet_seconds": 5.0, "release_grace_seconds": 1.0, **assembly})


def store(sessions: sessionmaker[Session], datasets: list[Dataset], folder: Path, association_id: int | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for ds in datasets:
        path = folder / f"{ds.SOPInstanceUID}.dcm"
        info = InstanceInfo(ds.SOPInstanceUID, ds.SOPClassUID, ds.StudyInstanceUID, ds.SeriesInstanceUID, "CT",
                            "1.2.840.10008.1.2.1", str(path), 1)
        assert add_instance(sessions, info, association_id, lambda ds=ds, path=path: ds.save_as(path, enforce_file_format=True))


def jobs(sessions: sessionmaker[Session]) -> list[Job]:
    with sessions() as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


def audit(sessions: sessionmaker[Session], event_type: str) -> list[AuditEvent]:
    with sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)))


def test_released_series_waits_for_grace(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    assembler = Assembler(config(), sessions)
    association = open_association(sessions, PEER)
    store(sessions, ct_series(12, 32), tmp_path, association)
    assert assembler.tick() == []  # still open, not quiet
    close_association(sessions, association, "released")
    assert assembler.tick() == []  # grace not over
    [decision] = assembler.tick(utcnow() + timedelta(seconds=1.1))
    assert (decision.state, decision.readiness.rule) == (QUEUED, "released")
    assert assembler.tick(utcnow() + timedelta(seconds=10)) == []  # nothing new: no second job
    [job] = jobs(sessions)
    assert (job.instance_count, job.version, job.detail["slices"]) == (12, 1, 12)
    [ready] = audit(sessions, "series-ready")
    assert ready.detail["rule"] == "released" and ready.association_id == association


def test_open_association_becomes_ready_when_quiet(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    assembler = Assembler(config(), sessions)
    store(sessions, ct_series(12, 32), tmp_path, open_association(sessions, PEER))
    assert assembler.tick(utcnow() + timedelta(seconds=4)) == []
    [decision] = assembler.tick(utcnow() + timedelta(seconds=5.1))
    assert decision.readiness.rule == "quiet"


def test_late_instances_make_a_new_version(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    assembler = Assembler(config(), sessions)
    datasets = ct_series(15, 32)
    first = open_association(sessions, PEER)
    store(sessions, datasets[:12], tmp_path, first)
    close_association(sessions, first, "released")
    [v1] = assembler.tick(utcnow() + timedelta(seconds=2))
    second = open_association(sessions, PEER)
    store(sessions, datasets[12:], tmp_path, second)
    close_association(sessions, second, "released")
    [v2] = assembler.tick(utcnow() + timedelta(seconds=2))
    old, new = jobs(sessions)
    assert (new.version, new.instance_count, new.state) == (2, 15, QUEUED)
    assert (old.state, old.superseded_by) == (SKIPPED, new.id)
    [superseded] = [e for e in audit(sessions, "job") if e.outcome == "superseded"]
    assert f"superseded by job {new.id}" in superseded.message and "3 instance(s) arrived after" in superseded.message


def test_refused_series_gets_a_skipped_job_with_reasons(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    assembler = Assembler(config(), sessions)
    datasets = ct_series(4, 32)
    for ds in datasets:
        ds.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    association = open_association(sessions, PEER)
    store(sessions, datasets, tmp_path, association)
    close_association(sessions, association, "released")
    [decision] = assembler.tick(utcnow() + timedelta(seconds=2))
    assert decision.state == SKIPPED
    [skipped] = [e for e in audit(sessions, "job") if e.outcome == "skipped"]
    assert "4 slice(s); at least 10 needed" in skipped.message and "localizers" in skipped.message
    assert skipped.series_uid == datasets[0].SeriesInstanceUID and "min_slices" in skipped.detail["reason"]


def test_full_scan_finds_old_series(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    first = Assembler(config(), sessions)
    assert first.tick() == []  # the start-up full scan, nothing yet
    store(sessions, ct_series(12, 32), tmp_path, None)  # no association row: quiet rule only
    later = utcnow() + timedelta(hours=2)  # beyond the incremental look-back
    assert first.tick(later) == []
    assert len(Assembler(config(), sessions).tick(later)) == 1  # a restarted node scans everything


def test_a_missing_file_of_a_recent_instance_waits_then_is_refused_as_unreadable(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """A row is committed while its file's durable write may still finish (dicomnode.scp.commit): a file
    missing shortly after the series' last arrival is judged again later, one still missing a minute on is not."""
    datasets = ct_series(12, 32)
    store(sessions, datasets, tmp_path, None)
    (tmp_path / f"{datasets[-1].SOPInstanceUID}.dcm").unlink()
    assembler = Assembler(config(), sessions)
    assert assembler.tick(utcnow() + timedelta(seconds=6)) == [] and jobs(sessions) == []
    [decision] = assembler.tick(utcnow() + timedelta(seconds=61))
    [job] = jobs(sessions)
    assert decision.state == job.state == SKIPPED
    assert job.reason is not None and job.reason.startswith("1 stored instance file(s) cannot be read")
