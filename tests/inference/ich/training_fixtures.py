"""Tiny data sets in each training layout, written in the tests: PNG folder, RSNA 2019, CQ500."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pydicom

from inference.ich.labels import LABELS
from inference.ich.phantoms import generate_study, write_dicom

READ_CLASSES = ("ICH", "IPH", "IVH", "SDH", "EDH", "SAH")


def write_png_folder(root: Path, n: int = 10, size: tuple[int, int] = (40, 48)) -> Path:
    """``images/000.png``... and ``labels.csv`` (``id, hemorrhage``); the first half positive."""
    from PIL import Image

    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        gray = rng.integers(0, 120, size=size).astype(np.uint8)
        if i < n // 2:
            gray[10:20, 10:20] = 230
        Image.fromarray(np.stack([gray] * 3, axis=-1)).save(root / "images" / f"{i:03d}.png")
        rows.append(f"{i:03d},{int(i < n // 2)}")
    (root / "labels.csv").write_text("id, hemorrhage\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return root


def write_rsna_folder(root: Path, seeds: tuple[int, ...] = (1, 2), size: int = 32, n_slices: int = 5) -> dict[str, np.ndarray]:
    """An RSNA-layout folder from phantoms: ``stage_2_train.csv`` + ``stage_2_train/ID_<hex>.dcm`` with
    SOP Instance UIDs ``ID_<hex>`` as in the challenge data, files named in a shuffled order.

    Returns the slice labels of each phantom, by its Series Instance UID.
    """
    images = root / "stage_2_train"
    images.mkdir(parents=True)
    rows, truth = ["ID,Label"], {}
    rng = np.random.default_rng(1)
    counter = 0
    for seed in seeds:
        study = generate_study(seed, subtype="any" if seed % 2 else "none", n_slices=n_slices, size=size)
        tmp = root / f"tmp-{seed}"
        paths = write_dicom(study, tmp)
        uid = None
        for k in rng.permutation(len(paths)):
            ds = pydicom.dcmread(paths[k])
            counter += 1
            ident = f"ID_{counter * 7919:09x}"
            ds.SOPInstanceUID = ident
            ds.file_meta.MediaStorageSOPInstanceUID = ident
            ds.save_as(images / f"{ident}.dcm")
            uid = str(ds.SeriesInstanceUID)
            for c, label in enumerate(LABELS):
                rows.append(f"{ident}_{label},{int(study.slice_labels[k, c])}")
            Path(paths[k]).unlink()
        tmp.rmdir()
        truth[uid] = study.slice_labels
    (root / "stage_2_train.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return truth


def write_cq500_folder(root: Path, reads: dict[str, list[tuple[int, int, int]]], size: int = 32,
                       n_slices: int = 10) -> Path:
    """A CQ500-layout folder: ``<name> <name>/Unknown Study/CT Plain/*.dcm`` per patient and
    ``reads.csv`` with the public columns; ``reads[name][j]`` are the (R1, R2, R3) reads of class
    ``READ_CLASSES[j]``."""
    root.mkdir(parents=True, exist_ok=True)
    header = ["name", "Category"] + [f"{r}:{c}" for r in ("R1", "R2", "R3")
                                     for c in (*READ_CLASSES, "BleedLocation-Left", "Fracture")]
    with (root / "reads.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for index, (name, votes) in enumerate(reads.items()):
            row = [name, "B1"]
            for r in range(3):
                row += [votes[j][r] for j in range(len(READ_CLASSES))] + [0, 0]
            writer.writerow(row)
            study = generate_study(100 + index, subtype="none", n_slices=n_slices, size=size)
            folder = root / f"{name.replace('-', '')} {name.replace('-', '')}" / "Unknown Study" / "CT Plain"
            for path in write_dicom(study, folder):
                ds = pydicom.dcmread(path)
                ds.PatientID = name
                ds.save_as(path)
    return root
