"""A small, known node state for the admin tests: two studies, jobs, outbox entries, audit rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian
from sqlalchemy.orm import Session, sessionmaker

from db.audit import record_event
from db.jobs import FAILED, SUCCEEDED, Job
from db.models import Association, Instance
from db.outbox import DEAD, SENT, OutboxEntry

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
STUDY_1, STUDY_2 = "1.2.826.0.1.3680043.9.7.1", "1.2.826.0.1.3680043.9.7.2"
SERIES_1, SERIES_2 = "1.2.826.0.1.3680043.9.7.1.1", "1.2.826.0.1.3680043.9.7.2.1"
CT = "1.2.840.10008.5.1.4.1.1.2"
SR_CLASS = "1.2.840.10008.5.1.4.1.1.88.33"  # Comprehensive SR
SR_UID = "1.2.826.0.1.3680043.9.7.1.9.1"
AUDIT_ROWS = 24  # rows written by seed() besides those the API writes itself


@dataclass(frozen=True)
class Seeded:
    failed_job: int
    succeeded_job: int
    dead_entry: int
    sent_entry: int


def _instances(session: Session, assoc: Association, study: str, series: str, n: int, at: datetime) -> None:
    for i in range(n):
        session.add(Instance(sop_instance_uid=f"{series}.{i + 1}", sop_class_uid=CT, study_uid=study,
                             series_uid=series, modality="CT", transfer_syntax=ExplicitVRLittleEndian,
                             path=f"/nonexistent/{series}.{i + 1}.dcm", size=1000,
                             received_at=at + timedelta(seconds=i),
                             association_id=assoc.id))


def write_sr(results_dir: Path) -> Path:
    """A minimal SR file where the delivery keeps results (``<study>/<series>/<sop>.dcm``)."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SR_CLASS
    ds.file_meta.MediaStorageSOPInstanceUID = SR_UID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID, ds.StudyInstanceUID = SR_CLASS, SR_UID, STUDY_1
    ds.SeriesInstanceUID = f"{STUDY_1}.99"
    ds.Modality = "SR"
    path = results_dir / STUDY_1 / ds.SeriesInstanceUID / f"{SR_UID}.dcm"
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def seed(sessions: sessionmaker[Session], results_dir: Path) -> Seeded:
    write_sr(results_dir)
    with sessions.begin() as session:
        a1 = Association(calling_ae="CT01", called_ae="DICOMNODE", peer_host="10.0.0.5", peer_port=4000,
                         started_at=T0, ended_at=T0 + timedelta(minutes=1), outcome="released", instance_count=3,
                         bytes_received=3000)
        a2 = Association(calling_ae="CT02", called_ae="DICOMNODE", peer_host="10.0.0.6", peer_port=4001,
                         started_at=T0 + timedelta(hours=1), ended_at=T0 + timedelta(hours=1, minutes=1),
                         outcome="aborted", instance_count=2, bytes_received=2000)
        session.add_all([a1, a2])
        session.flush()
        _instances(session, a1, STUDY_1, SERIES_1, 3, T0)
        _instances(session, a2, STUDY_2, SERIES_2, 2, T0 + timedelta(hours=1))
        common = {"ready_rule": "released", "max_attempts": 3, "detail": {}}
        ok = Job(study_uid=STUDY_1, series_uid=SERIES_1, version=1, state=SUCCEEDED, instance_count=3,
                 max_instance_id=3, last_received_at=T0, attempts=1, created_at=T0 + timedelta(minutes=2),
                 finished_at=T0 + timedelta(minutes=3), timings={"load_ms": 120.0, "inference_ms": 450.0,
                                                                 "total_ms": 700.0},
                 result={"study": {"any": 0.93, "subdural": 0.88, "epidural": 0.02}, "positive": True,
                         "threshold": 0.5, "model": {"name": "ich", "version": "1"}}, **common)
        bad = Job(study_uid=STUDY_2, series_uid=SERIES_2, version=1, state=FAILED, instance_count=2,
                  max_instance_id=5, last_received_at=T0 + timedelta(hours=1), attempts=3,
                  created_at=T0 + timedelta(hours=1, minutes=2), finished_at=T0 + timedelta(hours=1, minutes=3),
                  error="AnalysisError: series has 2 slices", timings={"load_ms": 30.0}, **common)
        session.add_all([ok, bad])
        dead = OutboxEntry(sop_instance_uid=SR_UID, sop_class_uid=SR_CLASS, study_uid=STUDY_1,
                           series_uid=f"{STUDY_1}.99", destination="pacs", path="/nonexistent/sr.dcm", state=DEAD,
                           attempts=5, queued_at=T0, next_attempt_at=T0, last_attempt_at=T0 + timedelta(minutes=9),
                           last_status="no-association", last_error="connection refused")
        sent = OutboxEntry(sop_instance_uid=SR_UID, sop_class_uid=SR_CLASS, study_uid=STUDY_1,
                           series_uid=f"{STUDY_1}.99", destination="archive", path="/nonexistent/sr.dcm", state=SENT,
                           attempts=1, queued_at=T0, next_attempt_at=T0, sent_at=T0 + timedelta(minutes=4),
                           last_status="0x0000")
        session.add_all([dead, sent])
        session.flush()
        for i in range(10):  # one rejected caller every 5 minutes
            record_event(session, "security", "rejected", f"caller EVIL{i} refused", actor_ae="EVIL",
                         actor_host="10.9.9.9", at=T0 + timedelta(minutes=5 * i))
        for i in range(12):  # same-instant rows: the cursor must order them by id too
            record_event(session, "instances-received", "success", f"{i + 1} instance(s)", actor_ae="CT01",
                         actor_host="10.0.0.5", study_uid=STUDY_1, association_id=a1.id,
                         detail={"instances": 3, "bytes": 3000}, at=T0 + timedelta(hours=2))
        record_event(session, "node", "success", "node DICOMNODE started", at=T0 - timedelta(minutes=1))
        record_event(session, "store", "failure", "cannot parse", actor_ae="CT02", actor_host="10.0.0.6",
                     association_id=a2.id, at=T0 + timedelta(hours=1), detail={"status": "0xC210"})
        return Seeded(failed_job=bad.id, succeeded_job=ok.id, dead_entry=dead.id, sent_entry=sent.id)
