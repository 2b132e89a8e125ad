"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.orthanc import Orthanc


@pytest.fixture
def orthanc(tmp_path: Path) -> Iterator[Orthanc]:
    """An Orthanc on free ports with its own storage, not yet started (tests decide when it is up)."""
    (tmp_path / "orthanc").mkdir()
    server = Orthanc(tmp_path / "orthanc")
    try:
        yield server
    finally:
        server.stop()
