"""Training and evaluation data behind one interface: a :class:`DataSource` is a sized, indexable
collection of :class:`Sample` (one series: HU slices foot to head, labels, which labels are known).

Sources here: synthetic phantoms generated on the fly (optionally cached on disk) and a folder of 8-bit
PNG slices with ``labels.csv``. The DICOM layouts (RSNA 2019, CQ500) live in
:mod:`inference.ich.training.dicom_sources`.

Every sample is resampled in-plane to the network's input size when it is loaded, so that training never
holds full-resolution volumes.
"""

from __future__ import annotations

import csv
import functools
import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F

from inference.ich.labels import ANY_INDEX, LABELS

logger = logging.getLogger(__name__)

NUM_CLASSES = len(LABELS)
ALL_KNOWN = np.ones(NUM_CLASSES, dtype=bool)
ANY_ONLY = np.eye(NUM_CLASSES, dtype=bool)[ANY_INDEX]

PNG_MEMORY_SLICES = 1024
"""Decoded PNG slices a :class:`PngSource` keeps in memory (about 256 kB each at 256 x 256)."""

PNG_WINDOW = (40.0, 80.0)
"""Window (centre, width in HU) a pre-windowed 8-bit PNG slice is assumed to show (the brain window)."""


@dataclass(frozen=True, eq=False)
class Sample:
    """One series (or one slice, as a one-slice series) with its labels.

    Attributes
    ----------
    key : str
        Identifier (seed, study UID, file name) for logs and per-case results.
    hu : numpy.ndarray
        float32 [slices, rows, cols] in HU, foot to head.
    slice_labels : numpy.ndarray or None
        float32 [slices, 6]; None when only study labels are known (CQ500).
    study_labels : numpy.ndarray
        float32 [6].
    known : numpy.ndarray
        bool [6], which classes are labelled (a PNG set knows only "any").
    spacing : tuple of float or None
        (slice, row, column) spacing in mm of ``hu`` as stored (after the in-plane resampling), when known;
        the evaluation path needs it to restrict the output to the intracranial space
        (:mod:`inference.ich.postprocess`). None (PNG slices, phantoms cached before it was stored): not restricted.
    """

    key: str
    hu: np.ndarray
    slice_labels: np.ndarray | None
    study_labels: np.ndarray
    known: np.ndarray
    spacing: tuple[float, float, float] | None = None

    @property
    def n_slices(self) -> int:
        return int(self.hu.shape[0])


class DataSource(Protocol):
    """What the trainer and the evaluator read: ``len(source)`` samples, ``source[i]`` loads one."""

    name: str

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Sample: ...


@runtime_checkable
class KeyedSource(DataSource, Protocol):
    """A source that names every sample (``keys[i]`` is ``source[i].key``) without loading it, so that it can
    be split by key (:func:`inference.ich.training.factory.hashed_split`)."""

    @property
    def keys(self) -> Sequence[str]: ...


def resize_hu(hu: np.ndarray, size: int) -> np.ndarray:
    """HU slices [N, H, W] -> float32 [N, size, size] (bilinear, antialiased when shrinking)."""
    tensor = torch.as_tensor(np.asarray(hu, dtype=np.float32))
    if tensor.shape[1:] == (size, size):
        return tensor.numpy()
    shrinking = tensor.shape[1] > size or tensor.shape[2] > size
    out = F.interpolate(tensor.unsqueeze(1), size=(size, size), mode="bilinear", align_corners=False,
                        antialias=shrinking)
    return out.squeeze(1).numpy()


