"""Result file paths: a source's accepted non-conformant Study UID is a folder; nothing escapes the folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.dataset import Dataset

from dicomnode.delivery.results_dir import result_path
from dicomnode.errors import CannotUnderstand


def produced(study_uid: str) -> Dataset:
    ds = Dataset()
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = study_uid, "1.2.3.4", "1.2.3.4.5"
    return ds


def test_file_name_safe_study_uid_is_used_as_the_folder(tmp_path: Path) -> None:
    assert result_path(tmp_path, produced("ID_5a1b2c3d4e")) == tmp_path / "ID_5a1b2c3d4e" / "1.2.3.4" / "1.2.3.4.5.dcm"


@pytest.mark.parametrize("study_uid", ["../../etc", "/abs", "..", ""])
def test_unsafe_study_uid_is_refused(tmp_path: Path, study_uid: str) -> None:
    with pytest.raises(CannotUnderstand, match="StudyInstanceUID"):
        result_path(tmp_path, produced(study_uid))
