"""The periodic work inside ``dicomnode serve`` (APScheduler ``BackgroundScheduler``).

- every ``assembly.tick_seconds``: an assembly pass (readiness, selection, job creation);
- every ``inference.heartbeat_seconds``: re-queue jobs whose worker stopped heart-beating, and replace
  worker processes that exited;
- every ``delivery.tick_seconds``: send the outbox entries that are due (:func:`dicomnode.delivery.deliver_due`).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from db.jobs import requeue_stale
from dicomnode.assembly.assembler import Assembler
from dicomnode.config import Config
from dicomnode.delivery import deliver_due
from dicomnode.workers.pool import WorkerPool

log = logging.getLogger(__name__)


class NodeScheduler:
    """Owns the background scheduler thread and the jobs it runs."""

    def __init__(self, config: Config, sessions: sessionmaker[Session], pool: WorkerPool | None = None) -> None:
        self.config = config
        self.sessions = sessions
        self.pool = pool
        self.assembler = Assembler(config, sessions)
        self._scheduler: BackgroundScheduler | None = None
        self._assembling = threading.Lock()

    def start(self) -> None:
        # A tick that overruns makes the next one return at once (see _assemble) instead of queueing up.
        self._scheduler = BackgroundScheduler(
            timezone=timezone.utc, job_defaults={"coalesce": True, "max_instances": 2, "misfire_grace_time": None}
        )
        now = datetime.now(timezone.utc)
        self._scheduler.add_job(
            self._assemble, IntervalTrigger(seconds=self.config.assembly.tick_seconds), id="assembly",
            next_run_time=now,
        )
        self._scheduler.add_job(
            self._maintain, IntervalTrigger(seconds=self.config.inference.heartbeat_seconds), id="maintenance",
            next_run_time=now,
        )
        self._scheduler.add_job(
            self._deliver, IntervalTrigger(seconds=self.config.delivery.tick_seconds), id="delivery",
            next_run_time=now, max_instances=1,  # one round at a time: entries are not claimed, only read
        )
        self._scheduler.start()

    def _assemble(self) -> None:
        if not self._assembling.acquire(blocking=False):
            return
        try:
            self.assembler.tick()
        except Exception:  # a failed pass is retried on the next tick; the scheduler must keep running
            log.exception("assembly pass failed")
        finally:
            self._assembling.release()

    def _maintain(self) -> None:
        try:
            stale = requeue_stale(self.sessions, timedelta(seconds=self.config.inference.stale_seconds))
            for job_id in stale:
                log.warning("job %d: its worker stopped heart-beating; re-queued or failed", job_id)
            if self.pool is not None:
                self.pool.ensure_alive()
        except Exception:
            log.exception("maintenance pass failed")

    def _deliver(self) -> None:
        try:
            deliver_due(self.sessions, self.config)
        except Exception:
            log.exception("delivery pass failed")

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