class PhantomSource:
    """Phantom studies for a list of seeds, generated on demand and optionally cached as ``.npz``.

    Parameters
    ----------
    seeds
        One study per seed; use disjoint seed ranges for training, validation and test.
    size
        In-plane size of the generated studies (the network input size renders without resampling).
    n_slices
        Fixed slice count, or None for the generator's random 20-60.
    cache_dir
        Folder for generated studies (outside the repository, e.g. ``var/`` or ``/tmp``); None: no cache.
    input_size
        Side the HU slices are resampled to when ``size`` differs from it.
    subtype
        Subtype request of every study (see :func:`inference.ich.phantoms.generate_study`), e.g. ``IPH`` or
        ``any`` for training studies that enrich a class; None: the generator's natural mix (half negative).
    """

    name = "phantoms"

    def __init__(self, seeds: Sequence[int], size: int = 256, n_slices: int | None = None,
                 cache_dir: Path | None = None, input_size: int = 256, subtype: str | None = None) -> None:
        self.seeds = [int(seed) for seed in seeds]
        self.size = size
        self.n_slices = n_slices
        self.cache_dir = cache_dir
        self.input_size = input_size
        self.subtype = subtype

    def __len__(self) -> int:
        return len(self.seeds)

    def _cache_name(self, seed: int) -> str:
        request = f"-r{self.subtype}" if self.subtype is not None else ""
        return f"phantom-s{seed}{request}-z{self.size}-n{self.n_slices or 'r'}-i{self.input_size}.npz"

    def _cache_path(self, seed: int) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / self._cache_name(seed)

    def fill_cache(self, workers: int) -> int:
        """Generate the studies missing from the cache with ``workers`` processes; return how many were made.

        Training reads its series in random order, so filling the cache first lets every core generate
        (0.35-0.5 s per 256 x 256 study and core, measured here) instead of one series at a time on the
        training process.
        """
        if self.cache_dir is None:
            raise ValueError("fill_cache needs a cache folder")
        missing = [i for i, seed in enumerate(self.seeds) if not (self.cache_dir / self._cache_name(seed)).is_file()]
        if not missing:
            return 0
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=context) as pool:
            for _ in pool.map(_touch, [self] * len(missing), missing, chunksize=8):
                pass
        logger.info("generated %d phantom studies into %s with %d workers", len(missing), self.cache_dir, workers)
        return len(missing)

    def __getitem__(self, index: int) -> Sample:
        from inference.ich.phantoms import generate_study

        seed = self.seeds[index]
        path = self._cache_path(seed)
        spacing = None
        if path is not None and path.is_file():
            data = np.load(path)
            hu, slice_labels = data["hu"].astype(np.float32), data["slice_labels"]
            if "spacing" in data:
                slice_mm, row_mm, col_mm = (float(v) for v in data["spacing"])
                spacing = (slice_mm, row_mm, col_mm)
        else:
            study = generate_study(seed, subtype=self.subtype, n_slices=self.n_slices, size=self.size)
            hu = resize_hu(study.hu, self.input_size)
            slice_labels = study.slice_labels
            scale = self.size / self.input_size
            row_mm, col_mm = study.geometry.pixel_spacing
            spacing = (float(study.geometry.slice_thickness), row_mm * scale, col_mm * scale)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
                np.savez(tmp, hu=np.rint(hu).astype(np.int16), slice_labels=slice_labels, spacing=np.array(spacing))
                tmp.replace(path)
                hu = np.rint(hu).astype(np.float32)
        labels = slice_labels.astype(np.float32)
        key = f"phantom-{seed}" if self.subtype is None else f"phantom-{self.subtype}-{seed}"
        return Sample(key, hu.astype(np.float32, copy=False), labels, labels.max(axis=0), ALL_KNOWN, spacing)


def _touch(source: PhantomSource, index: int) -> None:
    """Load (and so generate and cache) one phantom study in a worker process."""
    source[index]


def png_to_hu(gray: np.ndarray, window: tuple[float, float] = PNG_WINDOW) -> np.ndarray:
    """Approximate HU of an 8-bit pre-windowed slice, assuming it shows ``window``.

    Gray level ``g`` maps linearly onto ``[centre - width/2, centre + width/2]``. Information outside the
    window is lost: bone and blood above the window both read as its top, air and fat as its bottom, so
    the subdural and bone channels computed from it are approximations.
    """
    centre, width = window
    return (centre - width / 2 + gray.astype(np.float32) / 255.0 * width).astype(np.float32)


