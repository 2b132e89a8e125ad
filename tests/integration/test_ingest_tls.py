"""TLS (PS3.15 B.1): a real handshake with a pynetdicom SCU, with and without a client certificate."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Association, AuditEvent
from tests.factories import ct_series
from tests.integration.certificates import Certificates, make_certificates
from tests.integration.scu import associate, store_status
from tests.node_process import NodeProcess
from tests.polling import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def certificates(tmp_path: Path) -> Certificates:
    return make_certificates(tmp_path / "pki")


@pytest.fixture
def tls_node(tmp_path: Path, sqlite_url: str, certificates: Certificates) -> Iterator[NodeProcess]:
    security = {
        "tls_cert": str(certificates.server_cert),
        "tls_key": str(certificates.server_key),
        "tls_ca": str(certificates.ca),
        "require_client_cert": True,
    }
    node = NodeProcess(tmp_path / "node", sqlite_url, security=security)
    node.tls_args = (client_context(certificates, with_certificate=True), "localhost")
    node.start()
    try:
        yield node
    finally:
        node.stop()


def client_context(certificates: Certificates, *, with_certificate: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(certificates.ca))
    if with_certificate:
        context.load_cert_chain(str(certificates.client_cert), str(certificates.client_key))
    return context


def test_store_over_tls_with_client_certificate(tls_node: NodeProcess, certificates: Certificates) -> None:
    assoc = associate(tls_node.port, tls_args=(client_context(certificates, with_certificate=True), "localhost"))
    assert assoc.is_established
    assert store_status(assoc, ct_series(1, 16)[0]) == 0x0000
    assoc.release()
    with Session(tls_node.engine) as session:
        stored = session.scalars(select(Association).where(Association.calling_ae == "TESTSCU")).one()
        assert stored.tls is True


def test_client_without_certificate_is_refused_and_audited(
    tls_node: NodeProcess, certificates: Certificates
) -> None:
    assoc = associate(tls_node.port, tls_args=(client_context(certificates, with_certificate=False), "localhost"))
    assert not assoc.is_established  # the node never answers A-ASSOCIATE-RQ over a failed handshake

    def handshake_audited() -> bool:  # the node writes the row after the client has seen the failure
        with Session(tls_node.engine) as session:
            events = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "security")).all()
        return any("TLS handshake failed" in event.message for event in events)

    wait_for(handshake_audited, "the failed handshake's audit row", timeout=10, context=tls_node.log)


def test_plain_tcp_peer_cannot_associate(tls_node: NodeProcess) -> None:
    assoc = associate(tls_node.port)
    assert not assoc.is_established
