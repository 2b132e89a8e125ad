"""The whole loop with real peers: storescu -> dicomnode serve -> model -> SR + SC -> Orthanc, untouched by hand.

Also the failure path: Orthanc is down when the results are ready, the node is restarted in between,
and the outbox still delivers once Orthanc is up; a re-send adds no duplicate in Orthanc.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from db import outbox as q
from db.jobs import SUCCEEDED, Job
from dicomnode.cli import main
from inference.ich.phantoms.dicom_writer import write_dicom
from inference.ich.phantoms.study import generate_study
from tests.integration.dcmtk import storescu
from tests.integration.orthanc import Orthanc
from tests.node_process import NodeProcess
from tests.polling import wait_for

pytestmark = pytest.mark.integration

SR_STORAGE = "1.2.840.10008.5.1.4.1.1.88.33"  # Comprehensive SR Storage
SC_STORAGE = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture Image Storage


def phantom_files(folder: Path, subtype: str = "IPH") -> tuple[str, list[Path]]:
    study = generate_study(seed=4242, subtype=subtype, n_slices=20, size=256)
    files = write_dicom(study, folder)
    return str(pydicom.dcmread(files[0], stop_before_pixels=True).StudyInstanceUID), files


def node_for(tmp_path: Path, sqlite_url: str, pacs: Orthanc) -> NodeProcess:
    return NodeProcess(
        tmp_path / "node",
        sqlite_url,
        assembly={"release_grace_seconds": 0.2, "tick_seconds": 0.2, "quiet_seconds": 2.0},
        delivery={"tick_seconds": 0.5, "backoff_initial_seconds": 1.0, "backoff_max_seconds": 2.0},
        destinations=[{"name": "orthanc", "ae_title": "ORTHANC", "host": "127.0.0.1", "port": pacs.dicom_port}],
    )


def instance_tags(pacs: Orthanc, study_uid: str) -> Iterator[dict[str, object]]:
    """The simplified tags of each instance Orthanc holds for ``study_uid``."""
    for instance in pacs.instances():
        tags = pacs.get(f"/instances/{instance['ID']}/simplified-tags")
        if isinstance(tags, dict) and tags.get("StudyInstanceUID") == study_uid:
            yield tags


def sop_classes_in(pacs: Orthanc, study_uid: str) -> list[str]:
    """SOP Class UIDs of the instances Orthanc holds for ``study_uid``."""
    return [str(tags.get("SOPClassUID")) for tags in instance_tags(pacs, study_uid)]


def produced(node: NodeProcess) -> list[q.OutboxEntry]:
    with Session(node.engine) as session:
        return list(session.scalars(select(q.OutboxEntry).order_by(q.OutboxEntry.id)))


@pytest.mark.slow
def test_pushed_study_comes_back_to_the_pacs_as_sr_and_sc(
    tmp_path: Path, sqlite_url: str, orthanc: Orthanc
) -> None:
    orthanc.start()
    node = node_for(tmp_path, sqlite_url, orthanc)
    node.start()
    try:
        study_uid, files = phantom_files(tmp_path / "study")
        assert storescu(node.port, files).returncode == 0

        wait_for(lambda: SR_STORAGE in sop_classes_in(orthanc, study_uid), timeout=120, what="the SR in Orthanc")
        wait_for(lambda: all(e.state == q.SENT for e in produced(node)), timeout=60, what="every result sent")
        classes = sop_classes_in(orthanc, study_uid)
        assert classes.count(SR_STORAGE) == 1
        assert classes.count(SC_STORAGE) >= 1  # the summary image, and key slices when positive
        assert classes.count("1.2.840.10008.5.1.4.1.1.2") == 0  # the source CT was not sent back
        with Session(node.engine) as session:
            [job] = session.scalars(select(Job)).all()
        assert job.state == SUCCEEDED
        assert {"load_ms", "inference_ms", "reports_ms", "enqueue_ms"} <= set(job.timings)
        assert job.result is not None and len(job.result["objects"]) == len(produced(node))
    finally:
        node.stop()


@pytest.mark.slow
def test_pacs_down_then_node_restart_then_delivery_without_duplicates(
    tmp_path: Path, sqlite_url: str, orthanc: Orthanc
) -> None:
    node = node_for(tmp_path, sqlite_url, orthanc)
    node.start()
    study_uid, files = phantom_files(tmp_path / "study", subtype="SDH")
    try:
        assert storescu(node.port, files).returncode == 0
        wait_for(lambda: produced(node) and all(e.attempts >= 1 for e in produced(node)), timeout=120,
                 what="a failed delivery attempt while Orthanc is down")
        assert all(e.state == q.PENDING for e in produced(node))
    finally:
        assert node.terminate() == 0

    orthanc.start()
    node.start()  # the same database and folders: the outbox survived the restart
    try:
        wait_for(lambda: all(e.state == q.SENT for e in produced(node)), timeout=60, what="delivery after restart")
        entries = produced(node)
        assert len(sop_classes_in(orthanc, study_uid)) == len(entries)

        for entry in entries:  # an operator re-sends everything with the CLI
            result = CliRunner().invoke(main, ["outbox", "resend", str(entry.id), "--config", str(node.config_path)])
            assert result.exit_code == 0, result.output
        wait_for(lambda: all(e.state == q.SENT and e.attempts >= 2 for e in produced(node)), timeout=60,
                 what="the re-send")
        assert len(sop_classes_in(orthanc, study_uid)) == len(entries)  # same SOP Instance UIDs: no duplicates
    finally:
        node.stop()
