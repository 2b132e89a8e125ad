"""The file the node stores for a C-STORE is byte for byte what pynetdicom's ``Event.encoded_dataset()`` gives
(dicomnode.scp.filemeta builds its header directly): real pynetdicom associations to the node's SCP in this
process, in every uncompressed transfer syntax (PS3.5 Section 10), with SOP Instance UIDs of odd and even
length and one that only ``accept-safe`` takes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

from db.engine import make_sessionmaker
from dicomnode.config import Config
from dicomnode.scp.filemeta import file_header
from dicomnode.scp.server import StorageSCP
from tests.conftest import migrated_engine
from tests.factories import ct_series
from tests.integration.scu import status_of
from tests.node_process import free_port

pytestmark = pytest.mark.filterwarnings("ignore:Invalid value for VR UI")  # the accept-safe UID, as intended

SYNTAXES = [ImplicitVRLittleEndian, ExplicitVRLittleEndian, DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian]


@pytest.fixture
def scp(tmp_path: Path, sqlite_url: str) -> Iterator[StorageSCP]:
    config = Config(node={"host": "127.0.0.1", "port": free_port(), "storage_dir": tmp_path / "storage",
                          "uid_policy": "accept-safe"})
    with migrated_engine(sqlite_url) as engine:
        server = StorageSCP(config, make_sessionmaker(engine))
        server.start()
        yield server
        server.stop(5)


def test_the_stored_file_is_what_encoded_dataset_gives(scp: StorageSCP, monkeypatch: pytest.MonkeyPatch) -> None:
    expected: dict[str, bytes] = {}
    store = scp.handlers._store

    def noting(event: Any, info: Any, raw: bytes, association_id: int | None) -> bool:
        expected[info.sop_instance_uid] = event.encoded_dataset()  # pynetdicom's own DICOM File Format bytes
        return store(event, info, raw, association_id)

    monkeypatch.setattr(scp.handlers, "_store", noting)
    datasets: list[tuple[UID, Dataset]] = []
    for n, syntax in enumerate(SYNTAXES):
        for text in (f"1.2.826.0.1.3680043.10.{n}1", f"1.2.826.0.1.3680043.10.{n}12", f"ID_{n}fe31b04"):
            uid = UID(text)
            dataset = ct_series(1, 16, seed=n)[0]
            dataset.SOPInstanceUID = uid
            dataset.file_meta.MediaStorageSOPInstanceUID = uid
            dataset.file_meta.TransferSyntaxUID = syntax
            datasets.append((syntax, dataset))
    ae = AE(ae_title="TESTSCU")
    for syntax in SYNTAXES:
        ae.add_requested_context(CTImageStorage, syntax)
    assoc = ae.associate("127.0.0.1", scp.port, ae_title="DICOMNODE")
    assert assoc.is_established
    try:
        statuses = [status_of(assoc.send_c_store(dataset)) for _, dataset in datasets]
    finally:
        assoc.release()
    assert statuses == [0x0000] * len(datasets)
    assert len(expected) == len(datasets)
    for syntax, dataset in datasets:
        uid = str(dataset.SOPInstanceUID)
        stored = scp.store.path_for(str(dataset.StudyInstanceUID), str(dataset.SeriesInstanceUID), uid).read_bytes()
        assert stored == expected[uid], f"{uid} in {syntax.name}"
        assert stored.startswith(file_header(str(CTImageStorage), uid, str(syntax)))


def test_a_value_that_is_not_ascii_is_refused_not_mangled() -> None:
    with pytest.raises(UnicodeEncodeError):
        file_header(str(CTImageStorage), "1.2.3\u00e9", str(ExplicitVRLittleEndian))
