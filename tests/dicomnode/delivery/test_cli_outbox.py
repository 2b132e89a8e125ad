"""``dicomnode outbox list|resend ID``."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from click.testing import CliRunner
from pydicom.dataset import Dataset
from sqlalchemy import select

from db.engine import make_engine, make_sessionmaker
from db.migrate import upgrade
from db.models import AuditEvent
from db.outbox import DEAD, OutboxEntry, record_failure
from dicomnode.cli import main
from dicomnode.config import Destination
from dicomnode.delivery import enqueue, write_results


def test_list_and_resend(tmp_path: Path, sqlite_url: str, results: list[Dataset]) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        rows = enqueue(session, write_results(tmp_path / "results", results[:2]),
                       [Destination(name="pacs", ae_title="PACS", host="127.0.0.1", port=104)])
        record_failure(rows[0], "no-association", "refused", None, datetime.now(timezone.utc))
    first_id = rows[0].id
    config = tmp_path / "node.toml"
    config.write_text(f'[database]\nurl = "{sqlite_url}"\n', encoding="utf-8")
    runner = CliRunner()

    listed = runner.invoke(main, ["outbox", "list", "--config", str(config), "--format", "json"])
    assert listed.exit_code == 0, listed.output
    states = {row["id"]: row["state"] for row in json.loads(listed.output)}
    assert states[first_id] == DEAD and len(states) == 2
    table = runner.invoke(main, ["outbox", "list", "--config", str(config), "--state", "dead"])
    assert table.exit_code == 0 and "no-association" in table.output and len(table.output.splitlines()) == 2

    resent = runner.invoke(main, ["outbox", "resend", str(first_id), "--config", str(config)])
    assert resent.exit_code == 0, resent.output
    with sessions() as session:
        assert session.get(OutboxEntry, first_id).state == "pending"
        audit = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "requeued")).one()
        assert audit.event_type == "delivery" and audit.detail["outbox_id"] == first_id
    missing = runner.invoke(main, ["outbox", "resend", "424242", "--config", str(config)])
    assert missing.exit_code != 0 and "no outbox entry" in missing.output
    engine.dispose()
