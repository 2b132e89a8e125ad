"""Admin HTTP API and web page (issue 7), served by ``dicomnode serve`` on ``admin.host:admin.port``.

Modules, one concern each::

    app.py      create_app(config, sessions, status_provider): the FastAPI application
    auth.py     who may call what (bearer token, loopback rule, CSRF/Host checks); failures audited
    health.py   GET /health
    metrics.py  GET /metrics (Prometheus text format, computed from the database at scrape time)
    audit.py    GET /api/audit (filters of ``dicomnode audit``, cursor pagination, text/csv)
    studies.py  GET /api/studies (received studies with their analysis result)
    results.py  reading a result (ICH, probabilities) and its SR/SC files; GET /api/studies/{uid}/objects/{sop}
    jobs.py     GET /api/jobs, POST /api/jobs/{id}/retry
    outbox.py   GET /api/outbox, POST /api/outbox/{id}/resend
    pages.py    GET / (the page) and /static/* (its script and style, all in the package)
    server.py   AdminServer: uvicorn in a background thread, started and stopped by the Node
    common.py   cursors, time formatting, access to the app's state
"""

from __future__ import annotations

from dicomnode.admin.app import create_app
from dicomnode.admin.server import AdminServer
from dicomnode.admin.status import NodeStatus

__all__ = ["AdminServer", "NodeStatus", "create_app"]
