"""DICOM data sources: the RSNA 2019 challenge layout and the CQ500 layout.

RSNA 2019 (Intracranial Hemorrhage Detection): ``stage_2_train.csv`` with rows ``ID,Label`` where ID is
``<SOPInstanceUID>_<class>`` (classes as :data:`inference.ich.labels.LABELS`), and a folder of ``<ID>.dcm``
single-slice files. The challenge shipped slices, not studies; series are rebuilt here from the headers
(Series Instance UID) and ordered along the slice normal by :class:`inference.ich.volume.Volume`.

CQ500 (Chilamkurthy et al. 2018): one folder per series (any depth) and ``reads.csv`` with, per patient
``name`` (e.g. ``CQ500-CT-0``), ``Category`` and three radiologists' reads ``R1:ICH``, ``R1:IPH``,
``R1:IVH``, ``R1:SDH``, ``R1:EDH``, ``R1:SAH``, ... ``R2:...``, ``R3:...``; the label of a class is the
majority of the three reads. Labels are per patient, so every series of a patient gets them and there
are no slice labels. Patients are matched by Patient ID (else by the series' top folder name).
"""

from __future__ import annotations

import csv
import logging
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from inference.ich.labels import LABELS
from inference.ich.training.sources import ALL_KNOWN, Sample, resize_hu
from inference.ich.volume import Volume

logger = logging.getLogger(__name__)

RSNA_CSV = "stage_2_train.csv"
CQ500_READS = "reads.csv"
CQ500_CLASSES = {"ICH": "any", "EDH": "epidural", "IPH": "intraparenchymal", "IVH": "intraventricular",
                 "SAH": "subarachnoid", "SDH": "subdural"}
READERS = ("R1", "R2", "R3")


def _headers(files: list[Path]) -> dict[str, list[tuple[Path, pydicom.Dataset]]]:
    """Files grouped by Series Instance UID (headers only; unreadable files skipped)."""
    series: dict[str, list[tuple[Path, pydicom.Dataset]]] = defaultdict(list)
    for path in files:
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, OSError) as exc:
            logger.debug("skipping %s: %s", path, exc)
            continue
        uid = str(ds.get("SeriesInstanceUID", "") or path.parent)
        series[uid].append((path, ds))
    return series


def _volume(paths: list[Path]) -> Volume:
    return Volume.from_datasets([pydicom.dcmread(path) for path in paths])


def read_rsna_labels(path: Path) -> dict[str, np.ndarray]:
    """SOP Instance UID -> float32 [6] labels from an RSNA ``ID,Label`` CSV."""
    labels: dict[str, np.ndarray] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            ident, _, name = row["ID"].rpartition("_")
            if name not in LABELS:
                raise ValueError(f"{path}: class {name!r} of ID {row['ID']!r} is not one of {LABELS}")
            labels.setdefault(ident, np.zeros(len(LABELS), np.float32))[LABELS.index(name)] = float(row["Label"])
    return labels


class RsnaSource:
    """Series rebuilt from an RSNA 2019 layout folder (``stage_2_train.csv`` + ``*.dcm`` below it).

    Parameters
    ----------
    root
        The folder.
    input_size
        Side the slices are resampled to.
    min_slices
        Series with fewer labelled slices are left out.
    """

    name = "rsna"

    def __init__(self, root: Path, input_size: int = 256, min_slices: int = 3) -> None:
        self.root = Path(root)
        self.labels = read_rsna_labels(self.root / RSNA_CSV)
        files = [p for p in sorted(self.root.rglob("*.dcm")) if p.stem in self.labels]
        self.series = {
            uid: [path for path, _ in members]
            for uid, members in sorted(_headers(files).items()) if len(members) >= min_slices
        }
        self.keys = list(self.series)
        self.input_size = input_size
        logger.info("rsna: %d series from %d labelled files under %s", len(self.keys), len(files), self.root)

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int) -> Sample:
        key = self.keys[index]
        paths = self.series[key]
        volume = _volume(paths)
        by_uid = {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID): p.stem for p in paths}
        rows = np.stack([self.labels[by_uid.get(uid, uid)] for uid in volume.sop_instance_uids])
        return Sample(key, resize_hu(volume.hu, self.input_size), rows, rows.max(axis=0), ALL_KNOWN)


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def read_cq500_reads(path: Path) -> dict[str, np.ndarray]:
    """Normalised patient name -> float32 [6] majority-vote labels from a CQ500 ``reads.csv``."""
    out: dict[str, np.ndarray] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [f"{r}:{c}" for r in READERS for c in CQ500_CLASSES if f"{r}:{c}" not in (reader.fieldnames or [])]
        if missing or "name" not in (reader.fieldnames or []):
            raise ValueError(f"{path} lacks columns {['name', *missing]}")
        for row in reader:
            labels = np.zeros(len(LABELS), np.float32)
            for code, label in CQ500_CLASSES.items():
                votes = sum(int(float(row[f"{r}:{code}"])) for r in READERS)
                labels[LABELS.index(label)] = float(votes >= 2)
            out[_normalise(row["name"])] = labels
    return out


class Cq500Source:
    """Series of a CQ500 layout folder, with the patient's majority-vote labels (study level only).

    Parameters
    ----------
    root
        The folder holding ``reads.csv`` and the series folders.
    input_size
        Side the slices are resampled to.
    min_slices
        Series with fewer slices (scouts, single images) are left out.
    """

    name = "cq500"

    def __init__(self, root: Path, input_size: int = 256, min_slices: int = 10) -> None:
        self.root = Path(root)
        reads = read_cq500_reads(self.root / CQ500_READS)
        files = [p for p in sorted(self.root.rglob("*")) if p.is_file() and p.name != CQ500_READS and p.suffix != ".csv"]
        self.series: dict[str, list[Path]] = {}
        self.study_labels: dict[str, np.ndarray] = {}
        for uid, members in sorted(_headers(files).items()):
            ds = members[0][1]
            candidates = [str(ds.get("PatientID", "")), str(ds.get("PatientName", "")),
                          members[0][0].relative_to(self.root).parts[0].split(" ")[0]]
            match = next((_normalise(c) for c in candidates if _normalise(c) in reads), None)
            if match is None:
                logger.warning("cq500: series %s matches no patient of %s; left out", uid, CQ500_READS)
                continue
            if len(members) < min_slices:
                continue
            self.series[uid] = [path for path, _ in members]
            self.study_labels[uid] = reads[match]
        self.keys = list(self.series)
        self.input_size = input_size
        logger.info("cq500: %d series of %d patients under %s", len(self.keys), len(reads), self.root)

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int) -> Sample:
        key = self.keys[index]
        volume = _volume(self.series[key])
        return Sample(key, resize_hu(volume.hu, self.input_size), None, self.study_labels[key], ALL_KNOWN)
