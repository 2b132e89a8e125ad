"""``GET /health``: is the node able to do its work? HTTP 200 when every check passes, else 503.

Checks: the database answers ``SELECT 1``; the storage SCP listens; the analysis workers the
configuration asks for are alive; the storage folder's file system has ``admin.disk_min_free_mb`` free.
A check the process cannot know (the app run without a node) is reported as ``null`` and does not fail.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from dicomnode import __version__
from dicomnode.admin.common import config_of, sessions_of, status_of

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


def _database(request: Request) -> dict[str, Any]:
    try:
        with sessions_of(request)() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("health: database unreachable: %s", exc)
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


def _disk(path: Path, min_free_mb: int) -> dict[str, Any]:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        usage = shutil.disk_usage(probe)
    except OSError as exc:
        return {"ok": False, "error": str(exc)}
    free_mb = usage.free // (1024 * 1024)
    return {"ok": free_mb >= min_free_mb, "free_mb": free_mb, "total_mb": usage.total // (1024 * 1024),
            "min_free_mb": min_free_mb}


def _workers(alive: int | None, expected: int | None) -> dict[str, Any]:
    if alive is None:
        return {"ok": None, "alive": None, "expected": expected}
    return {"ok": alive >= (expected or 0), "alive": alive, "expected": expected}


@router.get("/health", summary="Database, SCP, workers and disk space")
def health(request: Request) -> JSONResponse:
    """Each check with ``ok`` true, false, or null (not known to this process); 503 if any is false."""
    config = config_of(request)
    status = status_of(request)
    checks = {
        "database": _database(request),
        "scp": {"ok": status.scp_listening, "port": config.node.port},
        "workers": _workers(status.workers_alive, status.workers_expected),
        "disk": _disk(Path(config.node.storage_dir), config.admin.disk_min_free_mb),
    }
    healthy = all(check["ok"] is not False for check in checks.values())
    body = {"status": "ok" if healthy else "failing", "version": __version__, "checks": checks}
    return JSONResponse(body, status_code=200 if healthy else 503)
