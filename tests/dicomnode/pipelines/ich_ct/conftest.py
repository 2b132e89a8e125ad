"""Fixtures of the report tests: one small phantom series per module, read back from DICOM files."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.dataset import Dataset

from tests.dicomnode.pipelines.ich_ct.helpers import phantom_series


@pytest.fixture(scope="package")
def series(tmp_path_factory: pytest.TempPathFactory) -> list[Dataset]:
    """A 10-slice 128x128 phantom with a subdural hemorrhage."""
    return phantom_series(Path(tmp_path_factory.mktemp("phantom")))
