"""``GET /api/studies``: the studies received, newest first, each with its analysis result.

A study is what ``instances`` holds for one Study Instance UID: counts, series, modalities, sending AE
titles, first and last arrival. Its result comes from its analysis jobs (:mod:`db.jobs`), one block per
pipeline under ``pipelines`` (the newest job's state, and once one succeeded, positive yes/no, a headline,
the probabilities); the top-level fields repeat the hemorrhage block (or, in a study without one, the
first pipeline's), as before pipelines existed. The result objects (SR, SEG, SC) of every pipeline are
listed with links to fetch them. A study with no job is ``"not analysed"``. No patient name or ID is ever
read or shown: the node identifies studies by UID only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from db.jobs import DEFAULT_PIPELINE, NO_PIPELINE, SUCCEEDED, Job
from db.models import Association, Instance
from dicomnode.admin.common import (
    MAX_LIMIT,
    config_of,
    decode_cursor,
    encode_cursor,
    parse_cursor_time,
    sessions_of,
)
from dicomnode.admin.results import study_objects, summarise_result
from dicomnode.records import utc_iso

router = APIRouter(prefix="/api", tags=["studies"])
NOT_ANALYSED = "not analysed"


def _study_rows(session: Session, limit: int, cursor: str | None, study: str | None) -> Sequence[Any]:
    last_at = func.max(Instance.received_at)
    query = (
        select(
            Instance.study_uid,
            func.count().label("instances"),
            func.count(func.distinct(Instance.series_uid)).label("series"),
            func.min(Instance.received_at).label("first_received"),
            last_at.label("last_received"),
            func.coalesce(func.sum(Instance.size), 0).label("bytes"),
        )
        .group_by(Instance.study_uid)
        .order_by(last_at.desc(), Instance.study_uid.desc())
        .limit(limit + 1)
    )
    if study:
        query = query.where(Instance.study_uid == study)
    if cursor:
        at_text, uid = decode_cursor(cursor, 2)
        at = parse_cursor_time(at_text)
        query = query.having(or_(last_at < at, and_(last_at == at, Instance.study_uid < str(uid))))
    return session.execute(query).all()


def _pairs(session: Session, query: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for uid, value in session.execute(query):
        if value:
            out.setdefault(uid, []).append(value)
    return {uid: sorted(values) for uid, values in out.items()}


def _jobs_by_study(session: Session, uids: list[str]) -> dict[str, list[Job]]:
    jobs: dict[str, list[Job]] = {}
    for job in session.scalars(select(Job).where(Job.study_uid.in_(uids)).order_by(Job.id.desc())):
        jobs.setdefault(job.study_uid, []).append(job)
    return jobs


def pipeline_result(jobs: list[Job]) -> dict[str, Any]:
    """The result block of one pipeline from its jobs of the study (newest first, at least one)."""
    newest = jobs[0]
    done = next((j for j in jobs if j.state == SUCCEEDED and j.superseded_by is None), None)
    done = done or next((j for j in jobs if j.state == SUCCEEDED), None)
    return {
        "state": newest.state,
        "job_id": newest.id,
        "result_job_id": done.id if done else None,
        "reason": newest.reason or newest.error,
        "finished_at": utc_iso(done.finished_at) if done else None,
        **summarise_result(done.result if done else None, newest.pipeline),
    }


def study_result(jobs: list[Job], objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The result block of one study from its jobs (newest first) and its kept result objects."""
    by_pipeline: dict[str, list[Job]] = {}
    for job in jobs:
        by_pipeline.setdefault(job.pipeline, []).append(job)
    blocks = {name: pipeline_result(group) for name, group in by_pipeline.items() if name != NO_PIPELINE}
    if not blocks:
        reason = by_pipeline[NO_PIPELINE][0].reason if NO_PIPELINE in by_pipeline else None
        return {"state": NOT_ANALYSED, "job_id": None, "result_job_id": None, "reason": reason, "finished_at": None,
                **summarise_result(None), "objects": objects, "pipelines": {}}
    main = blocks.get(DEFAULT_PIPELINE) or next(iter(blocks.values()))
    return {**main, "objects": objects, "pipelines": blocks}


@router.get("/studies", summary="Received studies with their analysis result")
def list_studies(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    study: Annotated[str | None, Query(description="only this Study Instance UID")] = None,
) -> dict[str, Any]:
    """Newest arrival first: ``{"items": [...], "next_cursor": c}``."""
    results_dir = Path(config_of(request).results.dir)
    with sessions_of(request)() as session:
        rows = _study_rows(session, limit, cursor, study)
        page = rows[:limit]
        uids = [row.study_uid for row in page]
        modalities = _pairs(session, select(Instance.study_uid, Instance.modality).distinct()
                            .where(Instance.study_uid.in_(uids)))
        callers = _pairs(session, select(Instance.study_uid, Association.calling_ae).distinct()
                         .join(Association, Association.id == Instance.association_id)
                         .where(Instance.study_uid.in_(uids)))
        jobs = _jobs_by_study(session, uids)
        items = [
            {
                "study_uid": row.study_uid,
                "instances": row.instances,
                "series": row.series,
                "modalities": modalities.get(row.study_uid, []),
                "calling_aes": callers.get(row.study_uid, []),
                "first_received": utc_iso(row.first_received),
                "last_received": utc_iso(row.last_received),
                "bytes": int(row.bytes),
                "result": study_result(jobs.get(row.study_uid, []), []),
            }
            for row in page
        ]
    for item in items:  # file reads after the session is closed (on SQLite it holds the write lock)
        item["result"]["objects"] = study_objects(results_dir, item["study_uid"])
    next_cursor = None
    if len(rows) > limit:
        last: datetime = page[-1].last_received
        next_cursor = encode_cursor(utc_iso(last), page[-1].study_uid)
    return {"items": items, "next_cursor": next_cursor, "limit": limit}


@router.get("/studies/{study_uid}", summary="One received study with its result")
def get_study(request: Request, study_uid: str) -> dict[str, Any]:
    page = list_studies(request, limit=1, cursor=None, study=study_uid)
    if not page["items"]:
        raise HTTPException(404, f"study {study_uid} has not been received")
    study: dict[str, Any] = page["items"][0]
    return study
