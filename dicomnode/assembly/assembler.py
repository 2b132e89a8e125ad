"""One assembly pass: find series with new instances, judge readiness, ask each pipeline, create jobs.

A ready series is offered to every enabled pipeline (:mod:`dicomnode.pipelines`), with the other series of
its study at hand (:mod:`dicomnode.assembly.study`); each one that does not answer "not applicable" gets a
job of its own, queued or skipped with the pipeline's reasons. A series no enabled pipeline takes gets one
``skipped`` job of the pseudo-pipeline :data:`~db.jobs.NO_PIPELINE` whose reason says why each declined
(so an administrator sees why nothing was made, and the series is not judged again until it changes). When
a pipeline waits for another series of the study still arriving, nothing is recorded for the series and
it is judged again on a later pass. When a series completes the input set of another series that a
pipeline judged before it arrived (a late phase series), that pipeline judges the other series again
(readiness rule ``partner``) and the new job supersedes the old one.

Called on every scheduler tick (:mod:`dicomnode.scheduler`). The database is the only state: the pass
looks at series with instances received recently (enough to catch every series still waiting for a rule),
and at every series once per ``assembly.full_scan_seconds`` and at start-up (catching anything received
while the node was down).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from db.audit import record_event
from db.engine import READ_ONLY
from db.jobs import NO_PIPELINE, NewJob, create_job, latest_job
from db.models import utcnow
from db.series import (
    InstanceRef, SeriesActivity, pending_series, series_instances, series_received_since, series_snapshot,
)
from dicomnode.assembly.headers import read_headers
from dicomnode.assembly.readiness import Readiness, evaluate
from dicomnode.assembly.study import StoredStudy
from dicomnode.config import Config
from dicomnode.pipelines import enabled_pipelines
from dicomnode.pipelines.base import InputSet, NotApplicable, Refusal, Reopen, Wait

log = logging.getLogger(__name__)

IN_FLIGHT_SECONDS = 60.0
"""How long after a series' last arrival a missing file counts as a durable write still finishing."""

RECENT_MARGIN_SECONDS = 60.0
"""Look-back beyond quiet + grace for the incremental pass (covers slow commits and tick delays)."""


Verdicts = list[tuple[str, InputSet | Refusal]]
"""What the pipelines that take a series said about it: (pipeline name, verdict)."""


@dataclass(frozen=True)
class Decision:
    job_id: int
    series_uid: str
    state: str
    readiness: Readiness
    pipeline: str


