"""Durable instance files: ``storage_dir/<StudyUID>/<SeriesUID>/<SOPInstanceUID>.dcm``.

A file is written under ``storage_dir/.incoming`` with a temporary name, fsync'd, linked into place without
replacing any file there (:meth:`DurableStore.write_new`), and its directory entry fsync'd
(:meth:`DurableStore.sync_entry`), so after a crash a file is either whole at its final path or absent
there. The entries of the series and study folders themselves are fsync'd in their parents until this
process has done so once for that folder (:class:`DurableFolders`); after that, only the series folder
holding the new file needs an fsync. :meth:`DurableStore.store_soon` runs the whole durable write on a small
pool of threads, so that the caller can commit the instance's row meanwhile (the flushes overlap).
Temporary files left by a crash stay in ``.incoming`` and are removed at start-up
(:meth:`DurableStore.prepare`).
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import uuid
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from dicomnode.errors import OutOfResources, StorageError

log = logging.getLogger(__name__)

_RESOURCE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EMFILE, errno.ENFILE})
INCOMING = ".incoming"
KNOWN_FOLDERS = 4096  # series and study folders remembered as durable (the least recently used are forgotten)


class DurableFolders:
    """Folders whose own entry in their parent folder this process has fsync'd, by path and inode.

    A folder the store creates is forgotten first (:meth:`forget`), and one replaced behind the store's
    back has a new inode, so a folder made again has its entry fsync'd again.
    """

    def __init__(self, capacity: int = KNOWN_FOLDERS) -> None:
        self.capacity = capacity
        self._inodes: OrderedDict[Path, int] = OrderedDict()
        self._lock = threading.Lock()

    def known(self, folder: Path) -> bool:
        with self._lock:
            inode = self._inodes.get(folder)
            if inode is not None:
                self._inodes.move_to_end(folder)
        return inode is not None and os.stat(folder).st_ino == inode

    def forget(self, folder: Path) -> None:
        with self._lock:
            self._inodes.pop(folder, None)

    def add(self, folder: Path) -> None:
        inode = os.stat(folder).st_ino
        with self._lock:
            self._inodes[folder] = inode
            self._inodes.move_to_end(folder)
            while len(self._inodes) > self.capacity:
                self._inodes.popitem(last=False)


class DurableStore:
    """Writes received instances so that an acknowledged instance survives a crash."""

    def __init__(self, root: Path, writers: int = 8) -> None:
        """``writers``: durable writes of :meth:`store_soon` in flight at once (one per association is enough;
        threads start as they are needed)."""
        self.root = root
        self.incoming = root / INCOMING
        self.durable = DurableFolders()
        self._syncs = ThreadPoolExecutor(writers, thread_name_prefix="DurableWrite")

    def close(self) -> None:
        """Stop the threads of :meth:`store_soon` (after the last C-STORE handler has returned)."""
        self._syncs.shutdown(wait=True)

    def prepare(self) -> int:
        """Create the folders and remove temporary files a crash left behind; return how many were removed."""
        self.incoming.mkdir(parents=True, exist_ok=True)
        removed = 0
        for leftover in self.incoming.iterdir():
            leftover.unlink(missing_ok=True)
            removed += 1
        if removed:
            log.warning("removed %d incomplete temporary file(s) from %s", removed, self.incoming)
        return removed

    def path_for(self, study_uid: str, series_uid: str, sop_instance_uid: str) -> Path:
        return self.root / study_uid / series_uid / f"{sop_instance_uid}.dcm"

    def write_new(self, study_uid: str, series_uid: str, sop_instance_uid: str, data: bytes) -> tuple[Path, bool]:
        """Write ``data`` (fsync'd) and link it to its final path, never replacing a file already there.

        Returns the final path and True, or the final path and False when a file was already there (another
        copy of the instance, stored or in flight); the new data is then discarded. The no-replace rename
        is a hard link of the fsync'd temporary file followed by its removal. The new directory entry is
        not yet durable: call :meth:`sync_entry` before acknowledging (:meth:`store` does both).
        """
        final = self.path_for(study_uid, series_uid, sop_instance_uid)
        temporary = self.incoming / f"{sop_instance_uid}.{uuid.uuid4().hex}.tmp"
        try:
            self._write_synced(temporary, data)
            self._make_dirs(final.parent)
            try:
                os.link(temporary, final)
            except FileExistsError:
                return final, False
            finally:
                temporary.unlink(missing_ok=True)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise _storage_error(sop_instance_uid, exc) from exc
        return final, True

    def sync_entry(self, path: Path) -> None:
        """Make the directory entries of ``path`` durable: fsync its series folder, and the study folder and
        storage root while the entries of the series and study folders are not yet known durable."""
        series, study = path.parent, path.parent.parent
        try:
            _fsync_dir(series)  # the new file's entry
            if self.durable.known(series):
                return
            _fsync_dir(study)  # the series folder's entry
            if not self.durable.known(study):
                _fsync_dir(self.root)  # the study folder's entry
                self.durable.add(study)
            self.durable.add(series)
        except OSError as exc:
            raise _storage_error(path.stem, exc) from exc

    def store(self, study_uid: str, series_uid: str, sop_instance_uid: str, data: bytes) -> tuple[Path, bool]:
        """:meth:`write_new`, then :meth:`sync_entry` for a new file: on return the file at the final path is
        durable (a new file whose entry cannot be made durable is removed again before the error is raised)."""
        path, created = self.write_new(study_uid, series_uid, sop_instance_uid, data)
        if created:
            try:
                self.sync_entry(path)
            except StorageError:
                self.remove(path)
                raise
        return path, created

    def store_soon(self, study_uid: str, series_uid: str, sop_instance_uid: str, data: bytes) -> Future[tuple[Path, bool]]:
        """:meth:`store` on a sync thread; the future gives its result or raises its StorageError."""
        return self._syncs.submit(self.store, study_uid, series_uid, sop_instance_uid, data)

    def remove(self, path: Path) -> None:
        """Remove a file whose database row could not be committed (best effort)."""
        try:
            path.unlink(missing_ok=True)
            _fsync_dir(path.parent)
        except OSError as exc:
            log.error("could not remove %s after a failed commit: %s", path, exc)

    @staticmethod
    def _write_synced(path: Path, data: bytes) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)

    def _make_dirs(self, directory: Path) -> None:
        """Create ``directory`` and its missing parents under the root (made durable by :meth:`sync_entry`)."""
        missing: list[Path] = []
        current = directory
        while not current.exists() and current != self.root:
            missing.append(current)
            current = current.parent
        for path in reversed(missing):
            self.durable.forget(path)
            path.mkdir(exist_ok=True)


def _storage_error(sop_instance_uid: str, exc: OSError) -> StorageError:
    kind = OutOfResources if exc.errno in _RESOURCE_ERRNOS else StorageError
    return kind(f"cannot write {sop_instance_uid}: {exc.strerror or exc}")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
