"""C-STORE responses encoded by the node (dicomnode.scp.responses): the bytes pynetdicom's own encoder sends,
and every status of the node's handler reaching a real pynetdicom peer."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.uid import UID
from pynetdicom.dimse_messages import C_STORE_RSP
from pynetdicom.dimse_primitives import C_ECHO, C_STORE
from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

from db.engine import make_sessionmaker
from dicomnode.config import Config
from dicomnode.scp import handlers, responses
from dicomnode.scp.responses import LAST_COMMAND_FRAGMENT, store_response
from dicomnode.scp.server import StorageSCP
from tests.conftest import migrated_engine
from tests.factories import ct_series
from tests.integration.scu import associate, store_status
from tests.node_process import free_port


pytestmark = pytest.mark.filterwarnings("ignore:Invalid value for VR UI")  # the accept-safe UID, as intended


def response(status: int, message_id: int, sop_class: str | None, sop_instance: str | None) -> C_STORE:
    primitive = C_STORE()
    primitive.MessageIDBeingRespondedTo = message_id
    primitive.Status = status
    if sop_class is not None:
        primitive.AffectedSOPClassUID = UID(sop_class)
    if sop_instance is not None:
        primitive.AffectedSOPInstanceUID = UID(sop_instance)
    return primitive


def pynetdicom_bytes(primitive: C_STORE) -> bytes:
    message = C_STORE_RSP()
    message.primitive_to_message(primitive)
    [pdata] = list(message.encode_msg(1, 0))
    [(context_id, pdv)] = pdata.presentation_data_value_list
    assert context_id == 1
    return pdv


@pytest.mark.parametrize("status", [0x0000, 0xA700, 0xA900, 0xC210, 0xC211, 0xB007])
@pytest.mark.parametrize("message_id", [1, 258, 65535])
@pytest.mark.parametrize("uids", [(str(CTImageStorage), "1.2.3.4"), (str(CTImageStorage), "1.2.3.45"),
                                  ("1.2.840.10008.5.1.4.1.1.7", "ID_0fe31b044"), (str(CTImageStorage), None),
                                  (None, "1.2.3"), (None, None)])
def test_the_bytes_are_pynetdicoms(status: int, message_id: int, uids: tuple[str | None, str | None]) -> None:
    primitive = response(status, message_id, *uids)
    encoded = store_response(primitive)
    assert encoded is not None
    assert LAST_COMMAND_FRAGMENT + encoded == pynetdicom_bytes(primitive)


def test_responses_with_more_than_a_status_are_left_to_pynetdicom() -> None:
    primitive = response(0xC211, 1, str(CTImageStorage), "1.2.3")
    primitive.ErrorComment = "failed"
    assert store_response(primitive) is None
    assert store_response(C_ECHO()) is None
    request = C_STORE()
    request.MessageID = 1
    assert store_response(request) is None  # a request, not a response


def test_a_peer_receives_each_status_the_handler_returns(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    statuses = iter([handlers.SUCCESS, 0xA700, 0xA900, 0xC210, handlers.OTHER_FAILURE])
    monkeypatch.setattr(handlers.IngestHandlers, "on_store", lambda self, event: next(statuses))
    encoded: list[bytes | None] = []
    monkeypatch.setattr(responses, "store_response", lambda primitive: encoded.append(store_response(primitive)) or encoded[-1])
    config = Config(node={"host": "127.0.0.1", "port": free_port(), "storage_dir": tmp_path / "storage"})
    with migrated_engine(sqlite_url) as engine:
        scp = StorageSCP(config, make_sessionmaker(engine))
        scp.start()
        try:
            assoc = associate(scp.port)
            received = [store_status(assoc, dataset) for dataset in ct_series(5, 16, seed=4)]
            assoc.release()
        finally:
            scp.stop(5)
    assert received == [0x0000, 0xA700, 0xA900, 0xC210, 0xC211]
    assert len(encoded) == 5 and None not in encoded  # each answer went out by the node's encoder
