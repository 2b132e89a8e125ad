"""A hostile network against a real ``dicomnode serve``: junk connections, dribblers, bad AE titles, bad requests.

Every case is raw bytes from :class:`RawPeer` (or a real pynetdicom SCU as the legitimate caller). The
node runs with short timeouts (``acse_timeout`` 2 s) so that each case ends in seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from pydicom.uid import CTImageStorage
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AuditEvent
from tests.factories import ct_series
from tests.integration.rawpeer import CALLED_AE, CALLING_AE, RawPeer, associate_rq, c_store_rq, encode, wait_until
from tests.integration.scu import associate
from tests.node_process import NodeProcess

pytestmark = pytest.mark.integration

ATTACKER = "127.0.0.2"  # the loopback network lets one machine be two hosts
ACSE_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    root = tmp_path_factory.mktemp("hardening")
    process = NodeProcess(
        root / "node",
        f"sqlite:///{root / 'node.db'}",
        node={"acse_timeout": ACSE_TIMEOUT, "dimse_timeout": 10, "network_timeout": 10, "max_associations": 16,
              "max_associations_per_host": 3, "max_pending_per_host": 4},
        security={"allowed": [{"ae_title": "*", "host": "127.0.0.0/8"}]},
        inference={"workers": 0},
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


def security_rows(node: NodeProcess, host: str, since: float = 0.0) -> list[AuditEvent]:
    with Session(node.engine) as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.event_type == "security", AuditEvent.actor_host == host)
            .order_by(AuditEvent.id)
        ).all()
    return [row for row in rows if row.at.timestamp() >= since]


def legitimate_caller_accepted_within(node: NodeProcess, seconds: float) -> bool:
    started = time.monotonic()
    assoc = associate(node.port, calling="SCANNER")
    accepted = assoc.is_established
    if accepted:
        assoc.release()
    return accepted and time.monotonic() - started < seconds


def test_junk_connections_free_their_slot_at_once(node: NodeProcess) -> None:
    """16 connections that send a 10-byte unknown PDU and close: the next caller is accepted within 1 s."""
    since = time.time()
    for _ in range(16):
        peer = RawPeer(node.port, source=ATTACKER)
        peer.send(b"\x50\x00\x00\x00\x00\x04junk")
        peer.close()
    assert legitimate_caller_accepted_within(node, 1.0)
    assert wait_until(lambda: bool(security_rows(node, ATTACKER, since)), timeout=5), "junk connections are audited"
    rows = security_rows(node, ATTACKER, since)
    assert len(rows) <= 10  # rate-limited: at most the per-host burst per window
    assert any("unknown PDU type 0x50" in row.message for row in rows)
    assert all(row.detail["stage"] == "before association" for row in rows)


def test_silent_connections_cannot_take_every_slot(node: NodeProcess) -> None:
    """16 connections that never speak: one host holds at most 4 pending, a scanner elsewhere gets in at once."""
    silent = [RawPeer(node.port, source=ATTACKER) for _ in range(16)]
    try:
        assert legitimate_caller_accepted_within(node, 1.0)
        refused_at_once = sum(peer.closed_by_node(within=0.5) for peer in silent)
        assert refused_at_once >= 12  # all but max_pending_per_host were closed at accept
    finally:
        for peer in silent:
            peer.close()


def test_dribbling_request_is_dropped_at_acse_timeout(node: NodeProcess) -> None:
    rq = associate_rq()
    peer = RawPeer(node.port, source=ATTACKER)
    started = time.monotonic()
    closed = threading.Event()

    def dribble() -> None:
        for byte in rq:
            try:
                peer.send(bytes([byte]))
            except OSError:
                closed.set()
                return
            time.sleep(0.4)

    sender = threading.Thread(target=dribble, daemon=True)
    sender.start()
    assert peer.closed_by_node(within=ACSE_TIMEOUT + 3)
    assert time.monotonic() - started < ACSE_TIMEOUT + 2
    peer.close()
    sender.join(5)


def test_one_host_cannot_hold_every_association(node: NodeProcess) -> None:
    held = [associate(node.port, calling=f"HOLD{i}") for i in range(3)]
    try:
        assert all(assoc.is_established for assoc in held)
        over = associate(node.port, calling="HOLD3")
        assert over.is_rejected
        with Session(node.engine) as session:
            [row] = session.scalars(select(AuditEvent).where(AuditEvent.actor_ae == "HOLD3")).all()
        assert row.event_type == "security" and "node.max_associations_per_host" in row.message
        assert legitimate_caller_accepted_within(node, 1.0) is False  # same host, still over its share
    finally:
        for assoc in held:
            assoc.release()
    assert legitimate_caller_accepted_within(node, 1.0)


@pytest.mark.parametrize(
    ("field", "raw", "reject"),
    [
        (CALLING_AE, b"BAD\x00AE" + b" " * 10, (1, 1, 3)),
        (CALLING_AE, b"\xff" * 16, (1, 1, 3)),
        (CALLING_AE, b" " * 16, (1, 1, 3)),
        (CALLED_AE, b"DICOMNODE\x00" + b" " * 6, (1, 1, 7)),
    ],
    ids=["calling-nul", "calling-0xff", "calling-blank", "called-nul"],
)
def test_malformed_ae_title_gets_associate_rj_and_a_security_row(
    node: NodeProcess, field: slice, raw: bytes, reject: tuple[int, int, int]
) -> None:
    since = time.time()
    rq = associate_rq()
    rq[field] = raw
    peer = RawPeer(node.port)
    try:
        answer = peer.associate(rq)
    finally:
        peer.close()
    assert answer.reject == reject

    def malformed() -> list[AuditEvent]:  # the row is written just after the A-ASSOCIATE-RJ leaves
        return [r for r in security_rows(node, "127.0.0.1", since) if "malformed" in r.message]

    assert wait_until(lambda: bool(malformed()), timeout=5)
    [row] = malformed()
    assert ("malformed calling AE title" if reject == (1, 1, 3) else "malformed called AE title") in row.message
    assert row.outcome == "rejected" and row.detail["reject"] == list(reject)
    assert "\x00" not in row.message and "\xff" not in row.message


@pytest.mark.parametrize("uid", ["", " ", "\x00"], ids=["empty", "blank", "nul"])
def test_c_store_without_affected_sop_instance_uid_is_answered_at_once(node: NodeProcess, uid: str) -> None:
    ds = ct_series(1, 16)[0]
    peer = RawPeer(node.port)
    try:
        assert peer.associate().type == 0x02
        started = time.monotonic()
        response = peer.c_store(c_store_rq(CTImageStorage, uid), encode(ds), wait=5)
        assert response is not None and int(response.Status) == 0xC210
        assert time.monotonic() - started < 1.0
        assert int(response.MessageIDBeingRespondedTo) == 1
    finally:
        peer.close()
    def audited() -> bool:
        with Session(node.engine) as session:
            rows = session.scalars(
                select(AuditEvent).where(AuditEvent.event_type == "store", AuditEvent.outcome == "failure")
            ).all()
        return any("AffectedSOPInstanceUID" in row.message and row.detail["status"] == "0xC210" for row in rows)

    assert wait_until(audited, timeout=5)
