"""Delivery of produced results into real peers: dcmtk storescp and Orthanc (issue 6 part 4).

Orthanc runs from a generated configuration on free DICOM and HTTP ports with a temporary storage folder;
arrivals are checked through its REST API. It is down when the results are ready: the outbox retries
and delivers once it is up, and a re-send adds no duplicate (same SOP Instance UIDs).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db import outbox as q
from db.engine import make_sessionmaker
from db.models import AuditEvent, utcnow
from dicomnode.config import Config, Destination
from dicomnode.delivery import deliver_due, enqueue, write_results
from dicomnode.pipelines.ich_ct.results import build_results
from tests.conftest import migrated_engine
from tests.dicomnode.pipelines.ich_ct.helpers import POSITIVE, context_for, phantom_series, prediction_for
from tests.integration.orthanc import Orthanc
from tests.node_process import free_port, port_open
from tests.polling import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> list[Dataset]:
    series = phantom_series(Path(tmp_path_factory.mktemp("phantom")), subtype="EDH", n_slices=8, size=128)
    return build_results(prediction_for(series, POSITIVE), series, context_for(series))


@pytest.fixture
def sessions(sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    with migrated_engine(sqlite_url) as engine:
        yield make_sessionmaker(engine)


def node_config(tmp_path: Path, destination: Destination) -> Config:
    return Config(
        destinations=[destination], results={"dir": tmp_path / "results"},
        delivery={"acse_timeout": 10, "network_timeout": 10},
    )


def test_delivers_into_dcmtk_storescp(sessions, results: list[Dataset], tmp_path: Path) -> None:  # noqa: ANN001
    tool = shutil.which("storescp")
    assert tool, "dcmtk's storescp is not installed (.ci/run installs dcmtk)"
    port, out = free_port(), tmp_path / "received"
    out.mkdir()
    process = subprocess.Popen([tool, "-aet", "STORESCP", "-od", str(out), str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: port_open(port), what="storescp to listen")
        cfg = node_config(tmp_path, Destination(name="dcmtk", ae_title="STORESCP", host="127.0.0.1", port=port))
        with sessions.begin() as session:
            enqueue(session, write_results(cfg.results.dir, results), cfg.destinations)
        round_ = deliver_due(sessions, cfg)
        assert round_.sent == len(results), round_
        wait_for(lambda: len(list(out.iterdir())) == len(results))
    finally:
        process.terminate()
        process.wait(timeout=10)
    received = {pydicom.dcmread(p).SOPInstanceUID for p in out.iterdir()}
    assert received == {ds.SOPInstanceUID for ds in results}


def test_orthanc_down_then_up_and_resend_adds_no_duplicate(sessions, results, orthanc: Orthanc, tmp_path: Path) -> None:  # noqa: ANN001
    cfg = node_config(tmp_path, Destination(name="orthanc", ae_title="ORTHANC", host="127.0.0.1", port=orthanc.dicom_port))
    now = utcnow()
    with sessions.begin() as session:
        enqueue(session, write_results(cfg.results.dir, results), cfg.destinations, now=now)

    down = deliver_due(sessions, cfg, now=now)  # Orthanc is not running yet
    assert (down.sent, down.retried) == (0, len(results))

    orthanc.start()
    up = deliver_due(sessions, cfg, now=now + timedelta(seconds=30))  # past the first backoff (10 s +/- 20 %)
    assert up.sent == len(results), up
    sop_uids = {ds.SOPInstanceUID for ds in results}
    instances = orthanc.get("/instances?expand")
    assert {i["MainDicomTags"]["SOPInstanceUID"] for i in instances} == sop_uids
    studies = orthanc.get("/studies?expand")
    assert [s["MainDicomTags"]["StudyInstanceUID"] for s in studies] == [results[0].StudyInstanceUID]

    with sessions.begin() as session:  # an operator re-sends everything
        for entry in session.scalars(select(q.OutboxEntry)):
            q.resend(session, entry.id)
    again = deliver_due(sessions, cfg)
    assert again.sent == len(results)
    assert len(orthanc.get("/instances")) == len(results)  # same SOP Instance UIDs: no duplicates

    with sessions() as session:
        outcomes = [e.outcome for e in session.scalars(
            select(AuditEvent).where(AuditEvent.event_type == "delivery").order_by(AuditEvent.id))]
    assert outcomes.count("failure") == len(results) and outcomes.count("success") == 2 * len(results)
