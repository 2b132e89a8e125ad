"""Who may call the admin API: the bearer-token rule, the loopback rule, and the audit of every refusal.

Rules (the admin's contract, also in the README):

1. A request from a non-loopback address needs ``Authorization: Bearer <admin.token>``.
2. With a token configured, every POST needs it, from loopback too.
3. With no token configured the server binds to loopback only (:mod:`dicomnode.admin.server` refuses to
   start on another address), so POSTs from loopback are allowed without a token; they must carry the
   header ``X-Requested-By`` (any value) and, when the browser sends ``Origin``, come from the page's own
   origin. A cross-site page cannot set that header without a CORS pre-flight, which this app never
   grants, so another web site open in the admin's browser cannot press "retry" (CSRF).
4. A request authorised only by coming from loopback must name a loopback host in ``Host`` (defeats DNS
   rebinding: a foreign site re-pointed at 127.0.0.1 sends its own name).
5. The page shell (``GET /``) and its static files carry no data and are served to anyone, so a browser
   on another machine can load the page and then enter the token; every data request still needs it.

The token is compared in constant time (:func:`hmac.compare_digest`). Every refusal (HTTP 401 or 403) is
an audit event of type ``security`` (IHE ATNA Security Alert, PS3.15 A.5.3.11), without the token given;
every POST that passes is an audit event of type ``admin`` with the response status as its outcome.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from db.audit import record_event
from dicomnode.admin.common import client_host

log = logging.getLogger(__name__)

CSRF_HEADER = "X-Requested-By"
PUBLIC_PREFIXES = ("/static/",)
PUBLIC_PATHS = frozenset({"/", "/favicon.ico"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})

#: Documents the scheme in the OpenAPI schema; the middleware below does the checking.
bearer_scheme = HTTPBearer(auto_error=False, description="admin.token; required off loopback and for POST")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ``::1``, IPv4-mapped loopback and the name ``localhost``."""
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def host_header_name(value: str) -> str:
    """The host part of a ``Host`` header (``[::1]:8080`` -> ``::1``, ``localhost:80`` -> ``localhost``)."""
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def token_matches(given: str, expected: str) -> bool:
    """Constant-time comparison; an empty configured token never matches."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True)
class Decision:
    allowed: bool
    status: int = 200
    reason: str = ""
    authenticated: bool = False


def decide(
    *,
    method: str,
    path: str,
    client: str,
    host_header: str,
    authorization: str | None,
    csrf_header: str | None,
    origin: str | None,
    token: str,
) -> Decision:
    """Apply the rules of this module's docstring to one request (pure; unit-tested on its own)."""
    if method in SAFE_METHODS and (path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)):
        return Decision(True)
    if authorization is not None:
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return Decision(False, 401, "malformed Authorization header (expected: Bearer <token>)")
        if not token:
            return Decision(False, 401, "no admin.token is configured; bearer tokens are not accepted")
        if token_matches(given.strip(), token):
            return Decision(True, authenticated=True)
        return Decision(False, 401, "wrong bearer token")
    if not is_loopback(client):
        return Decision(False, 401, "bearer token required for requests not from loopback")
    if token and method not in SAFE_METHODS:
        return Decision(False, 401, f"bearer token required for {method}")
    if not is_loopback(host_header_name(host_header)):
        return Decision(False, 403, f"Host {host_header!r} is not a loopback name; use a bearer token")
    if method not in SAFE_METHODS:
        if not csrf_header:
            return Decision(False, 403, f"{method} without a token needs the header {CSRF_HEADER}")
        if origin and not _same_origin(origin, host_header):
            return Decision(False, 403, f"cross-origin {method} refused (Origin {origin!r})")
    return Decision(True)


def _same_origin(origin: str, host_header: str) -> bool:
    return origin.split("://", 1)[-1].rstrip("/").lower() == host_header.lower()


def record_refusal(sessions: sessionmaker[Session], request: Request, decision: Decision) -> None:
    """Audit one refused request (a Security Alert, PS3.15 A.5.3.11); never raises."""
    client = client_host(request)
    detail = {"source": "admin-api", "method": request.method, "path": request.url.path,
              "reason": decision.reason, "status": decision.status}
    try:
        with sessions.begin() as session:
            record_event(session, "security", "rejected",
                         f"admin API refused {request.method} {request.url.path}: {decision.reason}",
                         actor_host=client[:64], detail=detail)
    except SQLAlchemyError as exc:
        log.error("could not audit a refused admin request from %s: %s", client, exc)


class AuthMiddleware(BaseHTTPMiddleware):
    """Apply :func:`decide` before any route runs; refusals get 401/403 JSON and an audit row."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        state = request.app.state
        decision = decide(
            method=request.method,
            path=request.url.path,
            client=client_host(request),
            host_header=request.headers.get("host", ""),
            authorization=request.headers.get("authorization"),
            csrf_header=request.headers.get(CSRF_HEADER),
            origin=request.headers.get("origin"),
            token=state.config.admin.token,
        )
        if not decision.allowed:
            log.warning("admin API refused %s %s from %s: %s", request.method, request.url.path,
                        client_host(request), decision.reason)
            await run_in_threadpool(record_refusal, state.sessions, request, decision)
            headers = {"WWW-Authenticate": 'Bearer realm="dicomnode"'} if decision.status == 401 else {}
            return JSONResponse({"detail": decision.reason}, status_code=decision.status, headers=headers)
        request.state.authenticated = decision.authenticated
        response = await call_next(request)
        if request.method not in SAFE_METHODS:
            await run_in_threadpool(record_action, state.sessions, request, response.status_code)
        return response


def record_action(sessions: sessionmaker[Session], request: Request, status: int) -> None:
    """Audit one POST (event type ``admin``); routes add ``request.state.audit`` (message, UIDs, detail)."""
    extra: dict[str, Any] = dict(getattr(request.state, "audit", None) or {})
    message = extra.pop("message", "")
    detail = {"method": request.method, "path": request.url.path, "status": status,
              "authenticated": bool(getattr(request.state, "authenticated", False)), **extra.pop("detail", {})}
    outcome = "success" if status < 400 else "failure"
    text = f"admin API {request.method} {request.url.path} -> {status}" + (f": {message}" if message else "")
    try:
        with sessions.begin() as session:
            record_event(session, "admin", outcome, text, actor_host=client_host(request)[:64], detail=detail,
                         **extra)
    except SQLAlchemyError as exc:
        log.error("could not audit admin action %s %s: %s", request.method, request.url.path, exc)
