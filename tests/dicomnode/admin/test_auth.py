"""Authentication rules: the pure decision, requests from other addresses, and the refusal to start."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from db.engine import make_engine, make_sessionmaker
from db.migrate import upgrade
from db.models import AuditEvent
from dicomnode.admin import AdminServer, create_app
from dicomnode.admin.auth import decide, is_loopback, token_matches
from dicomnode.admin.server import check_binding
from dicomnode.config import AdminSection
from dicomnode.errors import StartupError
from tests.dicomnode.admin.conftest import admin_config

TOKEN = "a-long-admin-token-0123456789"
LOCAL = {"client": "127.0.0.1", "host_header": "127.0.0.1:8080", "csrf_header": None, "origin": None}


def check(method: str = "GET", path: str = "/api/jobs", authorization: str | None = None, token: str = "",
          **overrides: str | None) -> tuple[bool, int]:
    decision = decide(method=method, path=path, authorization=authorization, token=token, **{**LOCAL, **overrides})
    return decision.allowed, decision.status


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        # no token configured (the server is loopback-only then)
        ({}, (True, 200)),
        ({"method": "POST", "csrf_header": "x"}, (True, 200)),
        ({"method": "POST"}, (False, 403)),  # CSRF: a plain cross-site form cannot add the header
        ({"method": "POST", "csrf_header": "x", "origin": "http://evil.example"}, (False, 403)),
        ({"method": "POST", "csrf_header": "x", "origin": "http://127.0.0.1:8080"}, (True, 200)),
        ({"host_header": "evil.example:8080"}, (False, 403)),  # DNS rebinding
        ({"client": "10.1.2.3"}, (False, 401)),
        ({"authorization": "Bearer anything"}, (False, 401)),  # no token configured: none accepted
        # a token configured
        ({"token": TOKEN}, (True, 200)),  # loopback GET
        ({"token": TOKEN, "client": "10.1.2.3"}, (False, 401)),
        ({"token": TOKEN, "client": "10.1.2.3", "authorization": f"Bearer {TOKEN}"}, (True, 200)),
        ({"token": TOKEN, "client": "10.1.2.3", "authorization": f"bearer {TOKEN}"}, (True, 200)),
        ({"token": TOKEN, "client": "10.1.2.3", "authorization": "Bearer wrong"}, (False, 401)),
        ({"token": TOKEN, "client": "10.1.2.3", "authorization": f"Basic {TOKEN}"}, (False, 401)),
        ({"token": TOKEN, "method": "POST", "csrf_header": "x"}, (False, 401)),  # POST always needs it
        ({"token": TOKEN, "method": "POST", "authorization": f"Bearer {TOKEN}"}, (True, 200)),
        ({"token": TOKEN, "client": "10.1.2.3", "path": "/"}, (True, 200)),  # the page shell holds no data
        ({"token": TOKEN, "client": "10.1.2.3", "path": "/static/app.js"}, (True, 200)),
        ({"token": TOKEN, "client": "10.1.2.3", "path": "/metrics"}, (False, 401)),
        ({"token": TOKEN, "client": "10.1.2.3", "path": "/health"}, (False, 401)),
        ({"token": TOKEN, "client": "10.1.2.3", "path": "/", "method": "POST"}, (False, 401)),
    ],
)
def test_decide(case: dict[str, str], expected: tuple[bool, int]) -> None:
    assert check(**case) == expected


def test_loopback_and_token_helpers() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"]))
    assert not any(map(is_loopback, ["0.0.0.0", "10.0.0.1", "::", "example.org", ""]))
    assert token_matches(TOKEN, TOKEN) and not token_matches(TOKEN[:-1], TOKEN) and not token_matches("", "")


def test_refuses_non_loopback_without_token(tmp_path: Path) -> None:
    for host in ("0.0.0.0", "::", "192.0.2.1", "admin.example.org"):
        with pytest.raises(StartupError, match=r"admin\.host .* admin\.token"):
            check_binding(AdminSection(host=host, token=""))
    check_binding(AdminSection(host="0.0.0.0", token=TOKEN))
    check_binding(AdminSection(host="localhost"))
    config = admin_config(f"sqlite:///{tmp_path / 'a.db'}", tmp_path, host="0.0.0.0")
    with pytest.raises(StartupError, match="admin.token"):
        AdminServer(config, make_sessionmaker(make_engine(config.database.url))).start()


def test_requests_from_another_address_are_refused_and_audited(tmp_path: Path) -> None:
    """Through the ASGI app with a non-loopback client address (as a remote browser would be)."""
    url = f"sqlite:///{tmp_path / 'a.db'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    app = create_app(admin_config(url, tmp_path, token=TOKEN), sessions)

    async def calls() -> list[int]:
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50123))
        async with httpx.AsyncClient(transport=transport, base_url="http://node.example:8080") as http:
            return [
                (await http.get("/api/audit")).status_code,
                (await http.get("/metrics")).status_code,
                (await http.get("/api/audit", headers={"Authorization": f"Bearer {TOKEN}"})).status_code,
                (await http.get("/")).status_code,
            ]

    assert asyncio.run(calls()) == [401, 401, 200, 200]
    with sessions() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "security")).all()
    assert [(r.actor_host, r.detail["path"]) for r in rows] == [("203.0.113.7", "/api/audit"),
                                                                ("203.0.113.7", "/metrics")]
    engine.dispose()
