"""Ingest benchmark: dcmtk ``storescu`` senders push 512x512 CT slices, 1 sender and then N at once, to

(a) a bare pynetdicom SCP that keeps the node's durability promise and does nothing else (each data set
    written to a temporary name, fsync'd, renamed into place, its directory fsync'd: the baseline),
(a0) the same SCP writing and fsyncing each file only (no rename, no directory fsync; for reference), and
(b) ``dicomnode serve`` on SQLite and (c) on PostgreSQL (the node's full path: checks, durable write with
    rename and directory fsync, committed row),

all in the same run, and prints instances/s for each and its ratios to (a) and (a0). Target: ratio >= 0.9 with 1 and
with N senders. Each sender pushes its own series in one association; the rate is all instances over the
wall time from the first sender's start to the last one's end (median of ``--repeat`` rounds; the
range column gives the slowest and fastest round; "paired" is the median over rounds of each round's own
ratio to (a), which a machine whose load drifts between rounds disturbs less). Every round
runs every target once, in an order that rotates from round to round, after the senders' files are synced
to disk: the load of a shared machine falls on all targets alike.

Run: ``.venv/bin/python benchmarks/ingest.py [--slices 50] [--senders 1 4] [--repeat 4] [--no-postgres]``
PostgreSQL: ``$DICOMNODE_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``);
a scratch database is created and dropped.
"""

from __future__ import annotations

import argparse
import os
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

from tests.databases import scratch_postgres  # noqa: E402
from tests.factories import ct_series, write_series  # noqa: E402
from tests.node_process import NodeProcess, free_port  # noqa: E402



def push_all(port: int, batches: list[list[Path]]) -> float:
    """Seconds from the start of the first storescu to the end of the last, one per batch, all at once."""
    storescu = shutil.which("storescu")
    if storescu is None:
        raise SystemExit("dcmtk's storescu is required (apt-get install dcmtk)")
    started = time.perf_counter()
    senders = [
        subprocess.Popen([storescu, "-aet", f"SENDER{i}", "-aec", "DICOMNODE", "127.0.0.1", str(port), *map(str, files)])
        for i, files in enumerate(batches)
    ]
    codes = [sender.wait() for sender in senders]
    elapsed = time.perf_counter() - started
    if any(codes):
        raise SystemExit(f"a storescu failed: exit codes {codes}")
    return elapsed


def bare_scp(folder: Path, durable: bool) -> tuple[AE, int]:
    """A pynetdicom SCP that stores each data set in its own file, nothing else.

    ``durable``: the node's durability promise and nothing more (DESIGN.md): write to a temporary name,
    fsync, rename into place, fsync the directory. Otherwise write the final name and fsync the file only
    (the baseline of issue 17).
    """
    incoming = folder / ".incoming"
    incoming.mkdir(parents=True)
    count = [0]
    lock = threading.Lock()

    def on_store(event: evt.Event) -> int:
        with lock:
            count[0] += 1
            name = f"{count[0]}.dcm"
        final = folder / name
        temporary = incoming / name if durable else final
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        try:
            os.write(fd, event.encoded_dataset())
            os.fsync(fd)
        finally:
            os.close(fd)
        if durable:
            os.rename(temporary, final)
            directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        return 0x0000

    ae = AE(ae_title="DICOMNODE")
    ae.supported_contexts = AllStoragePresentationContexts
    ae.maximum_pdu_size = 0
    ae.maximum_associations = 16
    port = free_port()
    ae.start_server(("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    return ae, port


def bare_push(folder: Path, durable: bool, batches: list[list[Path]]) -> float:
    ae, port = bare_scp(folder, durable)
    try:
        return push_all(port, batches)
    finally:
        ae.shutdown()


def node_push(folder: Path, url: str, batches: list[list[Path]]) -> float:
    node = NodeProcess(folder, url, inference={"workers": 0})
    node.start()
    try:
        elapsed = push_all(node.port, batches)
    finally:
        node.stop()
    expected = sum(len(files) for files in batches)
    stored = len(list(node.storage.rglob("*.dcm")))
    assert stored == expected, f"node stored {stored} of {expected} instances"
    return elapsed


def postgres_push(folder: Path, batches: list[list[Path]]) -> float:
    with scratch_postgres("dicomnode_bench") as url:
        return node_push(folder, url, batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slices", type=int, default=50, help="slices per sender")
    parser.add_argument("--senders", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--repeat", type=int, default=4, help="rounds per target; the median is reported")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    bare, plain = "(a) bare SCP: temp, fsync, rename, dir fsync", "(a0) bare SCP: write + fsync only"
    targets = [bare, plain, "(b) dicomnode serve, SQLite"]
    if not args.no_postgres:
        targets.append("(c) dicomnode serve, PostgreSQL")
    times: dict[tuple[int, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="dicomnode-bench-") as tmp:
        work = Path(tmp)
        for senders in args.senders:
            for round_ in range(args.repeat):
                batches = [
                    write_series(ct_series(args.slices, 512, seed=100 * round_ + i), work / f"s{senders}r{round_}i{i}")
                    for i in range(senders)
                ]
                os.sync()  # the senders' files reach the disk now, not during the first target's fsyncs
                run = f"{senders}r{round_}"
                pushes = {
                    bare: lambda: bare_push(work / f"bare{run}", True, batches),
                    plain: lambda: bare_push(work / f"plain{run}", False, batches),
                    targets[2]: lambda: node_push(work / f"sqlite{run}", f"sqlite:///{work / f'sqlite{run}.db'}", batches),
                }
                if not args.no_postgres:
                    pushes[targets[3]] = lambda: postgres_push(work / f"pg{run}", batches)
                order = targets[round_ % len(targets):] + targets[:round_ % len(targets)]  # each goes first in turn
                for target in order:
                    times.setdefault((senders, target), []).append(pushes[target]())

    print(f"\ningest of 512x512 16-bit CT slices with dcmtk storescu, {args.slices} per sender, "
          f"median of {args.repeat} rounds")
    print(f"{'senders':>7}  {'target':<46} {'instances/s':>12} {'range':>13} {'seconds':>8} {'vs (a)':>7} {'vs (a0)':>8}"
          f" {'paired':>7}")
    met = True
    for senders in args.senders:
        instances = senders * args.slices
        rates = {target: instances / statistics.median(times[(senders, target)]) for target in targets}
        for target in targets:
            ratio, ratio_plain = rates[target] / rates[bare], rates[target] / rates[plain]
            met = met and (ratio >= 0.9 or target in (bare, plain))
            spread = f"{instances / max(times[(senders, target)]):.0f}-{instances / min(times[(senders, target)]):.0f}"
            paired = statistics.median(b / t for b, t in zip(times[(senders, bare)], times[(senders, target)]))
            print(f"{senders:>7}  {target:<46} {rates[target]:>12.1f} {spread:>13} {instances / rates[target]:>8.2f} "
                  f"{ratio:>7.2f} {ratio_plain:>8.2f} {paired:>7.2f}")
    print(f"target: every node row >= 0.90 x (a) with the same senders: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
