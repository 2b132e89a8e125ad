"""A real volume made ready for lesion insertion: network grid, brain density corrected, segmented.

The volume is resampled in-plane to the network's input grid first (as the serving path does with every
series: :func:`inference.ich.preprocess.preprocess` stretches the image to ``size`` x ``size``), so insertion,
labels and training all see what the network sees. A cadaver's brain is then shifted to living density
(:func:`inference.ich.realct.loaders.correct_postmortem_brain`) and the result segmented
(:func:`inference.ich.realct.compartments.segment`) inside the intracranial mask of
:func:`inference.ich.intracranial.intracranial_mask`, of which only the largest 3D-connected piece is kept: the
mask is made slice by slice, and below the skull base of a volume that runs down to the neck a bone ring
(the mandible, a vertebra) can enclose soft tissue that is not intracranial. Preparing a 234-slice volume takes a few seconds;
:func:`prepare_cached` keeps the result as ``.npz``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from inference.ich.intracranial import intracranial_mask
from inference.ich.realct.compartments import SKULL, Compartments, segment
from inference.ich.realct.loaders import RealVolume, correct_postmortem_brain, load_real_volume
from inference.ich.training.sources import resize_hu

logger = logging.getLogger(__name__)

CACHE_VERSION = 2
"""Bumped when preparation changes, so stale cache files are not read."""


@dataclass(frozen=True, eq=False)
class Background:
    """A prepared real volume: corrected HU on the network grid and its compartments."""

    name: str
    hu: np.ndarray
    compartments: Compartments
    hu_exact: bool = True

    @property
    def spacing(self) -> tuple[float, float, float]:
        return self.compartments.spacing

    @cached_property
    def near_skull(self) -> np.ndarray:
        """bool [z, y, x]: within three voxels of the skull (where the inner table is bone, not a foramen)."""
        near: np.ndarray = ndi.binary_dilation(self.compartments.labels == SKULL, iterations=3)
        return near


def prepare(volume: RealVolume, size: int = 256) -> Background:
    """Resample ``volume`` in-plane to ``size``, correct a cadaver's brain, segment it."""
    rows, cols = volume.hu.shape[1:]
    hu = resize_hu(volume.hu, size) if (rows, cols) != (size, size) else volume.hu.astype(np.float32)
    spacing = (float(volume.spacing[0]), volume.spacing[1] * rows / size, volume.spacing[2] * cols / size)
    mask = _largest_piece(intracranial_mask(hu, spacing))
    corrected = correct_postmortem_brain(RealVolume(volume.name, hu, spacing, volume.postmortem, volume.hu_exact), mask)
    if volume.postmortem:
        mask = _largest_piece(intracranial_mask(corrected.hu, spacing))
    return Background(volume.name, corrected.hu, segment(corrected.hu, spacing, mask), volume.hu_exact)


def _largest_piece(mask: np.ndarray) -> np.ndarray:
    pieces, count = ndi.label(mask)
    if count <= 1:
        return mask
    sizes = ndi.sum(mask, pieces, np.arange(1, count + 1))
    largest: np.ndarray = pieces == 1 + int(np.argmax(sizes))
    return largest


def prepare_cached(root: Path, name: str, size: int = 256, cache_dir: Path | None = None) -> Background:
    """:func:`prepare` of the real volume ``root / name``, read from / written to ``cache_dir`` when given."""
    path = None if cache_dir is None else Path(cache_dir) / f"realct-{name}-z{size}-v{CACHE_VERSION}.npz"
    if path is not None and path.is_file():
        data = np.load(path)
        spacing = data["spacing"]
        comp = Compartments(data["labels"], data["intracranial"], data["depth_mm"], data["smooth_hu"],
                            float(data["midline_x"]), (float(spacing[0]), float(spacing[1]), float(spacing[2])))
        return Background(name, data["hu"], comp, bool(data["hu_exact"]))
    background = prepare(load_real_volume(root, name), size)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        comp = background.compartments
        np.savez(tmp, hu=background.hu, labels=comp.labels, intracranial=comp.intracranial, depth_mm=comp.depth_mm,
                 smooth_hu=comp.smooth_hu, midline_x=comp.midline_x, spacing=np.array(comp.spacing),
                 hu_exact=background.hu_exact)
        tmp.replace(path)
        logger.info("prepared real volume %s into %s", name, path)
    return background
