"""Readiness benchmark: how soon after a push is a series' job queued?

dcmtk ``storescu`` pushes a small CT series in one association to ``dicomnode serve`` (SQLite) running with
the embedded assembly defaults (release grace 1 s, tick 0.5 s, quiet 5 s). For each push it prints

- release -> queued: ``jobs.created_at - associations.ended_at`` (the release rule), and
- the same series sent by a sender that keeps its association open (pynetdicom), last instance -> queued
  (the quiet rule: the fixed-quiet-period baseline of Orthanc and MONAI's gateway),

measured in the same run, and the ratio of the two medians. Pass ``--grace/--tick/--quiet`` to try others.

Run: ``.venv/bin/python benchmarks/readiness.py [--repeat 5] [--slices 20]``
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from db.jobs import Job  # noqa: E402
from db.models import Association, Instance  # noqa: E402
from tests.factories import ct_series, write_series  # noqa: E402
from tests.integration.scu import associate, store_status  # noqa: E402
from tests.node_process import NodeProcess  # noqa: E402


def wait_job(node: NodeProcess, series_uid: str, timeout: float = 60.0) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(node.engine) as session:
            job = session.scalars(select(Job).where(Job.series_uid == series_uid)).first()
        if job is not None:
            return job
        time.sleep(0.02)
    raise SystemExit(f"no job for series {series_uid} within {timeout} s:\n{node.log()}")


def released_push(node: NodeProcess, folder: Path, slices: int) -> float:
    storescu = shutil.which("storescu")
    if storescu is None:
        raise SystemExit("dcmtk's storescu is required (apt-get install dcmtk)")
    datasets = ct_series(slices, 64)
    files = write_series(datasets, folder)
    subprocess.run([storescu, "-aet", "BENCH", "-aec", "DICOMNODE", "127.0.0.1", str(node.port), *map(str, files)],
                   check=True)
    job = wait_job(node, datasets[0].SeriesInstanceUID)
    with Session(node.engine) as session:
        ended = session.scalars(select(Association.ended_at).join(Instance, Instance.association_id == Association.id)
                                .where(Instance.series_uid == job.series_uid).limit(1)).one()
    return (job.created_at - ended).total_seconds()


def open_push(node: NodeProcess, slices: int) -> float:
    datasets = ct_series(slices, 64)
    assoc = associate(node.port, calling="BENCHOPEN")
    try:
        for ds in datasets:
            store_status(assoc, ds)
        job = wait_job(node, datasets[0].SeriesInstanceUID)
    finally:
        assoc.release()
    with Session(node.engine) as session:
        last = session.scalar(select(func.max(Instance.received_at)).where(Instance.series_uid == job.series_uid))
    return (job.created_at - last).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--slices", type=int, default=20)
    parser.add_argument("--grace", type=float, default=1.0)
    parser.add_argument("--tick", type=float, default=0.5)
    parser.add_argument("--quiet", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        assembly = {"release_grace_seconds": args.grace, "tick_seconds": args.tick, "quiet_seconds": args.quiet}
        node = NodeProcess(root / "node", f"sqlite:///{root / 'node.db'}", assembly=assembly, inference={"workers": 0})
        node.start()
        try:
            released = [released_push(node, root / f"push{i}", args.slices) for i in range(args.repeat)]
            quiet = [open_push(node, args.slices) for _ in range(max(1, args.repeat // 2))]
        finally:
            node.stop()
    print(f"assembly: release_grace_seconds={args.grace:g} tick_seconds={args.tick:g} quiet_seconds={args.quiet:g}; "
          f"{args.slices} slices of 64x64 per push")
    print(f"{'path':<40} {'n':>3} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, values in (("release -> queued (storescu, released)", released),
                         ("last instance -> queued (open, quiet)", quiet)):
        print(f"{name:<40} {len(values):>3} {statistics.median(values):>9.3f} {min(values):>7.3f} {max(values):>7.3f}")
    print(f"ratio released/quiet: {statistics.median(released) / statistics.median(quiet):.2f}")


if __name__ == "__main__":
    main()
