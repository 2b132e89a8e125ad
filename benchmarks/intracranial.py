"""Intracranial-mask benchmark: :func:`inference.ich.intracranial.intracranial_mask` on the CQ500 series.

Times the mask on the planes that :func:`inference.ich.postprocess.series_intracranial_mask` computes (every
plane at most 2.5 mm apart: 60 of the 238 512x512 slices), median of ``--repeats`` runs, in one process
with one thread. With ``--reference FILE`` (an earlier ``intracranial.py``, e.g. from
``git show REV:inference/ich/intracranial.py``) it times that too in the same run, prints the ratio and how
many voxels and slices the two masks differ on; ``--real-ct`` adds that count on every slice of each
``../shared/data/real-ct`` volume.

    .venv/bin/python benchmarks/intracranial.py [--repeats 3] [--reference /tmp/intracranial_old.py [--real-ct]]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
CQ500_SERIES = REPO_ROOT / ".." / "shared" / "data" / "cq500-ct0" / "series"
REAL_CT = REPO_ROOT / ".." / "shared" / "data" / "real-ct"
sys.path.insert(0, str(REPO_ROOT))

MaskFn = Callable[[np.ndarray, tuple[float, float, float]], np.ndarray]


def _planes(hu: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    from inference.ich.postprocess import MASK_PLANE_GAP_MM

    step = max(1, int(MASK_PLANE_GAP_MM // spacing[0]))
    index = sorted(set(range(0, hu.shape[0], step)) | {hu.shape[0] - 1})
    return np.ascontiguousarray(hu[index])


def _reference(path: Path) -> MaskFn:
    spec = importlib.util.spec_from_file_location("intracranial_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fn: MaskFn = module.intracranial_mask
    return fn


def _timed(fn: MaskFn, hu: np.ndarray, spacing: tuple[float, float, float], repeats: int) -> tuple[float, float, np.ndarray]:
    """Median wall and CPU seconds of ``repeats`` runs (CPU time is what a shared, loaded core does not inflate)."""
    wall, cpu, mask = [], [], np.zeros(0, bool)
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        mask = fn(hu, spacing)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu), mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reference", type=Path, default=None, help="An earlier intracranial.py to compare with.")
    parser.add_argument("--real-ct", action="store_true", help="With --reference: compare on every real-ct volume too.")
    args = parser.parse_args()
    import pydicom
    import torch

    from inference.ich.intracranial import intracranial_mask
    from inference.ich.volume import Volume

    torch.set_num_threads(1)
    volume = Volume.from_datasets([pydicom.dcmread(p) for p in sorted(CQ500_SERIES.iterdir())])
    spacing = (float(volume.spacing[0]), float(volume.spacing[1]), float(volume.spacing[2]))
    hu = _planes(volume.hu, spacing)
    now, now_cpu, mask = _timed(intracranial_mask, hu, spacing, args.repeats)
    print(f"CQ500: {hu.shape[0]} planes of {hu.shape[1]}x{hu.shape[2]}; mask {now * 1000:.0f} ms wall, "
          f"{now_cpu * 1000:.0f} ms CPU (medians of {args.repeats})")
    if args.reference is not None:
        before, before_cpu, old = _timed(_reference(args.reference), hu, spacing, args.repeats)
        differ = mask != old
        print(f"reference {before * 1000:.0f} ms wall, {before_cpu * 1000:.0f} ms CPU; ratio reference / now "
              f"{before / now:.1f}x wall, {before_cpu / now_cpu:.1f}x CPU")
        print(f"voxels differing {int(differ.sum())} of {old.sum()} reference-mask voxels; "
              f"slices differing {int(differ.any(axis=(1, 2)).sum())} of {hu.shape[0]}")
        if args.real_ct:
            _compare_real_ct(_reference(args.reference))


def _compare_real_ct(reference: MaskFn) -> None:
    from inference.ich.intracranial import intracranial_mask
    from inference.ich.realct.loaders import LOADERS, load_real_volume

    for name in LOADERS:
        volume = load_real_volume(REAL_CT, name)
        spacing = (float(volume.spacing[0]), float(volume.spacing[1]), float(volume.spacing[2]))
        now, old = intracranial_mask(volume.hu, spacing), reference(volume.hu, spacing)
        print(f"{name} {volume.hu.shape}: voxels differing {int((now != old).sum())} of {int(old.sum())}")


if __name__ == "__main__":
    main()