def read_png_labels(path: Path) -> list[tuple[str, int]]:
    """(id, hemorrhage) rows of a ``labels.csv`` with columns ``id`` and ``hemorrhage`` (spaces allowed)."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, skipinitialspace=True)
        if reader.fieldnames is None or {"id", "hemorrhage"} - {f.strip() for f in reader.fieldnames}:
            raise ValueError(f"{path} must have columns 'id' and 'hemorrhage', got {reader.fieldnames}")
        return [({k.strip(): v for k, v in row.items()}["id"].strip(),
                 int({k.strip(): v for k, v in row.items()}["hemorrhage"])) for row in reader]


def split_ids(ids: Sequence[str], fractions: tuple[float, float, float] = (0.5, 0.2, 0.3), seed: int = 0,
              labels: Sequence[int] | None = None) -> dict[str, list[str]]:
    """Deterministic split of ids into ``finetune``/``validation``/``test``, stratified by label if given."""
    rng = np.random.default_rng(seed)
    pairs = sorted(zip(ids, labels if labels is not None else [0] * len(ids)))
    groups: dict[int, list[str]] = {}
    for ident, label in pairs:
        groups.setdefault(int(label), []).append(ident)
    out: dict[str, list[str]] = {"finetune": [], "validation": [], "test": []}
    for _, members in sorted(groups.items()):
        order = [members[i] for i in rng.permutation(len(members))]
        a = int(round(fractions[0] * len(order)))
        b = a + int(round(fractions[1] * len(order)))
        out["finetune"] += order[:a]
        out["validation"] += order[a:b]
        out["test"] += order[b:]
    return {name: sorted(members) for name, members in out.items()}


class PngSource:
    """A folder with ``images/<id>.png`` and ``labels.csv`` (``id, hemorrhage``): one slice per sample.

    Each slice becomes a one-slice series in approximate HU (:func:`png_to_hu`) with only the "any"
    label known.

    Parameters
    ----------
    root
        The folder.
    split
        ``all`` or one of ``finetune``, ``validation``, ``test`` (see :func:`split_ids`, seed ``split_seed``).
    input_size
        Side the slices are resampled to (stretched to a square like the serving path).

    The last :data:`PNG_MEMORY_SLICES` slices read are kept in memory: a fine-tuning set is drawn from
    thousands of times, and decoding and resampling a PNG costs more than a training step's share of it.
    """

    name = "png"

    def __init__(self, root: Path, split: str = "all", input_size: int = 256, split_seed: int = 0) -> None:
        from PIL import Image  # noqa: F401  (fail early when Pillow is missing)

        self.root = Path(root)
        rows = read_png_labels(self.root / "labels.csv")
        labels = dict(rows)
        if split != "all":
            parts = split_ids([r[0] for r in rows], seed=split_seed, labels=[r[1] for r in rows])
            if split not in parts:
                raise ValueError(f"split must be all, finetune, validation or test, got {split!r}")
            rows = [(ident, labels[ident]) for ident in parts[split]]
        self.rows = rows
        self.input_size = input_size
        self._load = functools.lru_cache(maxsize=PNG_MEMORY_SLICES)(self._read)

    def __len__(self) -> int:
        return len(self.rows)

    def image_path(self, ident: str) -> Path:
        for candidate in (ident, ident.zfill(3)):
            path = self.root / "images" / f"{candidate}.png"
            if path.is_file():
                return path
        raise FileNotFoundError(f"no image for id {ident!r} under {self.root / 'images'}")

    def __getitem__(self, index: int) -> Sample:
        return self._load(index)

    def _read(self, index: int) -> Sample:
        from PIL import Image

        ident, label = self.rows[index]
        with Image.open(self.image_path(ident)) as image:
            gray = np.asarray(image.convert("L"))
        hu = resize_hu(png_to_hu(gray)[None], self.input_size)
        labels = np.zeros(NUM_CLASSES, dtype=np.float32)
        labels[ANY_INDEX] = float(label)
        return Sample(f"png-{ident}", hu, labels[None].copy(), labels, ANY_ONLY)
