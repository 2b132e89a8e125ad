"""Real head-CT volumes as a training / validation :class:`~inference.ich.training.sources.DataSource`.

Each sample is one real volume (prepared by :mod:`inference.ich.realct.background`), with or without synthetic
bleeds (:mod:`inference.ich.realct.lesions`), cut and re-sliced the way a head CT is acquired:

1. the seed picks the volume (``seed % len(volumes)``) and, with probability ``bleed_share``, one subtype
   (70%) or two to three; a subtype with no room in that volume (no ventricle, no sulci) is dropped;
2. thin volumes that run down to the neck start 0-25 mm below the lowest brain slice (a head CT starts
   at the skull base), and end at the vertex;
3. slices are averaged in groups to a thickness drawn from ``thickness_mm`` (native, 2.5 or 5 mm; never
   thinner than the volume), which gives the partial volume of a thick slice;
4. a slice is positive for a subtype when its blood covers at least :data:`MIN_BLOOD_MM2` (the slab mean
   of the inserted fraction, summed over the slice, times the pixel area); the study labels are the
   maximum over slices. ``any`` is the union of the subtypes.

The split is by volume (:data:`SPLITS`): nothing of a validation volume is seen in training.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from inference.ich.labels import LABELS
from inference.ich.realct.background import CACHE_VERSION, Background, prepare_cached
from inference.ich.realct.lesions import SUBTYPES, Lesion, apply_lesions, is_blood, make_lesion
from inference.ich.training.sources import ALL_KNOWN, Sample

MIN_BLOOD_MM2 = 10.0
"""Blood area on a slice (mm^2, partial volume counted by fraction) from which the slice is labelled."""

SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("stanford-cthead", "mricrogl-headct", "vtk-headsq"),
    "validation": ("ge-head-dcmqa",),
    "test": ("visible-human-female-head",),
}
"""Real volumes by split. The only living patient (``ge-head-dcmqa``, a clinical non-contrast head CT with
thick tilted slices) is kept for validation: it is the closest to what the node reads, so it is what the
operating points, the calibration and the acceptance of new weights are judged on. The Visible Human
Female head (512x512 DICOM in true HU, 1 mm, skull base to vertex) is held out of both training and
threshold choice (``test``): of the other four it is the closest to a clinical scan. The Stanford
cadaver and the coarse (64x64) and 8-bit volumes are training backgrounds."""

NECK_MARGIN_MM = 25.0
MIN_SLICES = 10
"""A re-sliced sample keeps at least this many slices (the thickness is lowered for a short volume)."""


class RealInsertionSource:
    """Real volumes with inserted bleeds, one sample per seed (module docstring).

    Parameters
    ----------
    root
        The ``real-ct`` folder.
    volumes
        Folder names of the volumes (e.g. ``SPLITS["train"]``).
    seeds
        One sample per seed; the same seed always gives the same sample.
    input_size
        In-plane size of the samples (the network's input).
    cache_dir
        Where prepared volumes and the samples made from them are cached (``.npz``, int16 HU);
        None: made in memory on every read (0.1-0.5 s a sample).
    bleed_share
        Share of samples that get bleeds; the rest are real negatives.
    thickness_mm
        Slice thicknesses to draw from; None stands for the volume's own.
    subtypes
        Subtype codes to draw from (keys of :data:`inference.ich.realct.lesions.SUBTYPES`).
    reslice
        False keeps every slice at the volume's own thickness (steps 2 and 3 of the module docstring are
        skipped): a validation volume is read as it was acquired.
    """

    name = "realct"
    lesion_maker: Callable[[Background, str, np.random.Generator], list[Lesion]] = staticmethod(make_lesion)
    """The lesion family (the training family; :mod:`inference.ich.realct.heldout_source` swaps it)."""

    def __init__(self, root: Path, volumes: Sequence[str], seeds: Sequence[int], input_size: int = 256,
                 cache_dir: Path | None = None, bleed_share: float = 0.6,
                 thickness_mm: Sequence[float | None] = (None, 2.5, 5.0),
                 subtypes: Sequence[str] = tuple(SUBTYPES), reslice: bool = True) -> None:
        if not volumes:
            raise ValueError("RealInsertionSource needs at least one volume")
        self.root, self.volumes, self.seeds = Path(root), list(volumes), [int(s) for s in seeds]
        self.input_size, self.cache_dir = input_size, cache_dir
        self.bleed_share, self.thickness_mm, self.subtypes = bleed_share, tuple(thickness_mm), tuple(subtypes)
        self.reslice = reslice
        self._backgrounds: dict[str, Background] = {}

    def __len__(self) -> int:
        return len(self.seeds)

    def background(self, name: str) -> Background:
        """The prepared volume ``name`` (prepared once per source)."""
        if name not in self._backgrounds:
            self._backgrounds[name] = prepare_cached(self.root, name, self.input_size, self.cache_dir)
        return self._backgrounds[name]

    def draw(self, index: int) -> tuple[Background, list[Lesion], np.random.Generator]:
        """The background and lesions of sample ``index`` (and the generator, to continue drawing)."""
        seed = self.seeds[index]
        rng = np.random.default_rng([seed, 14])
        bg = self.background(self.volumes[seed % len(self.volumes)])
        lesions: list[Lesion] = []
        if rng.random() < self.bleed_share:
            count = 1 if rng.random() < 0.7 else int(rng.integers(2, 4))
            for code in rng.choice(self.subtypes, size=min(count, len(self.subtypes)), replace=False):
                lesions += self.lesion_maker(bg, str(code), rng)
        return bg, lesions, rng

    def _cache_path(self, index: int) -> Path | None:
        if self.cache_dir is None:
            return None
        seed = self.seeds[index]
        name = self.volumes[seed % len(self.volumes)]
        return Path(self.cache_dir) / f"{self.name}-sample-{name}-s{seed}-b{self.bleed_share:g}-r{int(self.reslice)}-i{self.input_size}-v{CACHE_VERSION}.npz"

    def __getitem__(self, index: int) -> Sample:
        path = self._cache_path(index)
        if path is not None and path.is_file():
            data = np.load(path)
            labels = data["slice_labels"].astype(np.float32)
            stored = data["spacing"] if "spacing" in data else None
            spacing = None if stored is None else (float(stored[0]), float(stored[1]), float(stored[2]))
            return Sample(str(data["key"]), data["hu"].astype(np.float32), labels, labels.max(axis=0), ALL_KNOWN, spacing)
        sample = self.make(index)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
            np.savez(tmp, hu=np.rint(sample.hu).astype(np.int16), slice_labels=np.asarray(sample.slice_labels),
                     key=sample.key, spacing=np.array(sample.spacing))
            tmp.replace(path)
            # the first read returns what every later read of the cache returns (HU rounded to int16)
            sample = replace(sample, hu=np.rint(sample.hu).astype(np.float32))
        return sample

    def make(self, index: int) -> Sample:
        """Sample ``index`` made afresh, without the cache."""
        bg, lesions, rng = self.draw(index)
        hu = apply_lesions(bg, lesions)
        first, last = _z_range(bg, rng) if self.reslice else (0, bg.hu.shape[0])
        factor = _factor(bg.spacing[0], self.thickness_mm[int(rng.integers(len(self.thickness_mm)))]) if self.reslice else 1
        while factor > 1 and (last - first) // factor < MIN_SLICES:
            factor -= 1
        count = max(1, (last - first) // factor)
        stop = first + count * factor
        hu = hu[first:stop].reshape(count, factor, *hu.shape[1:]).mean(axis=1)
        labels = slice_labels(bg, lesions, first, count, factor)
        key = f"{self.name}-{bg.name}-{self.seeds[index]}"
        spacing = (bg.spacing[0] * factor, bg.spacing[1], bg.spacing[2])
        return Sample(key, hu.astype(np.float32), labels, labels.max(axis=0), ALL_KNOWN, spacing)


def _factor(native_mm: float, target_mm: float | None) -> int:
    return 1 if target_mm is None else max(1, int(round(target_mm / native_mm)))


def _z_range(bg: Background, rng: np.random.Generator) -> tuple[int, int]:
    """First and end slice of the head CT cut out of ``bg`` (skull base minus a margin to the vertex)."""
    comp = bg.compartments
    zs = np.flatnonzero(comp.intracranial.any(axis=(1, 2)))
    head = np.flatnonzero((bg.hu > -300).any(axis=(1, 2)))
    if zs.size == 0 or head.size == 0:
        return 0, bg.hu.shape[0]
    first = max(0, int(zs[0] - rng.uniform(0, NECK_MARGIN_MM) / bg.spacing[0]))
    return first, int(head[-1]) + 1


def slice_labels(bg: Background, lesions: Sequence[Lesion], first: int, count: int, factor: int) -> np.ndarray:
    """float32 [count, 6] labels of the re-sliced volume from the blood area of each lesion (module docstring)."""
    pixel_mm2 = bg.spacing[1] * bg.spacing[2]
    out = np.zeros((count, len(LABELS)), np.float32)
    for lesion in lesions:
        if not is_blood(lesion):
            continue
        area = np.zeros(bg.hu.shape[0], np.float32)
        area[lesion.box[0]] = lesion.fraction.sum(axis=(1, 2)) * pixel_mm2
        slab = area[first : first + count * factor].reshape(count, factor).mean(axis=1)
        column = LABELS.index(lesion.label)
        out[:, column] = np.maximum(out[:, column], slab >= MIN_BLOOD_MM2)
    out[:, LABELS.index("any")] = out[:, 1:].max(axis=1)
    return out
