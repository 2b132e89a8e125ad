"""Ingest benchmark: dcmtk ``storescu`` pushes one 200-slice 512x512 CT series to

(a) a bare pynetdicom SCP that only writes each received data set to a file, and
(b) ``dicomnode serve`` on SQLite (durable write: fsync + rename + directory fsync + committed row),

in the same run, and prints instances/s for each and the ratio (b)/(a). Target: ratio >= 0.9.
A third row, the bare SCP with the node's durable file write (no database), separates what durability
itself costs on this disk from what the rest of the node costs.

Run: ``.venv/bin/python benchmarks/ingest.py [--slices 200] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pynetdicom import AE, AllStoragePresentationContexts, evt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dicomnode.scp.storage import DurableStore  # noqa: E402
from tests.factories import ct_series, write_series  # noqa: E402
from tests.node_process import NodeProcess, free_port  # noqa: E402


def push(port: int, files: list[Path]) -> float:
    """Seconds storescu takes to send ``files`` in one association (includes its own start-up)."""
    storescu = shutil.which("storescu")
    if storescu is None:
        raise SystemExit("dcmtk's storescu is required (apt-get install dcmtk)")
    started = time.perf_counter()
    subprocess.run([storescu, "-aec", "DICOMNODE", "127.0.0.1", str(port), *map(str, files)], check=True)
    return time.perf_counter() - started


def bare_scp(folder: Path, durable: bool) -> tuple[AE, int]:
    """A pynetdicom SCP that writes every received data set to a file and does nothing else."""
    count = [0]
    lock = threading.Lock()
    store = DurableStore(folder)
    store.prepare()

    def on_store(event: evt.Event) -> int:
        with lock:
            count[0] += 1
            name = count[0]
        if durable:
            store.write("1", "2", str(name), event.encoded_dataset())
        else:
            (folder / f"{name}.dcm").write_bytes(event.encoded_dataset())
        return 0x0000

    ae = AE(ae_title="DICOMNODE")
    ae.supported_contexts = AllStoragePresentationContexts
    ae.maximum_pdu_size = 0
    port = free_port()
    ae.start_server(("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    return ae, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slices", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="pushes per target; the median is reported")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dicomnode-bench-") as tmp:
        work = Path(tmp)
        bare_times, durable_times, node_times = [], [], []
        for round_ in range(args.repeat):
            files = write_series(ct_series(args.slices, 512, seed=round_), work / f"series{round_}")

            for durable, times in ((False, bare_times), (True, durable_times)):
                ae, port = bare_scp(work / f"bare{round_}-{durable}", durable)
                times.append(push(port, files))
                ae.shutdown()

            node = NodeProcess(work / f"node{round_}", f"sqlite:///{work / f'node{round_}.db'}")
            node.start()
            try:
                node_times.append(push(node.port, files))
            finally:
                node.stop()
            assert len(list(node.storage.rglob("*.dcm"))) == args.slices, "node did not store every instance"

    rows = [
        ("(a) bare pynetdicom SCP (files only)", bare_times),
        ("(a') bare SCP + durable file write", durable_times),
        ("(b) dicomnode serve (SQLite, durable)", node_times),
    ]
    rates = {label: args.slices / statistics.median(times) for label, times in rows}
    print(f"\ningest of {args.slices} CT slices 512x512 (16-bit) with dcmtk storescu, median of {args.repeat}")
    print(f"{'target':<40} {'instances/s':>12} {'seconds':>9}")
    for label, times in rows:
        print(f"{label:<40} {rates[label]:>12.1f} {statistics.median(times):>9.2f}")
    ratio = rates[rows[2][0]] / rates[rows[0][0]]
    print(f"{'ratio (b)/(a)':<40} {ratio:>12.2f}   target >= 0.90: {'met' if ratio >= 0.9 else 'NOT met'}")
    print(f"{'ratio (b)/(a-prime)':<40} {rates[rows[2][0]] / rates[rows[1][0]]:>12.2f}")


if __name__ == "__main__":
    main()
