"""A DICOM peer made of raw bytes (PS3.8 PDUs, PS3.7 command sets) for tests of hostile or broken input.

pynetdicom and dcmtk refuse to send most of what these tests need (blank or NUL AE titles, an empty
Affected SOP Instance UID, unknown PDU types, a request sent one byte at a time), so this peer builds
the PDUs itself: pynetdicom encodes a valid A-ASSOCIATE-RQ, which a test may then alter byte by byte.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom.pdu import A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import A_ASSOCIATE, ImplementationClassUIDNotification, MaximumLengthNotification
from pynetdicom.presentation import build_context
from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"
CALLED_AE = slice(10, 26)  # offsets of the AE title fields inside an A-ASSOCIATE-RQ PDU (PS3.8 Table 9-11)
CALLING_AE = slice(26, 42)


def associate_rq(calling: str = "RAWPEER", called: str = "DICOMNODE", transfer_syntax: str = ExplicitVRLittleEndian,
                 sop_class: str = CTImageStorage) -> bytearray:
    """A valid A-ASSOCIATE-RQ PDU proposing one presentation context (ID 1)."""
    primitive = A_ASSOCIATE()
    primitive.calling_ae_title = calling
    primitive.called_ae_title = called
    primitive.application_context_name = APPLICATION_CONTEXT
    context = build_context(sop_class, [transfer_syntax])
    context.context_id = 1
    primitive.presentation_context_definition_list = [context]
    maximum = MaximumLengthNotification()
    maximum.maximum_length_received = 0
    implementation = ImplementationClassUIDNotification()
    implementation.implementation_class_uid = "1.2.826.0.1.3680043.9.7433.1.99"
    primitive.user_information = [maximum, implementation]
    pdu = A_ASSOCIATE_RQ()
    pdu.from_primitive(primitive)
    return bytearray(pdu.encode())


@dataclass
class Pdu:
    type: int
    body: bytes

    @property
    def reject(self) -> tuple[int, int, int]:
        """(result, source, reason) of an A-ASSOCIATE-RJ (PS3.8 Table 9-21)."""
        assert self.type == 0x03, f"expected A-ASSOCIATE-RJ, got PDU type 0x{self.type:02X}"
        return self.body[1], self.body[2], self.body[3]


class RawPeer:
    """One TCP connection to the node."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10.0, source: str | None = None) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_pdu(self) -> Pdu | None:
        """The next PDU, or None when the node closed the connection."""
        header = self._read(6)
        if len(header) < 6:
            return None
        pdu_type, _, length = struct.unpack(">BBL", header)
        return Pdu(pdu_type, self._read(length))

    def closed_by_node(self, within: float) -> bool:
        """True when the node closes the connection (EOF or reset) within ``within`` seconds."""
        self.sock.settimeout(within)
        try:
            while self.sock.recv(65536):
                pass
        except TimeoutError:
            return False
        except ConnectionError:
            return True
        return True

    def _read(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                break
            data += chunk
        return data

    def associate(self, rq: bytes | None = None) -> Pdu:
        self.send(bytes(rq if rq is not None else associate_rq()))
        reply = self.read_pdu()
        assert reply is not None, "the node closed the connection instead of answering the A-ASSOCIATE-RQ"
        return reply

    def c_store(self, command: Dataset, dataset: bytes, *, wait: float = 5.0) -> Dataset | None:
        """Send a C-STORE-RQ (context 1) and return the response command set, or None when none came."""
        self.send(p_data(command_set(command), command=True))
        self.send(p_data(dataset, command=False))
        self.sock.settimeout(wait)
        try:
            reply = self.read_pdu()
        except TimeoutError:
            return None
        if reply is None or reply.type != 0x04:
            return None
        return parse_command(reply.body)


def p_data(fragment: bytes, *, command: bool, context_id: int = 1) -> bytes:
    """One P-DATA-TF PDU holding the whole ``fragment`` as its last PDV (PS3.8 9.3.5, Annex E.2)."""
    header = 0x03 if command else 0x02  # bit 0: command, bit 1: last fragment
    pdv = struct.pack(">LBB", len(fragment) + 2, context_id, header) + fragment
    return struct.pack(">BBL", 0x04, 0, len(pdv)) + pdv


def command_set(command: Dataset) -> bytes:
    """Encode a command set in Implicit VR Little Endian with its group length (PS3.7 6.3.1)."""
    body = encode(command, implicit=True)
    return struct.pack("<HHLL", 0, 0, 4, len(body)) + body


def c_store_rq(sop_class_uid: str, sop_instance_uid: str, message_id: int = 1) -> Dataset:
    command = Dataset()
    command.AffectedSOPClassUID = sop_class_uid
    command.CommandField = 0x0001
    command.MessageID = message_id
    command.Priority = 0
    command.CommandDataSetType = 0x0000
    command.add_new(0x00001000, "UI", sop_instance_uid)
    return command


def encode(dataset: Dataset, *, implicit: bool = False) -> bytes:
    stream = DicomBytesIO()
    stream.is_little_endian, stream.is_implicit_VR = True, implicit
    write_dataset(stream, dataset)
    return stream.getvalue()


def parse_command(body: bytes) -> Dataset:
    # the P-DATA-TF body: PDV length (4), context ID (1), message control header (1), command set
    stream = DicomBytesIO(body[6:])
    return read_dataset(stream, is_implicit_VR=True, is_little_endian=True)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
