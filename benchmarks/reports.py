"""Results benchmark: SR + SEG + SC built for the real 238-slice CQ500 series, each part timed.

The series goes through the real engine once (torch on CPU, the shipped weights: real saliency maps), then
:func:`dicomnode.pipelines.ich_ct.build_results` and its parts run ``--repeat`` times on it, at the operating
threshold and at a low threshold that makes every subtype positive (the most drawing there can be):

- locate: the regions (intracranial mask, saliency, blood density, outline) on every slice drawn or segmented;
- SR, SEG, SC: each writer;
- total: ``build_results`` as the analysis step calls it (with the volume's HU array), wall and CPU time.

The CQ500 series has no Frame of Reference UID, so the node writes no SEG for it; the SEG rows come from
the same series with one added (what a conformant scanner sends). The baseline, measured in the same run,
is building the series' :class:`inference.ich.volume.Volume` (decoding 238 JPEG Lossless slices): the table
gives each time and its ratio to it. Target: total <= 1.5 s on two CPU cores.

Run: ``.venv/bin/python benchmarks/reports.py [--repeat 3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pydicom

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dicomnode.pipelines.ich_ct.context import order_datasets  # noqa: E402
from dicomnode.results.sources import with_type2_present  # noqa: E402
from dicomnode.pipelines.ich_ct.results import (  # noqa: E402
    ReportContext,
    build_results,
    build_sc,
    build_seg,
    build_sr,
    locate,
)
from inference.ich.intracranial import intracranial_slice_mask  # noqa: E402
from inference.ich.prediction import Prediction  # noqa: E402
from inference.ich.sessions import create_predictor  # noqa: E402
from inference.ich.volume import Volume  # noqa: E402

CQ500 = ROOT.parent / "shared" / "data" / "cq500-ct0" / "series"


def median_seconds(work: Callable[[], object], repeat: int, clock: Callable[[], float] = time.perf_counter) -> float:
    times = []
    for _ in range(repeat):
        start = clock()
        work()
        times.append(clock() - start)
    return statistics.median(times)


def parts(prediction: Prediction, datasets: list, volume: Volume, context: ReportContext, repeat: int) -> dict[str, float]:
    ordered = [with_type2_present(ds) for ds in order_datasets(prediction, datasets)]

    def hu_of(index: int):  # noqa: ANN202 - numpy array
        return volume.hu[index]

    findings = locate(prediction, ordered, context, hu_of, intracranial_slice_mask)
    return {
        "locate": median_seconds(lambda: locate(prediction, ordered, context, hu_of, intracranial_slice_mask), repeat),
        "SR": median_seconds(lambda: build_sr(prediction, ordered, context, findings), repeat),
        "SEG": median_seconds(lambda: build_seg(prediction, ordered, context, findings), repeat),
        "SC": median_seconds(lambda: build_sc(prediction, ordered, context, findings, hu_of), repeat),
        "total": median_seconds(lambda: build_results(prediction, datasets, context, hu=volume.hu), repeat),
        "cpu": median_seconds(lambda: build_results(prediction, datasets, context, hu=volume.hu), repeat,
                              time.process_time),
        "objects": len(build_results(prediction, datasets, context, hu=volume.hu)),
        "drawn slices": len(findings.regions),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median reported)")
    args = parser.parse_args()
    files = sorted(CQ500.glob("*.dcm"))
    if not files:
        raise SystemExit(f"no CQ500 series under {CQ500}")
    datasets = [pydicom.dcmread(path) for path in files]
    baseline = median_seconds(lambda: Volume.from_datasets(datasets), args.repeat)
    volume = Volume.from_datasets(datasets)
    engine = create_predictor(backend="torch", device="cpu")
    prediction = engine.predict(volume)
    threshold = engine.info.threshold
    context = ReportContext.for_job(str(datasets[0].SeriesInstanceUID), 1, engine.info.model_hash, threshold)
    build_results(prediction, datasets, context, hu=volume.hu)  # warm imports and caches
    with_frame = [pydicom.dcmread(path) for path in files]
    for ds in with_frame:
        ds.FrameOfReferenceUID = "1.2.826.0.1.3680043.8.498.1"
    rows = {
        f"as received, threshold {threshold:g}": parts(prediction, datasets, volume, context, args.repeat),
        "as received, every subtype positive": parts(prediction, datasets, volume, replace(context, threshold=1e-3),
                                                     args.repeat),
        "with a Frame of Reference, every subtype positive": parts(
            prediction, with_frame, volume, replace(context, threshold=1e-3), args.repeat),
    }
    print(f"CQ500 series, {volume.num_slices} slices {volume.hu.shape[1]}x{volume.hu.shape[2]}; "
          f"baseline (Volume.from_datasets) {baseline:.3f} s; median of {args.repeat}")
    print(f"{'case':52} {'slices':>6} {'objects':>7} {'locate':>7} {'SR':>6} {'SEG':>6} {'SC':>6} {'total':>6} "
          f"{'cpu':>6} {'ratio':>6}")
    for name, row in rows.items():
        print(f"{name:52} {row['drawn slices']:6d} {row['objects']:7d} {row['locate']:7.3f} {row['SR']:6.3f} "
              f"{row['SEG']:6.3f} {row['SC']:6.3f} {row['total']:6.3f} {row['cpu']:6.3f} {row['total'] / baseline:6.2f}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall times grow with it; "
          "cpu = this process's CPU seconds for the total)")
    print("target: total <= 1.5 s on two CPU cores (ratio = total / baseline)")


if __name__ == "__main__":
    main()