class Assembler:
    """Turns ready series into jobs; one instance per scheduler."""

    def __init__(self, config: Config, sessions: sessionmaker[Session]) -> None:
        self.config = config
        self.sessions = sessions
        self.pipelines = enabled_pipelines(config)
        self._last_full_scan: float | None = None

    def tick(self, now: datetime | None = None) -> list[Decision]:
        """Run one pass; return the jobs it created."""
        now = now or utcnow()
        assembly = self.config.assembly
        full = self._last_full_scan is None or time.monotonic() - self._last_full_scan >= assembly.full_scan_seconds
        with self.sessions() as session:
            session.connection(execution_options=READ_ONLY)  # a pass that finds nothing ready never blocks ingest
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
                decisions += self._decide(activity, readiness, now)
        return decisions

    def _decide(
        self, activity: SeriesActivity, readiness: Readiness, now: datetime, only: str | None = None
    ) -> list[Decision]:
        """Ask each enabled pipeline (or the one named ``only``) about the series; record what they said."""
        with self.sessions() as session:
            session.connection(execution_options=READ_ONLY)
            refs = series_instances(session, activity.series_uid, activity.max_instance_id)
        started = time.perf_counter()
        headers, unreadable = read_headers(refs)
        if unreadable and self._file_in_flight(activity, refs, now):
            return []
        study = StoredStudy(self.sessions, activity.study_uid, activity.series_uid, now, self.config.assembly)
        verdicts: Verdicts = []
        declined: list[str] = []
        reopened: list[tuple[str, Reopen]] = []
        for pipeline in self.pipelines:
            if only is not None and pipeline.name != only:
                continue
            verdict = pipeline.select(headers, self.config, study)
            if isinstance(verdict, Wait):
                log.debug("series %s: %s waits: %s", activity.series_uid, pipeline.name, verdict.reason)
                return []
            if isinstance(verdict, NotApplicable | Reopen):
                declined.append(f"{pipeline.name}: {verdict.reason or 'not applicable'}")
                if isinstance(verdict, Reopen):
                    reopened.append((pipeline.name, verdict))
                continue
            if unreadable:
                unread = f"{len(unreadable)} stored instance file(s) cannot be read"
                reasons = verdict.reasons if isinstance(verdict, Refusal) else []
                verdict = Refusal([unread, *reasons], verdict.facts)
            verdicts.append((pipeline.name, verdict))
        if not verdicts and self.pipelines and only is None:
            verdicts.append((NO_PIPELINE, Refusal([f"no enabled pipeline reads this series ({'; '.join(declined)})"])))
        selection_ms = round((time.perf_counter() - started) * 1000, 1)
        for _, verdict in verdicts:
            verdict.facts["selection_ms"] = selection_ms
        try:
            with self.sessions.begin() as session:
                decisions = self._record(session, activity, readiness, verdicts)
        except IntegrityError:
            log.info("series %s: another assembler created this job version first", activity.series_uid)
            return []
        for pipeline_name, reopen in reopened if decisions else []:
            decisions += self._reopen(reopen.series_uid, pipeline_name, activity.series_uid, now)
        return decisions

    @staticmethod
    def _file_in_flight(activity: SeriesActivity, refs: list[InstanceRef], now: datetime) -> bool:
        """Whether a file is missing from a series that received within :data:`IN_FLIGHT_SECONDS`.

        A row is committed while its file's durable write may still be finishing (:mod:`dicomnode.scp.commit`;
        the C-STORE is answered only when both are done), so a missing file of a recent instance is judged
        again on a later pass instead of refused as unreadable.
        """
        if (now - activity.last_received_at).total_seconds() >= IN_FLIGHT_SECONDS:
            return False
        missing = [ref.sop_instance_uid for ref in refs if not os.path.exists(ref.path)]
        if missing:
            log.debug("series %s: %d file(s) not yet in place; judged again later", activity.series_uid, len(missing))
        return bool(missing)

    def _reopen(self, series_uid: str, pipeline: str, completed_by: str, now: datetime) -> list[Decision]:
        """Judge ``series_uid`` again for ``pipeline``: series ``completed_by`` completes its input set."""
        with self.sessions() as session:
            session.connection(execution_options=READ_ONLY)
            activities = pending_series(session, [series_uid], include_covered=True)
        if not activities:
            return []
        readiness = Readiness("partner", f"series {completed_by} arrived after it was judged and completes its "
                                         "inputs")
        log.info("series %s: %s judges it again: %s", series_uid, pipeline, readiness.message)
        return self._decide(activities[0], readiness, now, only=pipeline)

    def _record(
        self, session: Session, activity: SeriesActivity, readiness: Readiness, verdicts: Verdicts
    ) -> list[Decision]:
        if series_snapshot(session, activity.series_uid) != (activity.instance_count, activity.max_instance_id):
            return []  # more instances arrived while the headers were read: judge again next tick
        latest = latest_job(session, activity.series_uid)
        if (latest.id if latest else None) != activity.latest_job_id or not verdicts:
            return []  # another assembler judged it, or no pipeline is enabled at all
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
        decisions = []
        for pipeline, verdict in verdicts:
            new = NewJob(
                study_uid=activity.study_uid,
                series_uid=activity.series_uid,
                ready_rule=readiness.rule,
                instance_count=activity.instance_count,
                max_instance_id=activity.max_instance_id,
                last_received_at=activity.last_received_at,
                skip_reason=verdict.reason if isinstance(verdict, Refusal) else None,
                detail=verdict.facts,
                max_attempts=self.config.inference.max_attempts,
                pipeline=pipeline,
                inputs=verdict.series_uids if isinstance(verdict, InputSet) else (),
            )
            job = create_job(session, new, latest_job(session, activity.series_uid, pipeline))
            log.info(
                "series %s ready (%s): %s job %d version %d %s%s", activity.series_uid, readiness.rule, pipeline,
                job.id, job.version, job.state, f" ({job.reason})" if job.reason else "",
            )
            decisions.append(Decision(job.id, activity.series_uid, job.state, readiness, pipeline))
        return decisions
