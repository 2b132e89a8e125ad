"""RFC 5424 syslog forwarding of audit messages over TCP and TLS, with the disk spool."""

from __future__ import annotations

import re
import ssl
from datetime import datetime, timezone
from pathlib import Path

from db.audit import record_event
from db.engine import make_engine, make_sessionmaker
from db.migrate import upgrade
from dicomnode.atna.exporter import AtnaExporter
from dicomnode.atna.syslog import BOM, SyslogSender, format_message, frame
from dicomnode.atna.validate import errors
from dicomnode.config import Config
from tests.dicomnode.atna.listener import Collector, parse_frames
from tests.integration.certificates import make_certificates
from tests.node_process import free_port

XML = b"<AuditMessage/>"
HEADER = re.compile(rb"^<85>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S+ dicomnode \d+ IHE\+RFC-3881 - ")


def test_message_and_frame() -> None:
    at = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
    message = format_message(XML, hostname="node 1", procid="42", at=at)
    assert message == b"<85>1 2026-03-01T08:00:00.000Z node1 dicomnode 42 IHE+RFC-3881 - " + BOM + XML
    assert frame(message) == str(len(message)).encode() + b" " + message
    assert parse_frames(frame(b"a b") + frame(b"cd")) == [b"a b", b"cd"]


def test_tcp_delivery_and_spool_while_down(tmp_path: Path) -> None:
    port = free_port()
    sender = SyslogSender("127.0.0.1", port, tmp_path / "spool", timeout=2)
    first, second = format_message(b"<one/>", hostname="n"), format_message(b"<two/>", hostname="n")
    assert sender.send([first, second]) == 0  # collector down: both spooled, in order
    assert len(sender.spooled()) == 2
    collector = Collector(port)
    try:
        third = format_message(b"<three/>", hostname="n")
        assert sender.send([third]) == 3
        received = collector.wait_for(3)
        assert [m.split(BOM)[1] for m in received] == [b"<one/>", b"<two/>", b"<three/>"]
        assert all(HEADER.match(m) for m in received)
        assert sender.spooled() == []
    finally:
        collector.close()


def test_tls_delivery_with_client_certificate(tmp_path: Path) -> None:
    certs = make_certificates(tmp_path / "certs")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(certs.ca))
    server.load_cert_chain(str(certs.server_cert), str(certs.server_key))
    server.verify_mode = ssl.CERT_REQUIRED  # mutual authentication, as IHE ATNA asks of secure nodes
    collector = Collector(context=server)
    try:
        sender = SyslogSender("127.0.0.1", collector.port, tmp_path / "spool", tls=True, ca=certs.ca,
                              cert=certs.client_cert, key=certs.client_key)
        assert sender.send([format_message(XML, hostname="n")]) == 1
        assert [m.split(BOM)[1] for m in collector.wait_for(1)] == [XML]
        untrusted = SyslogSender("127.0.0.1", collector.port, tmp_path / "spool2", tls=True)  # system CAs only
        assert untrusted.send([format_message(XML, hostname="n")]) == 0
        assert len(untrusted.spooled()) == 1  # a refused handshake spools too
    finally:
        collector.close()


def test_exporter_forwards_new_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'node.db'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        record_event(session, "node", "success", "node DICOMNODE started")  # before export was enabled
    collector = Collector()
    config = Config(database={"url": url}, audit_export={"syslog_host": "127.0.0.1", "syslog_port": collector.port,
                                                         "tls": False, "spool_dir": str(tmp_path / "spool")})
    exporter = AtnaExporter(config, sessions)
    try:
        assert exporter.tick() == 0  # the mark starts at the newest row
        with sessions.begin() as session:
            record_event(session, "security", "rejected", "unknown caller", actor_ae="EVIL", actor_host="10.9.9.9")
            record_event(session, "job", "queued", "job 1 queued")  # no ATNA counterpart
            record_event(session, "node", "success", "node DICOMNODE stopped")
        assert exporter.tick() == 2
        xml = [m.split(BOM)[1] for m in collector.wait_for(2)]
        assert [errors(x) for x in xml] == [[], []]
        assert b'csd-code="110113"' in xml[0] and b'csd-code="110121"' in xml[1]
        assert exporter.tick() == 0 and len(collector.messages) == 2  # nothing twice
        assert (tmp_path / "spool" / "exported-id").read_text().strip() == "4"
    finally:
        collector.close()
        engine.dispose()
