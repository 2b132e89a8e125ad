"""Build a data source by name (``phantoms``, ``rsna``, ``cq500``, ``png``, ``realct``, ``realct-heldout``,
``rsna-slices``) and split it deterministically."""

from __future__ import annotations

import bisect
import hashlib
import itertools
from collections.abc import Sequence
from pathlib import Path

from inference.ich.training.sources import DataSource, PhantomSource, PngSource, Sample

SOURCES = ("phantoms", "rsna", "cq500", "png", "realct", "realct-heldout", "rsna-slices")

EVALUATION_SPLITS = ("finetune", "validation", "test")
"""The only splits of ``realct-heldout`` (the held-out lesion family, evaluation only): training builds its
sources without a split (``all``), so it cannot reach that family."""

REALCT_SPLITS = {"all": ("train", "validation"), "finetune": ("train",), "validation": ("validation",), "test": ("test",)}
"""``--split`` of the realct source -> its volume splits (:data:`inference.ich.realct.source.SPLITS`). ``all`` (what
training builds) leaves out the test volume, which only ``--split test`` reaches."""


def parse_range(text: str) -> list[int]:
    """``"0-599"`` (inclusive), ``"5"`` or ``"1,2,10-12"`` -> list of ints."""
    values: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            low, high = (int(v) for v in part.split("-", 1))
            if high < low:
                raise ValueError(f"range {part!r} is empty (high < low)")
            values += range(low, high + 1)
        elif part:
            values.append(int(part))
    return values


class Subset:
    """The samples of ``source`` at ``indices``."""

    def __init__(self, source: DataSource, indices: Sequence[int], name: str | None = None) -> None:
        self.source, self.indices = source, list(indices)
        self.name = name or source.name

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Sample:
        return self.source[self.indices[index]]


class Concat:
    """The samples of several sources one after the other (e.g. phantoms of the natural mix and enrichment)."""

    def __init__(self, sources: Sequence[DataSource], name: str | None = None) -> None:
        if not sources:
            raise ValueError("Concat needs at least one source")
        self.sources = list(sources)
        self.name = name or self.sources[0].name
        self._ends = list(itertools.accumulate(len(source) for source in self.sources))

    def __len__(self) -> int:
        return self._ends[-1]

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < len(self):
            raise IndexError(index)
        part = bisect.bisect_right(self._ends, index)
        return self.sources[part][index - (self._ends[part - 1] if part else 0)]


def hashed_split(keys: Sequence[str], val_fraction: float, test_fraction: float = 0.0) -> dict[str, list[int]]:
    """Indices of ``train``/``val``/``test`` by a hash of each key (stable when cases are added)."""
    out: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for i, key in enumerate(keys):
        u = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 2**32
        out["test" if u < test_fraction else "val" if u < test_fraction + val_fraction else "train"].append(i)
    return out


def build_source(name: str, data: Path | None = None, *, seeds: str = "0-99", split: str = "all",
                 size: int = 256, cache_dir: Path | None = None, input_size: int = 256,
                 n_slices: int | None = None) -> DataSource:
    """The source called ``name``.

    Parameters
    ----------
    name
        One of :data:`SOURCES`.
    data
        Folder of the rsna, cq500 or png layout (unused for phantoms).
    seeds
        Phantom seeds, e.g. ``"0-599"``; for ``realct`` and ``realct-heldout`` the insertion seeds (one sample each).
    split
        PNG split: ``all``, ``finetune``, ``validation`` or ``test``; for ``realct`` the volumes of
        :data:`REALCT_SPLITS` (validation volumes are read at their own thickness; training and test volumes
        are cut and re-sliced as in training).
    size, cache_dir, n_slices
        Phantom in-plane size, cache folder and slice count (None: random 20-60).
    input_size
        Network input side.
    """
    if name == "phantoms":
        return PhantomSource(parse_range(seeds), size=size, n_slices=n_slices, cache_dir=cache_dir,
                             input_size=input_size)
    if data is None:
        raise ValueError(f"source {name!r} needs a data folder")
    if name == "png":
        return PngSource(data, split=split, input_size=input_size)
    if name in ("realct", "realct-heldout"):
        from inference.ich.realct.heldout_source import HeldOutInsertionSource
        from inference.ich.realct.source import SPLITS, RealInsertionSource

        if split not in REALCT_SPLITS:
            raise ValueError(f"realct split must be one of {', '.join(REALCT_SPLITS)}, got {split!r}")
        if name == "realct-heldout" and split not in EVALUATION_SPLITS:
            raise ValueError(f"realct-heldout is for evaluation only: split must be one of {', '.join(EVALUATION_SPLITS)}, got {split!r}")
        kind = HeldOutInsertionSource if name == "realct-heldout" else RealInsertionSource
        volumes = [v for part in REALCT_SPLITS[split] for v in SPLITS[part]]
        return kind(data, volumes, parse_range(seeds), input_size=input_size, cache_dir=cache_dir,
                    reslice=split in ("finetune", "test"))
    if name == "rsna-slices":
        from inference.ich.realct.rsna_slices import RsnaSliceSource

        return RsnaSliceSource(data, input_size=input_size)
    if name == "rsna":
        from inference.ich.training.dicom_sources import RsnaSource

        return RsnaSource(data, input_size=input_size)
    if name == "cq500":
        from inference.ich.training.dicom_sources import Cq500Source

        return Cq500Source(data, input_size=input_size)
    raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {name!r}")
