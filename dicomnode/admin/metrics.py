"""``GET /metrics``: Prometheus text exposition, computed from the database at each scrape.

The database is the one source of truth shared by the SCP, the scheduler and the worker processes, so
the counters survive restarts and agree across processes without a multi-process registry. Each scrape
runs a handful of aggregate queries; the histograms read the timings of the most recent
:data:`HISTOGRAM_JOBS` finished jobs.

Families (all prefixed ``dicomnode_``): ``up``, ``build_info``, ``associations_total{outcome}``,
``associations_open``, ``instances_received_total``, ``received_bytes_total``,
``instances_rejected_total``, ``instances_duplicate_total``, ``security_alerts_total``,
``jobs{state}``, ``job_stage_seconds{stage}`` (histogram), ``inference_seconds`` (histogram),
``outbox_entries{state}``, ``scp_listening``, ``workers_alive``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from db.jobs import STATES as JOB_STATES
from db.jobs import Job
from db.models import Association, AuditEvent, Instance
from dicomnode import __version__
from dicomnode.admin import outbox as outbox_routes
from dicomnode.admin.status import StatusProvider

log = logging.getLogger(__name__)
router = APIRouter(tags=["metrics"])

BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
HISTOGRAM_JOBS = 10_000
#: Keys of ``jobs.timings`` (milliseconds, ``_ms`` suffix dropped) that measure the model's forward pass;
#: the first one found wins.
INFERENCE_KEYS = ("inference", "infer", "predict", "engine", "model")


def histogram(name: str, doc: str, label: str, samples: dict[str, list[float]]) -> HistogramMetricFamily:
    """A histogram family with one series per label value, from raw observations in seconds."""
    family = HistogramMetricFamily(name, doc, labels=[label] if label else None)
    for value, observations in sorted(samples.items()):
        buckets = [(str(b), float(sum(1 for o in observations if o <= b))) for b in BUCKETS]
        buckets.append(("+Inf", float(len(observations))))
        family.add_metric([value] if label else [], buckets, sum_value=float(sum(observations)))
    return family


def stage_samples(timings: Iterable[dict[str, Any] | None]) -> tuple[dict[str, list[float]], list[float]]:
    """Per-stage observations (seconds) and the inference latencies, from ``jobs.timings`` (ms)."""
    stages: dict[str, list[float]] = {}
    inference: list[float] = []
    for row in timings:
        numeric = {k.removesuffix("_ms"): float(v) / 1000.0 for k, v in (row or {}).items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool)}
        for stage, seconds in numeric.items():
            stages.setdefault(stage, []).append(seconds)
        key = next((k for k in INFERENCE_KEYS if k in numeric), None)
        if key is not None:
            inference.append(numeric[key])
    return stages, inference


class DatabaseCollector(Collector):
    """Collects every family from the database (and the node's live status) at scrape time."""

    def __init__(self, sessions: sessionmaker[Session], status_provider: StatusProvider) -> None:
        self.sessions = sessions
        self.status_provider = status_provider

    def collect(self) -> Iterator[Metric]:
        yield self._info()
        status = self.status_provider()
        if status.scp_listening is not None:
            yield GaugeMetricFamily("dicomnode_scp_listening", "1 if the storage SCP listens",
                                    value=float(status.scp_listening))
        if status.workers_alive is not None:
            yield GaugeMetricFamily("dicomnode_workers_alive", "Analysis worker processes alive",
                                    value=float(status.workers_alive))
        try:
            with self.sessions() as session:
                yield from self._ingest(session)
                yield from self._jobs(session)
                yield from self._outbox(session)
        except SQLAlchemyError as exc:
            log.warning("metrics: database query failed: %s", exc)
            yield GaugeMetricFamily("dicomnode_up", "1 if the database answered this scrape", value=0.0)
            return
        yield GaugeMetricFamily("dicomnode_up", "1 if the database answered this scrape", value=1.0)

    def _info(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily("dicomnode_build_info", "Version of the running node", labels=["version"])
        family.add_metric([__version__], 1.0)
        return family

    def _ingest(self, session: Session) -> Iterator[Metric]:
        by_outcome = CounterMetricFamily("dicomnode_associations", "Associations ended, by outcome",
                                         labels=["outcome"])
        open_now = 0
        for outcome, count in session.execute(select(Association.outcome, func.count()).group_by(Association.outcome)):
            if outcome == "open":
                open_now = count
            else:
                by_outcome.add_metric([outcome], float(count))
        yield by_outcome
        yield GaugeMetricFamily("dicomnode_associations_open", "Associations open now", value=float(open_now))
        count, size = session.execute(select(func.count(), func.coalesce(func.sum(Instance.size), 0))).one()
        yield CounterMetricFamily("dicomnode_instances_received", "Instances stored", value=float(count))
        yield CounterMetricFamily("dicomnode_received_bytes", "Bytes of instances stored", value=float(size))
        events = {
            f"{event_type}:{outcome}": count
            for event_type, outcome, count in session.execute(
                select(AuditEvent.event_type, AuditEvent.outcome, func.count())
                .where(AuditEvent.event_type.in_(("store", "security")))
                .group_by(AuditEvent.event_type, AuditEvent.outcome)
            )
        }
        yield CounterMetricFamily("dicomnode_instances_rejected", "C-STORE requests refused with a failure status",
                                  value=float(events.get("store:failure", 0)))
        yield CounterMetricFamily("dicomnode_instances_duplicate", "C-STORE of an instance already stored",
                                  value=float(events.get("store:duplicate", 0)))
        alerts = sum(v for k, v in events.items() if k.startswith("security:"))
        yield CounterMetricFamily("dicomnode_security_alerts", "Refused associations and admin requests",
                                  value=float(alerts))

    def _jobs(self, session: Session) -> Iterator[Metric]:
        counts = {state: n for state, n in session.execute(select(Job.state, func.count()).group_by(Job.state))}
        family = GaugeMetricFamily("dicomnode_jobs", "Analysis jobs by state", labels=["state"])
        for state in sorted(set(JOB_STATES) | set(counts)):
            family.add_metric([state], float(counts.get(state, 0)))
        yield family
        recent = session.scalars(
            select(Job.timings).where(Job.finished_at.is_not(None)).order_by(Job.id.desc()).limit(HISTOGRAM_JOBS)
        )
        stages, inference = stage_samples(recent)
        yield histogram("dicomnode_job_stage_seconds", "Duration of each job stage", "stage", stages)
        yield histogram("dicomnode_inference_seconds", "Model inference latency per job", "",
                        {"": inference} if inference else {})

    def _outbox(self, session: Session) -> Iterator[Metric]:
        counts = outbox_routes.count_by_state(session)
        if counts is None:
            return
        family = GaugeMetricFamily("dicomnode_outbox_entries", "Outbox entries by state", labels=["state"])
        for state, count in sorted(counts.items()):
            family.add_metric([state], float(count))
        yield family


def make_registry(sessions: sessionmaker[Session], status_provider: StatusProvider) -> CollectorRegistry:
    """A registry of this app alone (no process-global default registry)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(sessions, status_provider))
    return registry


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus text format 0.0.4."""
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)
