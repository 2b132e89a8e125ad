"""End-to-end benchmark: from the last slice acknowledged to the SR stored in the PACS (Orthanc).

For a 40-slice 512x512 phantom study and the real 238-slice CQ500 series, pushed with dcmtk ``storescu``
to ``dicomnode serve`` (SQLite, default assembly settings, one worker, default backend) with Orthanc as the
destination, prints each stage from the node's own records:

- completeness wait: last instance committed -> job queued (release grace + one tick when released);
- queue wait: job queued -> a worker claimed it;
- load, volume, inference, reports (SR + SEG + SC), enqueue: the analysis step's own timings;
- delivery: job finished -> the SR acknowledged by Orthanc (outbox ``sent_at``).

Targets (2-core CPU): under 5 s for the 40-slice study excluding the completeness wait, under 8 s
including it. Run: ``.venv/bin/python benchmarks/end_to_end.py [--skip-cq500]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from db import outbox as q  # noqa: E402
from db.jobs import Job  # noqa: E402
from db.models import Instance  # noqa: E402
from inference.ich.phantoms.dicom_writer import write_dicom  # noqa: E402
from inference.ich.phantoms.study import generate_study  # noqa: E402
from tests.integration.dcmtk import storescu  # noqa: E402
from tests.integration.orthanc import Orthanc  # noqa: E402
from tests.node_process import NodeProcess  # noqa: E402
from tests.polling import wait_for  # noqa: E402

SR_STORAGE = "1.2.840.10008.5.1.4.1.1.88.33"  # Comprehensive SR
CQ500 = ROOT.parent / "shared" / "data" / "cq500-ct0" / "series"
STAGES = ("completeness wait", "queue wait", "load", "volume", "inference", "reports", "enqueue", "delivery")
STAGE_LABELS = {"reports": "reports (SR + SEG + SC)"}


def seconds(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds()


def measure(node: NodeProcess, files: list[Path], extra: list[str]) -> dict[str, float]:
    """Push ``files`` and return the duration of each stage in seconds."""
    result = storescu(node.port, files, extra=extra)
    if result.returncode != 0:
        raise SystemExit(f"storescu failed: {result.stderr[-500:]}")

    def sr_sent() -> q.OutboxEntry | None:
        with Session(node.engine) as session:
            return session.scalars(
                select(q.OutboxEntry).where(q.OutboxEntry.sop_class_uid == SR_STORAGE, q.OutboxEntry.state == q.SENT)
            ).first()

    wait_for(sr_sent, timeout=600, what="the SR to be stored in Orthanc")
    entry = sr_sent()
    with Session(node.engine) as session:
        job = session.scalars(select(Job).where(Job.id == entry.job_id)).one()
        last = session.scalar(select(func.max(Instance.received_at)).where(Instance.series_uid == job.series_uid))
    timings = job.timings
    stages = {
        "completeness wait": seconds(job.created_at, last),
        "queue wait": seconds(job.started_at, job.created_at),
        **{name: timings[f"{name}_ms"] / 1000 for name in ("load", "volume", "inference", "reports", "enqueue")},
        "delivery": seconds(entry.sent_at, job.finished_at),
    }
    stages["total excluding completeness"] = seconds(entry.sent_at, job.created_at)
    stages["total including completeness"] = seconds(entry.sent_at, last)
    return stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-cq500", action="store_true", help="only the phantom study")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dicomnode-e2e-") as tmp:
        work = Path(tmp)
        studies = [("phantom 40x512x512", write_dicom(generate_study(7, "IPH", 40, 512), work / "phantom"), [])]
        if not args.skip_cq500 and CQ500.is_dir():
            studies.append(("CQ500 238 slices (JPEG lossless)", sorted(CQ500.glob("*.dcm")), ["--propose-lossless"]))
        rows: dict[str, dict[str, float]] = {}
        for index, (label, files, extra) in enumerate(studies):
            (work / f"pacs{index}").mkdir()
            pacs = Orthanc(work / f"pacs{index}")
            pacs.start()
            node = NodeProcess(
                work / f"node{index}", f"sqlite:///{work / f'node{index}.db'}",
                destinations=[{"name": "pacs", "ae_title": "ORTHANC", "host": "127.0.0.1", "port": pacs.dicom_port}],
            )
            node.start()
            try:
                node.wait_for_log("ready on", timeout=120)  # the worker has loaded the model
                rows[label] = measure(node, files, extra)
            finally:
                node.stop()
                pacs.stop()

    labels = list(rows)
    print("\nend to end: last slice acknowledged -> SR stored in Orthanc (seconds)")
    print(f"{'stage':<32}" + "".join(f"{label:>36}" for label in labels))
    for stage in (*STAGES, "total excluding completeness", "total including completeness"):
        print(f"{STAGE_LABELS.get(stage, stage):<32}" + "".join(f"{rows[label][stage]:>36.2f}" for label in labels))
    phantom = rows[labels[0]]
    print(f"targets for the 40-slice study: excluding completeness < 5 s: "
          f"{'met' if phantom['total excluding completeness'] < 5 else 'NOT met'}; including < 8 s: "
          f"{'met' if phantom['total including completeness'] < 8 else 'NOT met'}")


if __name__ == "__main__":
    main()
