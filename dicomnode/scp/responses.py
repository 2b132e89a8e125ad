"""C-STORE responses sent without pydicom (PS3.7 9.3.1.2, command set encoding PS3.7 6.3.1).

pynetdicom turns every response primitive into a pydicom Dataset and encodes it twice (once to learn the
Command Group Length, once to send it): a quarter of the interpreter's time under concurrent senders went
to answering C-STOREs. :class:`StoreResponses` encodes the command set of a plain C-STORE-RSP (Status and
the echoed UIDs, no Error Comment or Offending Element) directly, in Implicit VR Little Endian, and hands
the P-DATA primitive to the DUL as pynetdicom would; any other message, or any handler bound to
EVT_DIMSE_SENT, goes through pynetdicom's own path. The bytes are pynetdicom's
(``tests/dicomnode/test_scp_responses.py`` holds the two to each other).
"""

from __future__ import annotations

import struct

from pynetdicom import evt
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dimse_primitives import C_STORE, DimsePrimitiveType
from pynetdicom.pdu_primitives import P_DATA

from dicomnode.scp.filemeta import even_length

C_STORE_RSP = 0x8001  # Command Field (0000,0100)
NO_DATA_SET = 0x0101  # Command Data Set Type (0000,0800)
LAST_COMMAND_FRAGMENT = b"\x03"  # message control header: command, last fragment (PS3.8 E.2)
PDV_OVERHEAD = 6  # item length (4), context ID (1) and message control header (1) of one PDV


def _element(element: int, value: bytes) -> bytes:
    """One group 0000 element in Implicit VR Little Endian: tag, 4-byte length, value."""
    return struct.pack("<HHL", 0x0000, element, len(value)) + value


def store_response(primitive: DimsePrimitiveType) -> bytes | None:
    """The encoded command set of a plain C-STORE-RSP, or None for anything else."""
    if not isinstance(primitive, C_STORE) or primitive.MessageIDBeingRespondedTo is None or primitive.Status is None:
        return None
    if primitive.ErrorComment is not None or primitive.OffendingElement is not None:
        return None
    elements = []
    if primitive.AffectedSOPClassUID is not None:
        elements.append(_element(0x0002, even_length(str(primitive.AffectedSOPClassUID), b"\x00")))
    elements += (
        _element(0x0100, struct.pack("<H", C_STORE_RSP)),
        _element(0x0120, struct.pack("<H", primitive.MessageIDBeingRespondedTo)),
        _element(0x0800, struct.pack("<H", NO_DATA_SET)),
        _element(0x0900, struct.pack("<H", primitive.Status)),
    )
    if primitive.AffectedSOPInstanceUID is not None:
        elements.append(_element(0x1000, even_length(str(primitive.AffectedSOPInstanceUID), b"\x00")))
    body = b"".join(elements)
    return _element(0x0000, struct.pack("<L", len(body))) + body


class StoreResponses(DIMSEServiceProvider):
    """pynetdicom's DIMSE provider, with plain C-STORE responses encoded by :func:`store_response`."""

    def send_msg(self, primitive: DimsePrimitiveType, context_id: int) -> None:
        encoded = store_response(primitive)
        limit = self.maximum_pdu_size
        if (encoded is None or self.assoc.get_handlers(evt.EVT_DIMSE_SENT)
                or (limit and len(encoded) > limit - PDV_OVERHEAD)):
            super().send_msg(primitive, context_id)
            return
        pdata = P_DATA()
        pdata.presentation_data_value_list.append((context_id, LAST_COMMAND_FRAGMENT + encoded))
        self.dul.send_pdu(pdata)
