"""``create_app(config, sessions, status_provider)``: the admin FastAPI application.

The OpenAPI schema is published at ``/openapi.json``; the interactive docs pages are off because they
load their script from a CDN, and this node fetches nothing from the internet.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Security
from fastapi.responses import Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.middleware.base import RequestResponseEndpoint

from dicomnode import __version__
from dicomnode.admin import (
    audit,
    health,
    jobs,
    metrics,
    outbox,
    pages,
    results,
    studies,
)
from dicomnode.admin.auth import AuthMiddleware, bearer_scheme
from dicomnode.admin.status import StatusProvider, unknown_status
from dicomnode.config import Config

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def create_app(
    config: Config, sessions: sessionmaker[Session], status_provider: StatusProvider | None = None
) -> FastAPI:
    """Build the app over ``sessions``; ``status_provider`` reports the live node (SCP, workers)."""
    app = FastAPI(
        title="dicomnode admin API",
        version=__version__,
        description="Audit log, received studies and their results, analysis jobs and deliveries.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    provider = status_provider or unknown_status
    app.state.config = config
    app.state.sessions = sessions
    app.state.status_provider = provider
    app.state.registry = metrics.make_registry(sessions, provider)
    documented = [Security(bearer_scheme)]
    app.include_router(health.router, dependencies=documented)
    app.include_router(metrics.router, dependencies=documented)
    for module in (audit, studies, results, jobs, outbox):
        app.include_router(module.router, dependencies=documented)
    pages.mount(app)
    app.add_middleware(AuthMiddleware)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers["Content-Security-Policy"] = pages.CSP
        return response

    return app
