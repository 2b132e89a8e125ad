"""Durable writes, UID checks and the start-up sweep of the storage folder."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from dicomnode.errors import CannotUnderstand, OutOfResources, StorageError
from dicomnode.scp.storage import DurableStore
from dicomnode.uid_policy import check_uid


def test_write_puts_file_at_study_series_sop_path(tmp_path: Path) -> None:
    store = DurableStore(tmp_path)
    store.prepare()
    path, created = store.write_new("1.2.3", "1.2.3.4", "1.2.3.4.5", b"DICM-bytes")
    store.sync_entry(path)
    assert created and path == tmp_path / "1.2.3" / "1.2.3.4" / "1.2.3.4.5.dcm"
    assert path.read_bytes() == b"DICM-bytes"
    assert not list(store.incoming.iterdir())


def test_a_second_copy_never_replaces_the_first(tmp_path: Path) -> None:
    store = DurableStore(tmp_path)
    store.prepare()
    store.write_new("1.2.3", "1.2.3.4", "1.2.3.4.5", b"first")
    path, created = store.write_new("1.2.3", "1.2.3.4", "1.2.3.4.5", b"second")
    assert not created and path.read_bytes() == b"first"
    assert not list(store.incoming.iterdir())


def test_prepare_removes_leftover_temporary_files(tmp_path: Path) -> None:
    store = DurableStore(tmp_path)
    store.prepare()
    (store.incoming / "1.2.3.abc.tmp").write_bytes(b"half")
    assert store.prepare() == 1
    assert not list(store.incoming.iterdir())


def test_disk_full_is_out_of_resources_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = DurableStore(tmp_path)
    store.prepare()

    def full_disk(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(OutOfResources, match="No space left"):
        store.write_new("1.2", "1.2.3", "1.2.3.4", b"data")
    assert not list(store.incoming.iterdir())
    assert not (tmp_path / "1.2").exists()


def test_other_io_error_is_storage_error(tmp_path: Path) -> None:
    store = DurableStore(tmp_path)
    store.prepare()
    (tmp_path / "1.2").write_bytes(b"a file where the study folder should be")
    with pytest.raises(StorageError) as raised:
        store.write_new("1.2", "1.2.3", "1.2.3.4", b"data")
    assert raised.value.status == 0xC211
    assert not list(store.incoming.iterdir())


@pytest.mark.parametrize("bad", ["", "../../etc", "1.2.abc", "1.02.3", "1." * 40 + "1", None])
def test_invalid_uids_cannot_be_understood(bad: object) -> None:
    with pytest.raises(CannotUnderstand, match="Study Instance UID"):
        check_uid(bad, "Study Instance UID (0020,000D)", "strict")


def test_valid_uid_passes() -> None:
    assert check_uid("1.2.840.10008.5.1.4.1.1.2\x00", "SOP Class UID", "strict") == ("1.2.840.10008.5.1.4.1.1.2", None)


def test_folder_entries_are_fsynced_until_known_durable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = DurableStore(tmp_path)
    store.prepare()
    synced: list[Path] = []
    monkeypatch.setattr("dicomnode.scp.storage._fsync_dir", synced.append)
    study, series = tmp_path / "1.2", tmp_path / "1.2" / "1.2.3"
    for uid in ("1.2.3.4", "1.2.3.5"):
        path, _ = store.write_new("1.2", "1.2.3", uid, b"data")
        store.sync_entry(path)
    assert synced == [series, study, tmp_path, series]  # the second file: its series folder only
    path, _ = store.write_new("1.2", "1.2.9", "1.2.9.1", b"data")
    store.sync_entry(path)
    assert synced[4:] == [study / "1.2.9", study]  # a new series in a known study: not the root


def test_a_folder_made_again_is_fsynced_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = DurableStore(tmp_path)
    store.prepare()
    path, _ = store.write_new("1.2", "1.2.3", "1.2.3.4", b"data")
    store.sync_entry(path)
    path.unlink()
    path.parent.rmdir()
    synced: list[Path] = []
    monkeypatch.setattr("dicomnode.scp.storage._fsync_dir", synced.append)
    path, _ = store.write_new("1.2", "1.2.3", "1.2.3.4", b"data")
    store.sync_entry(path)
    assert synced == [path.parent, path.parent.parent]
