"""``GET /api/jobs`` and ``POST /api/jobs/{id}/retry``: the analysis queue (:mod:`db.jobs`).

The list is newest first (``id`` desc) with cursor pagination; ``state`` and ``study`` filter it. Retry
puts a finished job back in the queue through :func:`db.jobs.retry`, which writes the ``job retried``
audit row in the same transaction; the admin middleware adds the ``admin`` row naming the caller
(:mod:`dicomnode.admin.auth`). A job still queued or running, superseded, or skipped by selection (unless
``force=true``) answers 409 with the reason.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from sqlalchemy import select

from db.jobs import STATES, Job, retry
from dicomnode.admin.common import MAX_LIMIT, page_by_id, sessions_of
from dicomnode.admin.results import summarise_result
from dicomnode.records import job_as_dict

router = APIRouter(prefix="/api", tags=["jobs"])


def job_view(job: Job) -> dict[str, Any]:
    """A job as the API shows it: the record, with its result summarised (positive, headline, probabilities)."""
    return {**job_as_dict(job), "result": summarise_result(job.result, job.pipeline)}


@router.get("/jobs", summary="Analysis jobs, newest first")
def list_jobs(
    request: Request,
    state: Annotated[str | None, Query(description=f"one of {', '.join(STATES)}")] = None,
    study: Annotated[str | None, Query(description="Study Instance UID")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    """``{"items": [...], "next_cursor": c}``."""
    if state is not None and state not in STATES:
        raise HTTPException(422, f"state: {state!r} is not one of {', '.join(STATES)}")
    query = select(Job)
    if state:
        query = query.where(Job.state == state)
    if study:
        query = query.where(Job.study_uid == study)
    return page_by_id(request, query, Job.id, limit, cursor, job_view)


@router.get("/jobs/{job_id}", summary="One analysis job")
def get_job(request: Request, job_id: int) -> dict[str, Any]:
    with sessions_of(request)() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id}")
        return job_view(job)


@router.post("/jobs/{job_id}/retry", summary="Queue a finished job again")
def retry_job(request: Request, job_id: int, force: bool = False) -> dict[str, Any]:
    """Queue the job again with fresh attempts; 404 if unknown, 409 if it cannot be retried now."""
    with sessions_of(request)() as session:
        job = session.get(Job, job_id)
        request.state.audit = {"message": f"retry job {job_id}", "detail": {"job_id": job_id, "force": force},
                               **({"study_uid": job.study_uid, "series_uid": job.series_uid} if job else {})}
    try:
        with sessions_of(request).begin() as session:
            job = retry(session, job_id, force=force)
            body = job_view(job)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from exc
    return body
