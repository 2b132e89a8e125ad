"""Series activity derived from ``instances`` and ``associations``: what arrived since a series' last job.

Nothing here decides readiness (``dicomnode.assembly.readiness`` does); these queries only gather the
facts: how many instances a series has, when the last one arrived, and which associations carried the
instances its latest job does not cover.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.jobs import Job
from db.models import Association, Instance


IN_CHUNK = 500  # values per IN list: a full scan's series stay far below SQLite's 32766 bound parameters


@dataclass(frozen=True)
class CarrierState:
    """An association that carried instances of a series not yet covered by a job."""

    association_id: int
    outcome: str  # open | released | aborted | interrupted
    ended_at: datetime | None
    last_instance_id: int


@dataclass(frozen=True)
class SeriesActivity:
    """A series whose stored instances differ from the snapshot of its latest job (or that has none)."""

    study_uid: str
    series_uid: str
    instance_count: int
    max_instance_id: int
    last_received_at: datetime
    latest_job_id: int | None
    latest_version: int
    carriers: tuple[CarrierState, ...]
    unknown_carrier: bool  # some new instance has no association row (database was down at accept)


@dataclass(frozen=True)
class InstanceRef:
    sop_instance_uid: str
    path: str


def series_received_since(session: Session, since: datetime) -> list[str]:
    """Series UIDs of every study with an instance received at or after ``since``.

    The whole study, not only the series that received: a series waiting for another one of its study
    (a pipeline reading two series) must be judged again while the other is still arriving.
    """
    studies = select(Instance.study_uid).where(Instance.received_at >= since).distinct()
    query = select(Instance.series_uid).where(Instance.study_uid.in_(studies)).distinct()
    return list(session.scalars(query))


def study_series(session: Session, study_uid: str) -> list[tuple[str, int]]:
    """(Series Instance UID, highest ``instances.id``) of every series of a study, in arrival order."""
    rows = session.execute(
        select(Instance.series_uid, func.max(Instance.id))
        .where(Instance.study_uid == study_uid)
        .group_by(Instance.series_uid)
        .order_by(func.min(Instance.id))
    )
    return [(uid, int(max_id)) for uid, max_id in rows]


def pending_series(
    session: Session, series_uids: Collection[str] | None = None, *, include_covered: bool = False
) -> list[SeriesActivity]:
    """Series with instances their latest job does not cover; ``None`` scans every series.

    ``include_covered`` returns the activity of covered series too (one judged again because another series
    of its study completed its input set, :mod:`dicomnode.assembly.assembler`).
    """
    stats = select(
        Instance.series_uid,
        func.min(Instance.study_uid),
        func.count(),
        func.max(Instance.id),
        func.max(Instance.received_at),
    ).group_by(Instance.series_uid)
    latest_version = (
        select(Job.series_uid, func.max(Job.version).label("version")).group_by(Job.series_uid).subquery()
    )
    latest = select(Job).join(
        latest_version, (Job.series_uid == latest_version.c.series_uid) & (Job.version == latest_version.c.version)
    )
    if series_uids is not None:
        if not series_uids:
            return []
        stats = stats.where(Instance.series_uid.in_(list(series_uids)))
        latest = latest.where(Job.series_uid.in_(list(series_uids)))
    jobs = {job.series_uid: job for job in session.scalars(latest.order_by(Job.id))}  # ties: the newest, as latest_job
    uncovered = []
    for series_uid, study_uid, count, max_id, last_at in session.execute(stats):
        job = jobs.get(series_uid)
        if not include_covered and job is not None and (job.instance_count, job.max_instance_id) == (count, max_id):
            continue
        uncovered.append((series_uid, study_uid, count, max_id, last_at, job))
    carriers = _carriers(session, {uid: job.max_instance_id if job else 0 for uid, *_, job in uncovered})
    return [
        SeriesActivity(
            study_uid=study_uid,
            series_uid=series_uid,
            instance_count=int(count),
            max_instance_id=int(max_id),
            last_received_at=_aware(last_at),
            latest_job_id=job.id if job else None,
            latest_version=job.version if job else 0,
            carriers=carriers[series_uid][0],
            unknown_carrier=carriers[series_uid][1],
        )
        for series_uid, study_uid, count, max_id, last_at, job in uncovered
    ]


def _carriers(
    session: Session, after_ids: dict[str, int]
) -> dict[str, tuple[tuple[CarrierState, ...], bool]]:
    """Per series (its UID -> the highest instance id its latest job covers): the associations that carried
    its instances above that id, by their last such instance, and whether one of those has no association.

    Two queries for every 500 series together (one pair per series cost the assembly pass most of its
    time while instances arrive): the highest instance id per (series, association) is above
    ``after_id`` exactly when the association carried an instance above it, and is then its last one.
    """
    uids = list(after_ids)
    carried: dict[str, dict[int | None, int]] = {series_uid: {} for series_uid in uids}
    for start in range(0, len(uids), IN_CHUNK):
        rows = session.execute(
            select(Instance.series_uid, Instance.association_id, func.max(Instance.id))
            .where(Instance.series_uid.in_(uids[start : start + IN_CHUNK]))
            .group_by(Instance.series_uid, Instance.association_id)
        )
        for series_uid, assoc_id, last in rows:
            if last > after_ids[series_uid]:
                carried[series_uid][assoc_id] = int(last)
    wanted = sorted({assoc_id for ids in carried.values() for assoc_id in ids if assoc_id is not None})
    associations = {
        association.id: association
        for start in range(0, len(wanted), IN_CHUNK)
        for association in session.scalars(select(Association).where(Association.id.in_(wanted[start : start + IN_CHUNK])))
    }
    result = {}
    for series_uid, ids in carried.items():
        states = [CarrierState(a.id, a.outcome, a.ended_at, last)
                  for assoc_id, last in ids.items() if assoc_id is not None and (a := associations.get(assoc_id))]
        result[series_uid] = (tuple(sorted(states, key=lambda c: c.last_instance_id)), None in ids)
    return result


def series_instances(session: Session, series_uid: str, max_instance_id: int) -> list[InstanceRef]:
    """The instances of a series in a job's snapshot (``instances.id <= max_instance_id``), in arrival order."""
    rows = session.execute(
        select(Instance.sop_instance_uid, Instance.path)
        .where(Instance.series_uid == series_uid, Instance.id <= max_instance_id)
        .order_by(Instance.id)
    )
    return [InstanceRef(uid, path) for uid, path in rows]


def series_snapshot(session: Session, series_uid: str) -> tuple[int, int]:
    """(instance count, highest instance id) of a series as stored now."""
    count, max_id = session.execute(
        select(func.count(), func.coalesce(func.max(Instance.id), 0)).where(Instance.series_uid == series_uid)
    ).one()
    return int(count), int(max_id)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)

