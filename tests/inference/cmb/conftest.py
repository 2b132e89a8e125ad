"""Fixtures of the microbleed tests: a small SWI phantom written as DICOM and read back."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

from inference.cmb.phantom.dicom_writer import write_swi_dicom
from inference.cmb.phantom.study import SwiPhantom, generate_swi_phantom

SWI_CROP = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "swi-clearswi"


@pytest.fixture(scope="session")
def small_phantom() -> SwiPhantom:
    return generate_swi_phantom(5, n_slices=6, n_microbleeds=0, n_calcifications=0)


@pytest.fixture(scope="session")
def small_series(small_phantom, tmp_path_factory) -> tuple[list[Dataset], list[Dataset]]:
    """(magnitude datasets, phase datasets) of the small phantom, 12-bit phase."""
    files = write_swi_dicom(small_phantom, tmp_path_factory.mktemp("swi"))
    datasets = [pydicom.dcmread(f) for f in files]
    return ([ds for ds in datasets if ds.ImageType[2] == "M"], [ds for ds in datasets if ds.ImageType[2] == "P"])
