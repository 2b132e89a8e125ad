"""Ingest benchmark: dcmtk ``storescu`` pushes one 200-slice 512x512 CT series to

(a) a bare pynetdicom SCP that only writes each received data set to a file, and
(b) ``dicomnode serve`` on SQLite (durable write: fsync + rename + directory fsync + committed row),

in the same run, and prints instances/s for each and the ratio (b)/(a). Target: ratio >= 0.9.
Two more rows separate what durability itself costs on this disk from what the rest of the node costs:
the bare SCP with the node's durable file write (fsync, rename, directory fsync), and the same plus the
node's database row committed in the same transaction (SQLite WAL, synchronous=FULL).

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

from db.engine import make_engine, make_sessionmaker  # noqa: E402
from db.ingest import InstanceInfo, add_instance  # noqa: E402
from db.migrate import upgrade  # noqa: E402
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


def bare_scp(folder: Path, mode: str) -> tuple[AE, int]:
    """A pynetdicom SCP that only stores: ``plain`` file write, ``durable`` write, or ``durable+row``."""
    count = [0]
    lock = threading.Lock()
    store = DurableStore(folder)
    store.prepare()
    engine = make_engine(f"sqlite:///{folder / 'rows.db'}")
    upgrade(engine)
    sessions = make_sessionmaker(engine)

    def on_store(event: evt.Event) -> int:
        with lock:
            count[0] += 1
            name = str(count[0])
        data = event.encoded_dataset()
        if mode == "plain":
            (folder / f"{name}.dcm").write_bytes(data)
        elif mode == "durable":
            store.write("1", "2", name, data)
        else:
            info = InstanceInfo(name, "1.2", "1", "2", "CT", "1.2.840.10008.1.2.1", name, len(data))
            add_instance(sessions, info, None, lambda: store.write("1", "2", name, data))
        return 0x0000

    ae = AE(ae_title="DICOMNODE")
    ae.supported_contexts = AllStoragePresentationContexts
    ae.maximum_pdu_size = 0
    port = free_port()
    ae.start_server(("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    return ae, port


BARE = "(a) bare pynetdicom SCP, plain file write"
NODE = "(b) dicomnode serve (SQLite)"
ROWS: dict[str, str | None] = {
    BARE: "plain",
    "(a1) bare SCP + durable file write": "durable",
    "(a2) bare SCP + durable write + committed row": "durable+row",
    NODE: None,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slices", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="pushes per target; the median is reported")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dicomnode-bench-") as tmp:
        work = Path(tmp)
        times: dict[str, list[float]] = {label: [] for label in ROWS}
        for round_ in range(args.repeat):
            files = write_series(ct_series(args.slices, 512, seed=round_), work / f"series{round_}")

            for label, mode in ROWS.items():
                if mode is None:
                    continue
                ae, port = bare_scp(work / f"{mode}{round_}", mode)
                times[label].append(push(port, files))
                ae.shutdown()

            node = NodeProcess(work / f"node{round_}", f"sqlite:///{work / f'node{round_}.db'}")
            node.start()
            node.wait_for_log("started", count=2)  # the SCP's AE and the worker process are up
            try:
                times[NODE].append(push(node.port, files))
            finally:
                node.stop()
            assert len(list(node.storage.rglob("*.dcm"))) == args.slices, "node did not store every instance"

    rates = {label: args.slices / statistics.median(t) for label, t in times.items()}
    print(f"\ningest of {args.slices} CT slices 512x512 (16-bit) with dcmtk storescu, median of {args.repeat}")
    print(f"{'target':<44} {'instances/s':>12} {'seconds':>9} {'vs (a)':>7}")
    for label, t in times.items():
        print(f"{label:<44} {rates[label]:>12.1f} {statistics.median(t):>9.2f} {rates[label] / rates[BARE]:>7.2f}")
    ratio = rates[NODE] / rates[BARE]
    print(f"target (b)/(a) >= 0.90: {'met' if ratio >= 0.9 else 'NOT met'} ({ratio:.2f})")


if __name__ == "__main__":
    main()
