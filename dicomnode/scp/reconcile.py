"""Start-up reconciliation of the storage folder with the ``instances`` table (what a crash can leave).

A file is written, fsync'd, linked into place and its directory entry fsync'd while its row is
committed, and only when both are done is the instance acknowledged (:mod:`dicomnode.scp.commit`). A
crash in between can leave a whole file at its final path with no row, or a committed row whose file or
directory entry was lost: in both cases an instance that was never acknowledged. At start-up, before the SCP
listens, :func:`reconcile`

- adopts each such file whose header names the UIDs its path holds (a row is added, ``association_id``
  empty): the instance is whole, and a sender that re-sends it finds a duplicate;
- moves a file that cannot be read, or whose UIDs differ from its path, to ``storage_dir/.orphans/``
  (kept for an administrator, never deleted);
- removes the rows received since the last start whose file is missing (never acknowledged: Success
  needs the file; the sender did not get it and sends again), naming their UIDs.

Only files modified since the node's previous start (less a margin) are examined: a crash can only leave
files written in the run it ended. It logs what it did and returns the counts for the ``node`` audit row.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pydicom
from sqlalchemy.orm import Session, sessionmaker

from db.ingest import InstanceInfo, add_instance, delete_instance, known_paths, last_start, rows_since
from dicomnode.scp.storage import INCOMING, DurableStore

log = logging.getLogger(__name__)

ORPHANS = ".orphans"
MARGIN = timedelta(minutes=5)  # clock steps and coarse file-system timestamps


@dataclass
class Reconciliation:
    adopted: list[str] = field(default_factory=list)  # SOP Instance UIDs given a row
    set_aside: list[str] = field(default_factory=list)  # file names moved to .orphans
    missing: list[str] = field(default_factory=list)  # SOP Instance UIDs whose row had no file (removed)

    def summary(self) -> dict[str, object]:
        return {"adopted": len(self.adopted), "set_aside": len(self.set_aside), "missing_files": len(self.missing),
                "adopted_uids": self.adopted[:20], "missing_uids": self.missing[:20]}

    @property
    def changed(self) -> bool:
        return bool(self.adopted or self.set_aside or self.missing)


def reconcile(store: DurableStore, sessions: sessionmaker[Session]) -> Reconciliation:
    """Bring storage and rows into agreement after a crash; see the module docstring."""
    started = last_start(sessions)
    since = (started - MARGIN).timestamp() if started is not None else None
    candidates = [path for path in _files(store.root) if since is None or _mtime(path) >= since]
    known = known_paths(sessions, [str(path) for path in candidates])
    result = Reconciliation()
    for path in candidates:
        if str(path) in known:
            continue
        uid = _adopt(store, sessions, path)
        if uid is not None:
            result.adopted.append(uid)
        else:
            result.set_aside.append(_set_aside(store.root, path))
    for uid, stored in rows_since(sessions, started - MARGIN if started is not None else None):
        if not Path(stored).exists():
            delete_instance(sessions, uid)
            result.missing.append(uid)
    if result.adopted:
        log.warning("adopted %d whole file(s) that a crash left without a row: %s", len(result.adopted),
                    ", ".join(result.adopted[:20]))
    if result.set_aside:
        log.warning("moved %d unreadable or misplaced file(s) to %s", len(result.set_aside), store.root / ORPHANS)
    if result.missing:
        log.warning("removed %d instance row(s) without a file (never acknowledged): %s", len(result.missing),
                    ", ".join(result.missing[:20]))
    return result


def _files(root: Path) -> list[Path]:
    found: list[Path] = []
    if not root.exists():
        return found
    for directory, subdirectories, names in os.walk(root):
        if Path(directory) == root:
            subdirectories[:] = [d for d in subdirectories if d not in (INCOMING, ORPHANS)]
        found += [Path(directory) / name for name in names if name.endswith(".dcm")]
    return found


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _adopt(store: DurableStore, sessions: sessionmaker[Session], path: Path) -> str | None:
    """Add the row of a whole file whose header agrees with its path; the UID, or None when it cannot."""
    try:
        header = pydicom.dcmread(path, stop_before_pixels=True)
        sop_uid, study_uid, series_uid = (str(header.get(k, "")) for k in
                                          ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"))
        info = InstanceInfo(
            sop_instance_uid=sop_uid,
            sop_class_uid=str(header.SOPClassUID),
            study_uid=study_uid,
            series_uid=series_uid,
            modality=str(header.get("Modality", ""))[:16] or None,
            transfer_syntax=str(header.file_meta.TransferSyntaxUID),
            path=str(path),
            size=path.stat().st_size,
        )
    except Exception as exc:  # noqa: BLE001 - whatever is wrong with the file, it is set aside, not lost
        log.warning("%s cannot be read: %s", path, type(exc).__name__)
        return None
    if store.path_for(study_uid, series_uid, sop_uid) != path:
        return None
    add_instance(sessions, info, None, lambda: None)
    return sop_uid


def _set_aside(root: Path, path: Path) -> str:
    target = root / ORPHANS / f"{datetime.now():%Y%m%dT%H%M%S}-{path.name}"
    target.parent.mkdir(exist_ok=True)
    shutil.move(path, target)
    return target.name
