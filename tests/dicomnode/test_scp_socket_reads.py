"""Socket reads of the node's associations (dicomnode.scp.transport.PrefacedSocket): the gate's preface
first, then exactly the bytes asked for in reads of up to RECV_CHUNK, fewer only when the peer closed."""

from __future__ import annotations

import socket
import threading

from pynetdicom import AE
from pynetdicom._globals import MODE_ACCEPTOR

from dicomnode.scp import transport
from dicomnode.scp.transport import NodeAssociation, PrefacedSocket


def test_exact_reads_across_chunks_then_a_short_read_at_close() -> None:
    ours, peer = socket.socketpair()
    payload = bytes(range(256)) * 4096  # 1 MiB: more than one read of RECV_CHUNK
    sock = PrefacedSocket(NodeAssociation(AE(), MODE_ACCEPTOR), ours, b"PREFACE")
    sender = threading.Thread(target=lambda: (peer.sendall(payload + b"tail"), peer.close()))
    sender.start()
    try:
        assert sock.recv(3) == b"PRE"
        assert sock.recv(4 + 10) == b"FACE" + payload[:10]  # the preface's rest, then the socket
        assert sock.recv(len(payload) - 10) == payload[10:]
        assert len(payload) > 2 * transport.RECV_CHUNK
        assert sock.recv(100) == b"tail"  # the peer closed after 4 bytes
    finally:
        sender.join(10)
        ours.close()
