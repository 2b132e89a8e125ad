"""The worker loop: claim a job, run the analysis step with a heartbeat, record the outcome.

Runs inside ``dicomnode serve`` (one process per ``inference.workers``) or alone with
``dicomnode worker`` on any machine that shares the PostgreSQL database (scale-out). Every worker also
re-queues jobs whose worker stopped heart-beating, so a queue served only by stand-alone workers still
recovers from a worker killed mid-job.

On SIGTERM/SIGINT an idle worker exits; a busy one interrupts the step and gives the job back to the
queue (the attempt is not counted).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from datetime import timedelta
from types import FrameType

from sqlalchemy.exc import SQLAlchemyError

from db.engine import make_engine, make_sessionmaker
from db.jobs import Ticket, claim_next, fail, finish, heartbeat, release, requeue_stale, skip
from dicomnode.config import Config
from dicomnode.errors import UnusableSeries
from dicomnode.workers.dispatch import PipelineModels, run_pipeline, worker_pipelines
from dicomnode.workers.failures import describe_failure, is_internal
from dicomnode.workers.step import StepContext, load_step

log = logging.getLogger(__name__)


class WorkerStopping(BaseException):
    """Raised inside a running step when the worker is told to stop (not an ``Exception``: steps must not
    swallow it)."""


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class _Heartbeat(threading.Thread):
    """Updates the job's ``heartbeat_at`` every ``period`` seconds until stopped."""

    def __init__(self, worker: Worker, ticket: Ticket, period: float) -> None:
        super().__init__(name=f"heartbeat-{ticket.id}", daemon=True)
        self.worker, self.ticket, self.period = worker, ticket, period
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.period):
            try:
                if not heartbeat(self.worker.sessions, self.ticket.id, self.ticket.worker_id):
                    log.warning("job %d is no longer owned by worker %s", self.ticket.id, self.ticket.worker_id)
                    return
            except SQLAlchemyError as exc:
                log.error("heartbeat of job %d failed: %s", self.ticket.id, exc)


class Worker:
    """One worker: a loop over :func:`db.jobs.claim_next` in the calling thread."""

    def __init__(self, config: Config, worker_id: str | None = None, parent_pid: int | None = None) -> None:
        self.config = config
        self.worker_id = worker_id or default_worker_id()
        self.parent_pid = parent_pid
        self.engine = make_engine(config.database.url, echo=config.database.echo)
        self.sessions = make_sessionmaker(self.engine)
        self.step = load_step(config)
        self.models = PipelineModels()
        self.pipelines = tuple(p.name for p in worker_pipelines(config)) if config.inference.worker_pipelines else ()
        self.stopping = threading.Event()
        self._in_step = False
        self._last_stale_check = 0.0

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)

    def request_stop(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        """Stop after the current job; from a signal handler, interrupt the running step."""
        first = not self.stopping.is_set()
        self.stopping.set()
        if signum is not None and first and self._in_step:
            self._in_step = False
            raise WorkerStopping(signal.Signals(signum).name)

    def run(self) -> None:
        """Claim and run jobs until asked to stop (or the parent ``dicomnode serve`` is gone)."""
        inference = self.config.inference
        log.info("worker %s started", self.worker_id)
        try:
            if self.step is run_pipeline:
                self.models.warm_up(self.config)
            while not self.stopping.is_set():
                if self.parent_pid is not None and os.getppid() != self.parent_pid:
                    log.warning("worker %s: parent process %d is gone; stopping", self.worker_id, self.parent_pid)
                    break
                try:
                    self._requeue_stale()
                    ticket = claim_next(self.sessions, self.worker_id, self.pipelines)
                except SQLAlchemyError as exc:
                    log.error("worker %s cannot reach the job queue: %s", self.worker_id, exc)
                    ticket = None
                if ticket is None:
                    self.stopping.wait(inference.poll_seconds)
                    continue
                try:
                    self.run_job(ticket)
                except SQLAlchemyError as exc:  # the job stays running; the stale check re-queues it
                    log.error("worker %s could not record job %d: %s", self.worker_id, ticket.id, exc)
        except WorkerStopping:
            pass
        finally:
            self.engine.dispose()
            log.info("worker %s stopped", self.worker_id)

    def _requeue_stale(self) -> None:
        inference = self.config.inference
        if time.monotonic() - self._last_stale_check < inference.heartbeat_seconds:
            return
        self._last_stale_check = time.monotonic()
        for job_id in requeue_stale(self.sessions, timedelta(seconds=inference.stale_seconds)):
            log.warning("job %d: its worker stopped heart-beating; re-queued or failed", job_id)

    def run_job(self, ticket: Ticket) -> None:
        """Run the step for one claimed job and record how it ended."""
        log.info("worker %s runs job %d (%s, series %s, attempt %d)", self.worker_id, ticket.id, ticket.pipeline,
                 ticket.series_uid, ticket.attempt)
        beat = _Heartbeat(self, ticket, self.config.inference.heartbeat_seconds)
        beat.start()
        context = StepContext(self.config, self.sessions, self.worker_id, self.stopping, self.models)
        start = time.perf_counter()
        try:
            try:
                self._in_step = True
                outcome = self.step(ticket, context)
            finally:
                self._in_step = False
        except WorkerStopping as exc:
            beat.done.set()
            release(self.sessions, ticket.id, self.worker_id, f"worker stopping ({exc})")
            log.info("job %d given back: worker %s is stopping", ticket.id, self.worker_id)
            raise
        except UnusableSeries as exc:  # a data problem: no retry can fix it
            beat.done.set()
            reason = describe_failure(exc)
            skip(self.sessions, ticket.id, self.worker_id, reason, {"total_ms": _ms(start)})
            log.warning("job %d skipped: %s", ticket.id, reason)
            return
        except Exception as exc:  # the step's failure is the job's, never the worker's
            beat.done.set()
            error = describe_failure(exc)
            state = fail(self.sessions, ticket.id, self.worker_id, error, {"total_ms": _ms(start)})
            log.warning("job %d attempt %d failed (%s): %s", ticket.id, ticket.attempt, state, error,
                        exc_info=is_internal(exc))
            return
        beat.done.set()
        timings = {**outcome.timings_ms, "total_ms": _ms(start)}
        if finish(self.sessions, ticket.id, self.worker_id, outcome.result, timings):
            log.info("job %d succeeded in %.0f ms", ticket.id, timings["total_ms"])
        else:
            log.warning("job %d finished but was no longer owned by worker %s; result dropped", ticket.id,
                        self.worker_id)


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
