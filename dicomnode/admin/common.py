"""Helpers shared by the admin routes: the app's state, opaque cursors, pages by id."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from fastapi import HTTPException, Request
from sqlalchemy import Select
from sqlalchemy.orm import Session, sessionmaker

from dicomnode.admin.status import NodeStatus, StatusProvider
from dicomnode.config import Config

MAX_LIMIT = 10_000


def sessions_of(request: Request) -> sessionmaker[Session]:
    sessions: sessionmaker[Session] = request.app.state.sessions
    return sessions


def config_of(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


def status_of(request: Request) -> NodeStatus:
    provider: StatusProvider = request.app.state.status_provider
    return provider()


def client_host(request: Request) -> str:
    return request.client.host if request.client else ""


def as_utc(value: datetime | None) -> datetime | None:
    """A query-string time: without a zone it is taken as UTC (as ``dicomnode audit`` does)."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def encode_cursor(*parts: Any) -> str:
    """An opaque cursor: the sort key of the last row of a page, as URL-safe base64 JSON."""
    raw = json.dumps(list(parts), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    """The parts of a cursor made by :func:`encode_cursor`; HTTP 400 if it was not made here."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise HTTPException(400, "cursor: not a cursor returned by this API") from exc
    if not isinstance(parts, list) or len(parts) != arity:
        raise HTTPException(400, "cursor: not a cursor returned by this API")
    return parts


def parse_cursor_time(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise HTTPException(400, "cursor: not a cursor returned by this API") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def page_by_id(
    request: Request, query: Select[Any], id_column: Any, limit: int, cursor: str | None,
    view: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """One page of ``query``, newest id first: ``{"items": [...], "next_cursor": c, "limit": n}``."""
    query = query.order_by(id_column.desc()).limit(limit + 1)
    if cursor:
        (last_id,) = decode_cursor(cursor, 1)
        query = query.where(id_column < int(last_id))
    with sessions_of(request)() as session:
        rows = session.scalars(query).all()
        items = [view(row) for row in rows[:limit]]
    next_cursor = encode_cursor(items[-1]["id"]) if len(rows) > limit else None
    return {"items": items, "next_cursor": next_cursor, "limit": limit}
