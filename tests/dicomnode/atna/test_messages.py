"""DICOM audit messages (PS3.15 A.5): every builder and every mapped row validates against the schema."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from db.engine import make_engine, make_sessionmaker
from db.migrate import upgrade
from dicomnode.atna import codes
from dicomnode.atna import messages as m
from dicomnode.atna.mapping import AtnaMapper
from dicomnode.atna.validate import errors
from dicomnode.cli import main
from dicomnode.config import Config
from tests.dicomnode.admin.seed import CT, STUDY_1, seed

AT = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
SOURCE = m.AuditSource("DICOMNODE", "HOSPITAL")
NODE = m.Participant("DICOMNODE", False, (codes.DESTINATION_ROLE,), ("DICOMNODE",), host="127.0.0.1")
SCANNER = m.Participant("CT01", True, (codes.SOURCE_ROLE,), ("CT01",), host="10.0.0.5")
STUDY = m.StudyObject("1.2.3.4", {CT: 40})


def event_id(message: etree._Element) -> str:
    return str(message.find("EventIdentification/EventID").get("csd-code"))


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (m.application_activity(SOURCE, AT, m.Participant("DICOMNODE", False, (codes.APPLICATION,)), started=True),
         "110100"),
        (m.begin_transferring(SOURCE, AT, NODE, SCANNER, [STUDY]), "110102"),
        (m.instances_transferred(SOURCE, AT, SCANNER, NODE, [STUDY], action="C"), "110104"),
        (m.security_alert(SOURCE, AT, codes.NODE_AUTHENTICATION, NODE, performer=SCANNER, description="refused",
                          subject="10.0.0.5"), "110113"),
        (m.query(SOURCE, AT, SCANNER, NODE, sop_class_uid="1.2.840.10008.5.1.4.1.2.2.1", query_dataset=b"\x08\x00"),
         "110112"),
    ],
)
def test_builders_validate(message: etree._Element, expected: str) -> None:
    assert errors(message) == []
    assert event_id(message) == expected
    assert errors(m.to_bytes(message)) == []  # also as bytes with the XML declaration


def test_schema_rejects_what_the_standard_forbids() -> None:
    good = m.instances_transferred(SOURCE, AT, SCANNER, NODE, [STUDY], action="C")
    no_participant = etree.fromstring(m.to_bytes(good))
    for element in no_participant.findall("ActiveParticipant"):
        no_participant.remove(element)
    bad_outcome = etree.fromstring(m.to_bytes(good))
    bad_outcome.find("EventIdentification").set("EventOutcomeIndicator", "3")
    swapped = etree.fromstring(m.to_bytes(good))
    source = swapped.find("AuditSourceIdentification")
    swapped.remove(source)
    swapped.insert(0, source)
    no_code = etree.fromstring(m.to_bytes(good))
    del no_code.find("EventIdentification/EventID").attrib["csd-code"]
    for broken in (no_participant, bad_outcome, swapped, no_code):
        assert errors(broken)
    with pytest.raises(ValueError, match="C, R or U"):
        m.instances_transferred(SOURCE, AT, SCANNER, NODE, [STUDY], action="E")


def row(event_type: str, outcome: str, message: str = "", **fields: object) -> dict[str, object]:
    return {"id": 1, "at": "2026-03-01T08:00:00Z", "event_type": event_type, "outcome": outcome, "message": message,
            "actor_ae": None, "actor_host": None, "study_uid": None, "series_uid": None, "sop_instance_uid": None,
            "association_id": None, "detail": {}, **fields}


@pytest.mark.parametrize(
    ("audit_row", "expected"),
    [
        (row("node", "success", "node DICOMNODE started"), ("110100", "110120", "0")),
        (row("node", "success", "node DICOMNODE stopped"), ("110100", "110121", "0")),
        (row("instances-received", "success", actor_ae="CT01", actor_host="10.0.0.5", study_uid="1.2.3"),
         ("110104", None, "0")),
        (row("store", "failure", "cannot parse", actor_ae="CT01", actor_host="10.0.0.5"), ("110104", None, "8")),
        (row("security", "rejected", "unknown caller EVIL", actor_ae="EVIL", actor_host="10.9.9.9"),
         ("110113", "110126", "4")),
        (row("security", "rejected", "wrong token", actor_host="10.9.9.9",
             detail={"source": "admin-api", "path": "/api/jobs/1/retry"}), ("110113", "110132", "4")),
        (row("admin", "success", "retry job 1", actor_host="127.0.0.1", detail={"path": "/api/jobs/1/retry"}),
         ("110113", "110132", "0")),
        (row("delivery", "queued", study_uid="1.2.3", detail={"destinations": ["pacs"]}), ("110102", None, "0")),
        (row("delivery", "success", actor_ae="PACS", actor_host="10.0.0.7", study_uid="1.2.3"), ("110104", None, "0")),
        (row("delivery", "failure", "refused", actor_ae="PACS", actor_host="10.0.0.7", study_uid="1.2.3"),
         ("110104", None, "8")),
        (row("query", "success", actor_ae="WS1", detail={"query": "CAA="}), ("110112", None, "0")),
        (row("job", "failure"), None),
        (row("series-ready", "success"), None),
        (row("store", "duplicate"), None),
        (row("delivery", "requeued"), None),
    ],
)
def test_mapping(audit_row: dict[str, object], expected: tuple[str, str | None, str] | None) -> None:
    message = AtnaMapper(Config()).message(audit_row)
    if expected is None:
        assert message is None
        return
    assert message is not None and errors(message) == []
    event = message.find("EventIdentification")
    type_code = event.find("EventTypeCode")
    assert (event_id(message), None if type_code is None else type_code.get("csd-code"),
            event.get("EventOutcomeIndicator")) == expected


def test_cli_format_atna(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'node.db'}"
    engine = make_engine(url)
    upgrade(engine)
    seed(make_sessionmaker(engine), tmp_path / "results")
    engine.dispose()
    config = tmp_path / "node.toml"
    config.write_text(f'[database]\nurl = "{url}"\n')
    result = CliRunner().invoke(main, ["audit", "--config", str(config), "--format", "atna", "--limit", "1000"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 24 and all(errors(line) == [] for line in lines)
    received = [etree.fromstring(line) for line in lines if 'csd-code="110104"' in line and "CT01" in line]
    assert len(received) == 12
    study = received[0].find("ParticipantObjectIdentification")
    assert study.get("ParticipantObjectID") == STUDY_1
    assert [(c.get("UID"), c.get("NumberOfInstances")) for c in study.findall("SOPClass")] == [(CT, "3")]
