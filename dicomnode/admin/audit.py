"""``GET /api/audit``: the audit log with the filters of ``dicomnode audit``, cursor pagination and CSV.

Rows come newest first (``at`` desc, ``id`` desc). A page of JSON is ``{"items": [...], "next_cursor": c}``;
pass ``cursor=c`` for the next (older) page; ``next_cursor`` is null on the last page. The cursor is the
sort key of the last row, so rows arriving meanwhile never shift a page. With ``Accept: text/csv`` the same
page comes as CSV (the columns of ``dicomnode audit --format csv``) and the next cursor in the ``Link``
(``rel="next"``) and ``X-Next-Cursor`` headers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import and_, or_

from db.audit import EVENT_TYPES, OUTCOMES, AuditFilter, filtered_query
from db.models import AuditEvent
from dicomnode.admin.common import (
    MAX_LIMIT,
    as_utc,
    decode_cursor,
    encode_cursor,
    parse_cursor_time,
    sessions_of,
)
from dicomnode.cli.audit import COLUMNS
from dicomnode.records import event_as_dict, utc_iso
from dicomnode.rendering import render_csv

router = APIRouter(prefix="/api", tags=["audit"])


def _check_choice(name: str, value: str | None, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        raise HTTPException(422, f"{name}: {value!r} is not one of {', '.join(choices)}")


def wants_csv(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/csv" in accept.lower()


def audit_page(request: Request, flt: AuditFilter, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of rows matching ``flt`` after ``cursor``, and the cursor of the next page."""
    query = filtered_query(AuditFilter(**{**flt.__dict__, "limit": flt.limit + 1}))
    if cursor:
        at_text, last_id = decode_cursor(cursor, 2)
        at = parse_cursor_time(at_text)
        if not isinstance(last_id, int):
            raise HTTPException(400, "cursor: not a cursor returned by this API")
        query = query.where(or_(AuditEvent.at < at, and_(AuditEvent.at == at, AuditEvent.id < last_id)))
    with sessions_of(request)() as session:
        events = session.scalars(query).all()
        rows = [event_as_dict(e) for e in events[: flt.limit]]
        more = len(events) > flt.limit
        next_cursor = encode_cursor(utc_iso(events[flt.limit - 1].at), events[flt.limit - 1].id) if more else None
    return rows, next_cursor


@router.get("/audit", summary="Search the audit log (filters of `dicomnode audit`)")
def list_audit(
    request: Request,
    since: Annotated[datetime | None, Query(description="events at or after (ISO 8601; UTC if no zone)")] = None,
    until: Annotated[datetime | None, Query(description="events before (ISO 8601; UTC if no zone)")] = None,
    event: Annotated[str | None, Query(description=f"event type: {', '.join(EVENT_TYPES)}")] = None,
    calling_ae: Annotated[str | None, Query(description="calling AE title")] = None,
    study: Annotated[str | None, Query(description="Study Instance UID")] = None,
    outcome: Annotated[str | None, Query(description=f"outcome: {', '.join(OUTCOMES)}")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> Response:
    """Newest first; JSON ``{"items", "next_cursor"}`` or, with ``Accept: text/csv``, CSV."""
    _check_choice("event", event, EVENT_TYPES)
    _check_choice("outcome", outcome, OUTCOMES)
    flt = AuditFilter(since=as_utc(since), until=as_utc(until), event_type=event or None,
                      calling_ae=calling_ae or None, study_uid=study or None, outcome=outcome or None, limit=limit)
    rows, next_cursor = audit_page(request, flt, cursor)
    if not wants_csv(request):
        return JSONResponse({"items": rows, "next_cursor": next_cursor, "limit": limit})
    headers = {"Content-Disposition": 'attachment; filename="audit.csv"'}
    if next_cursor:
        params = {k: v for k, v in request.query_params.items() if k != "cursor"}
        link = f"{request.url.path}?{urlencode({**params, 'cursor': next_cursor})}"
        headers.update({"Link": f'<{link}>; rel="next"', "X-Next-Cursor": next_cursor})
    return Response(render_csv(rows, COLUMNS) + "\n", media_type="text/csv; charset=utf-8", headers=headers)
