"""Single labelled RSNA 2019 slices (``rsna-slices/labelled``: ``labels.csv`` with ``id`` and the six classes,
and ``<id>.dcm``) as one-slice series with every class known.

The files are real-world exports: their SOP/Series/Study "UIDs" are not valid UIDs and Slice Thickness is
absent; :class:`inference.ich.volume.Volume` reads them as one-slice volumes all the same.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pydicom
from pydicom import config as pydicom_config

from inference.errors import VolumeError
from inference.ich.labels import LABELS
from inference.ich.training.sources import ALL_KNOWN, Sample, resize_hu
from inference.ich.volume import Volume


@contextmanager
def _lenient_uids() -> Iterator[None]:
    """Read the known-invalid "UIDs" of these exports without a warning per attribute (restored afterwards)."""
    previous = pydicom_config.settings.reading_validation_mode
    pydicom_config.settings.reading_validation_mode = pydicom_config.IGNORE
    try:
        yield
    finally:
        pydicom_config.settings.reading_validation_mode = previous


def read_slice_labels(path: Path) -> list[tuple[str, np.ndarray]]:
    """(id, float32 [6]) rows of a ``labels.csv`` with ``id`` and one column per class of :data:`LABELS`."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, skipinitialspace=True)
        missing = [c for c in ("id", *LABELS) if c not in (reader.fieldnames or [])]
        if missing:
            raise VolumeError(f"{path} lacks columns {missing}")
        return [(row["id"].strip(), np.array([float(row[c]) for c in LABELS], np.float32)) for row in reader]


class RsnaSliceSource:
    """The labelled slices of a folder, one sample each.

    Parameters
    ----------
    root
        Folder with ``labels.csv`` and ``<id>.dcm``.
    input_size
        Side the slice is resampled to.
    """

    name = "rsna-slices"

    def __init__(self, root: Path, input_size: int = 256) -> None:
        self.root = Path(root)
        self.rows = read_slice_labels(self.root / "labels.csv")
        self.input_size = input_size
        absent = [ident for ident, _ in self.rows if not (self.root / f"{ident}.dcm").is_file()]
        if absent:
            raise VolumeError(f"{self.root}: no DICOM file for ids {absent}")

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> Sample:
        ident, labels = self.rows[index]
        with _lenient_uids():
            volume = Volume.from_datasets([pydicom.dcmread(self.root / f"{ident}.dcm")])
        rows, cols = volume.hu.shape[1:]
        spacing = (volume.spacing[0], volume.spacing[1] * rows / self.input_size, volume.spacing[2] * cols / self.input_size)
        return Sample(f"rsna-{ident}", resize_hu(volume.hu, self.input_size), labels[None].copy(), labels, ALL_KNOWN,
                      spacing)
