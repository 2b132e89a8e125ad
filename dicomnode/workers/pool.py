"""The worker processes of ``dicomnode serve``: started with ``spawn``, stopped with SIGTERM, then joined.

A worker that dies (killed, out of memory) is replaced by :meth:`WorkerPool.ensure_alive`, which the
scheduler calls; its job is re-queued by the stale-heartbeat check. A worker whose parent disappears
(``kill -9`` of ``dicomnode serve``) notices and exits.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from multiprocessing.process import BaseProcess

from dicomnode.config import Config

log = logging.getLogger(__name__)


def worker_main(config: Config, index: int, parent_pid: int, verbose: bool = False) -> None:
    """Entry point of one worker process."""
    from dicomnode.logs import configure_logging
    from dicomnode.workers.worker import Worker, default_worker_id

    configure_logging(verbose=verbose)
    worker = Worker(config, worker_id=f"{default_worker_id()}/{index}", parent_pid=parent_pid)
    worker.install_signal_handlers()
    worker.run()


class WorkerPool:
    """``inference.workers`` processes running :class:`dicomnode.workers.worker.Worker`."""

    def __init__(self, config: Config, count: int | None = None) -> None:
        self.config = config
        self.count = config.inference.workers if count is None else count
        self._context = multiprocessing.get_context("spawn")
        self._processes: list[BaseProcess | None] = [None] * self.count
        self._stopping = False

    def start(self) -> None:
        for index in range(self.count):
            self._start(index)

    def _start(self, index: int) -> None:
        verbose = logging.getLogger().isEnabledFor(logging.DEBUG)
        process = self._context.Process(
            target=worker_main, args=(self.config, index, os.getpid(), verbose), name=f"dicomnode-worker-{index}"
        )
        process.start()
        self._processes[index] = process
        log.info("worker process %d started (pid %s)", index, process.pid)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._processes if p is not None and p.pid is not None and p.is_alive()]

    def ensure_alive(self) -> None:
        """Replace workers that exited while the node runs."""
        if self._stopping:
            return
        for index, process in enumerate(self._processes):
            if process is not None and not process.is_alive():
                log.warning("worker process %d (pid %s) exited with %s; starting a new one", index, process.pid,
                            process.exitcode)
                process.close()
                self._start(index)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM every worker (a busy one gives its job back), join, SIGKILL what is left."""
        self._stopping = True
        alive = [p for p in self._processes if p is not None and p.is_alive()]
        for process in alive:
            if process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        for process in alive:
            process.join(timeout)
            if process.is_alive():
                log.warning("worker pid %s did not stop within %.0f s; killing it", process.pid, timeout)
                process.kill()
                process.join(5)
