"""``GET /api/outbox`` and ``POST /api/outbox/{id}/resend``: deliveries of results (:mod:`db.outbox`).

The list is newest first (``id`` desc) with cursor pagination, filtered by ``state``, ``destination`` or
``study``. Resend makes an entry pending and due now through :func:`db.outbox.resend` and writes the
``delivery requeued`` audit row in the same transaction (as ``dicomnode outbox resend`` does, with
``detail.via = "admin-api"``); the admin middleware adds the ``admin`` row naming the caller.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.outbox import STATES, OutboxEntry
from dicomnode.admin.common import MAX_LIMIT, page_by_id, sessions_of
from dicomnode.admin.results import kind_of
from dicomnode.delivery import resend_by_operator
from dicomnode.records import outbox_entry_as_dict, utc_iso

router = APIRouter(prefix="/api", tags=["outbox"])


def entry_view(entry: OutboxEntry) -> dict[str, Any]:
    """An outbox entry as the API shows it: the record, its kind (SR/SC) and when it last changed."""
    return {
        **outbox_entry_as_dict(entry),
        "kind": kind_of(entry.sop_class_uid),
        "updated_at": utc_iso(entry.sent_at or entry.last_attempt_at or entry.queued_at),
    }


def count_by_state(session: Session) -> dict[str, int] | None:
    """Outbox entries per state (every state present, zero included)."""
    counts = {state: 0 for state in STATES}
    for state, count in session.execute(select(OutboxEntry.state, func.count()).group_by(OutboxEntry.state)):
        counts[state] = int(count)
    return counts


@router.get("/outbox", summary="Result deliveries, newest first")
def list_outbox(
    request: Request,
    state: Annotated[str | None, Query(description=f"one of {', '.join(STATES)}")] = None,
    destination: Annotated[str | None, Query(description="[[destinations]] name")] = None,
    study: Annotated[str | None, Query(description="Study Instance UID")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    """``{"items": [...], "next_cursor": c}``."""
    if state is not None and state not in STATES:
        raise HTTPException(422, f"state: {state!r} is not one of {', '.join(STATES)}")
    query = select(OutboxEntry)
    if state:
        query = query.where(OutboxEntry.state == state)
    if destination:
        query = query.where(OutboxEntry.destination == destination)
    if study:
        query = query.where(OutboxEntry.study_uid == study)
    return page_by_id(request, query, OutboxEntry.id, limit, cursor, entry_view)


@router.post("/outbox/{entry_id}/resend", summary="Send a delivery again")
def resend_entry(request: Request, entry_id: int) -> dict[str, Any]:
    """Make the entry pending and due now (also a sent or dead one); 404 if unknown."""
    request.state.audit = {"message": f"resend outbox entry {entry_id}", "detail": {"outbox_id": entry_id}}
    with sessions_of(request).begin() as session:
        entry = resend_by_operator(session, entry_id, via="admin-api")
        if entry is None:
            raise HTTPException(404, f"no outbox entry {entry_id}")
        request.state.audit.update(study_uid=entry.study_uid, sop_instance_uid=entry.sop_instance_uid)
        body = entry_view(entry)
    return body
