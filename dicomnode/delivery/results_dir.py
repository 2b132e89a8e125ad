"""Produced objects as DICOM files under ``[results] dir`` (default ``var/results``).

Layout: ``<dir>/<Study Instance UID>/<Series Instance UID>/<SOP Instance UID>.dcm`` (PS3.10 files with
File Meta Information). Every object is written here first: it is what the outbox sends, and with no
``[[destinations]]`` configured it is where the results stay. A write goes to a temporary name, is fsync'd,
renamed into place and its folder fsync'd, so after a crash a file is whole or absent; writing the same
object again (same UIDs) replaces it with identical content.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from pydicom.dataset import Dataset

from db.outbox import OutboxItem
from dicomnode.uid_policy import check_uid

logger = logging.getLogger(__name__)


def result_path(results_dir: Path, ds: Dataset) -> Path:
    """Where ``ds`` is kept: its UIDs checked to be file-name safe, so no path can escape ``results_dir``.

    The produced Series and SOP Instance UIDs are the node's own (conformant); the Study Instance UID is
    the source's, which ``[node] uid_policy = "accept-safe"`` may have accepted without being conformant.
    """
    study, _ = check_uid(ds.get("StudyInstanceUID"), "StudyInstanceUID", "accept-safe")
    series, _ = check_uid(ds.get("SeriesInstanceUID"), "SeriesInstanceUID", "accept-safe")
    sop, _ = check_uid(ds.get("SOPInstanceUID"), "SOPInstanceUID", "accept-safe")
    return results_dir / study / series / f"{sop}.dcm"


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_result(results_dir: Path, ds: Dataset) -> Path:
    """Write ``ds`` durably under ``results_dir``; return its path."""
    final = result_path(results_dir, ds)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=".dcm", dir=final.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            ds.save_as(handle, enforce_file_format=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, final)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_dir(final.parent)
    return final


def write_results(results_dir: Path, datasets: Iterable[Dataset]) -> list[OutboxItem]:
    """Write every dataset; return what the outbox needs to queue them."""
    items = []
    for ds in datasets:
        path = write_result(results_dir, ds)
        items.append(
            OutboxItem(
                sop_instance_uid=str(ds.SOPInstanceUID), sop_class_uid=str(ds.SOPClassUID),
                study_uid=str(ds.StudyInstanceUID), series_uid=str(ds.SeriesInstanceUID), path=str(path),
            )
        )
        logger.debug("result %s written to %s", ds.SOPInstanceUID, path)
    return items
