"""One assembly pass: find series with new instances, judge readiness, apply selection, create jobs.

Called on every scheduler tick (:mod:`dicomnode.scheduler`). The database is the only state: the pass
looks at series with instances received recently (enough to catch every series still waiting for a rule),
and at every series once per ``assembly.full_scan_seconds`` and at start-up (catching anything received
while the node was down).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from db.audit import record_event
from db.jobs import NewJob, create_job, latest_job
from db.models import utcnow
from db.series import SeriesActivity, pending_series, series_instances, series_received_since, series_snapshot
from dicomnode.assembly.headers import read_headers
from dicomnode.assembly.readiness import Readiness, evaluate
from dicomnode.assembly.selection import Selection, select_series
from dicomnode.config import Config

log = logging.getLogger(__name__)

RECENT_MARGIN_SECONDS = 60.0
"""Look-back beyond quiet + grace for the incremental pass (covers slow commits and tick delays)."""


@dataclass(frozen=True)
class Decision:
    job_id: int
    series_uid: str
    state: str
    readiness: Readiness


class Assembler:
    """Turns ready series into jobs; one instance per scheduler."""

    def __init__(self, config: Config, sessions: sessionmaker[Session]) -> None:
        self.config = config
        self.sessions = sessions
        self._last_full_scan: float | None = None

    def tick(self, now: datetime | None = None) -> list[Decision]:
        """Run one pass; return the jobs it created."""
        now = now or utcnow()
        assembly = self.config.assembly
        full = self._last_full_scan is None or time.monotonic() - self._last_full_scan >= assembly.full_scan_seconds
        with self.sessions() as session:
            candidates = None
            if not full:
                horizon = assembly.quiet_seconds + assembly.release_grace_seconds + RECENT_MARGIN_SECONDS
                candidates = series_received_since(session, now - timedelta(seconds=horizon))
            activities = pending_series(session, candidates)
        if full:
            self._last_full_scan = time.monotonic()
        decisions = []
        for activity in activities:
            readiness = evaluate(activity, now, assembly.quiet_seconds, assembly.release_grace_seconds)
            if readiness is not None:
                decision = self._decide(activity, readiness)
                if decision is not None:
                    decisions.append(decision)
        return decisions

    def _decide(self, activity: SeriesActivity, readiness: Readiness) -> Decision | None:
        with self.sessions() as session:
            refs = series_instances(session, activity.series_uid, activity.max_instance_id)
        started = time.perf_counter()
        headers, unreadable = read_headers(refs)
        selection = select_series(headers, self.config.selection)
        if unreadable:
            selection.reasons.insert(0, f"{len(unreadable)} stored instance file(s) cannot be read")
        selection.facts["selection_ms"] = round((time.perf_counter() - started) * 1000, 1)
        try:
            with self.sessions.begin() as session:
                return self._record(session, activity, readiness, selection)
        except IntegrityError:
            log.info("series %s: another assembler created this job version first", activity.series_uid)
            return None

    def _record(
        self, session: Session, activity: SeriesActivity, readiness: Readiness, selection: Selection
    ) -> Decision | None:
        if series_snapshot(session, activity.series_uid) != (activity.instance_count, activity.max_instance_id):
            return None  # more instances arrived while the headers were read: judge again next tick
        previous = latest_job(session, activity.series_uid)
        if (previous.id if previous else None) != activity.latest_job_id:
            return None
        ids = {"study_uid": activity.study_uid, "series_uid": activity.series_uid}
        record_event(
            session,
            "series-ready",
            "success",
            f"series ready ({readiness.rule}): {readiness.message}; {activity.instance_count} instance(s)",
            association_id=readiness.association_id,
            detail={"rule": readiness.rule, "instances": activity.instance_count, "version": activity.latest_version + 1},
            **ids,
        )
        new = NewJob(
            study_uid=activity.study_uid,
            series_uid=activity.series_uid,
            ready_rule=readiness.rule,
            instance_count=activity.instance_count,
            max_instance_id=activity.max_instance_id,
            last_received_at=activity.last_received_at,
            skip_reason=None if selection.accepted else selection.reason,
            detail=selection.facts,
            max_attempts=self.config.inference.max_attempts,
        )
        job = create_job(session, new, previous)
        log.info(
            "series %s ready (%s): job %d version %d %s%s", activity.series_uid, readiness.rule, job.id, job.version,
            job.state, f" ({job.reason})" if job.reason else "",
        )
        return Decision(job.id, activity.series_uid, job.state, readiness)
