"""``GET /api/outbox`` and ``POST /api/outbox/{id}/resend``: deliveries of results to the destinations.

PLACEHOLDER until :mod:`db.outbox` lands: the list answers 503 and the metrics leave the family out.
"""

from __future__ import annotations

import importlib
import logging
from types import ModuleType
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["outbox"])


def _module() -> ModuleType | None:
    try:
        return importlib.import_module("db.outbox")
    except ImportError:
        return None


def count_by_state(session: Session) -> dict[str, int] | None:
    """Outbox entries per state, or None when this version has no outbox."""
    return None


@router.get("/outbox", summary="Result deliveries, newest first")
def list_outbox(request: Request) -> dict[str, Any]:
    raise HTTPException(503, "the outbox is not available in this version")


@router.post("/outbox/{entry_id}/resend", summary="Send a delivery again")
def resend(request: Request, entry_id: int) -> dict[str, Any]:
    raise HTTPException(503, "the outbox is not available in this version")
