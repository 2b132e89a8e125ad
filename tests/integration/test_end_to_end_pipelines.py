"""Two analyses in one node, with real peers: a head CT and an SWI study pushed with storescu in one session.

Each gets its own jobs, audit trail and results in Orthanc (hemorrhage SR 88.33 + SC; microbleed SR
88.34 + SC), with Series Numbers and UIDs that never collide; the SWI phantom is written by the CLI
(``dicomnode phantom --kind swi``) as a user would.
"""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from db import outbox as q
from db.jobs import NO_PIPELINE, SUCCEEDED, Job
from db.models import AuditEvent
from dicomnode.cli import main
from tests.integration.dcmtk import storescu
from tests.integration.orthanc import Orthanc
from tests.integration.test_end_to_end import (
    SC_STORAGE,
    SR_STORAGE,
    instance_tags,
    node_for,
    phantom_files,
    produced,
    sop_classes_in,
)
from tests.polling import wait_for

pytestmark = pytest.mark.integration

SR_3D_STORAGE = "1.2.840.10008.5.1.4.1.1.88.34"  # Comprehensive 3D SR Storage


def swi_files(folder: Path) -> tuple[str, list[Path]]:
    result = CliRunner().invoke(main, ["phantom", "--kind", "swi", "--out", str(folder), "--slices", "32",
                                       "--seed", "21"])
    assert result.exit_code == 0, result.output
    files = sorted(folder.glob("*.dcm"))
    return str(pydicom.dcmread(files[0], stop_before_pixels=True).StudyInstanceUID), files


def series_numbers(pacs: Orthanc, study_uid: str) -> dict[str, set[str]]:
    """SOP Class UID -> the Series Numbers Orthanc holds for it in ``study_uid``."""
    numbers: dict[str, set[str]] = {}
    for tags in instance_tags(pacs, study_uid):
        numbers.setdefault(str(tags.get("SOPClassUID")), set()).add(str(tags.get("SeriesNumber")))
    return numbers


@pytest.mark.slow
def test_a_ct_and_an_swi_study_in_one_session_each_get_their_own_result(
    tmp_path: Path, sqlite_url: str, orthanc: Orthanc
) -> None:
    orthanc.start()
    node = node_for(tmp_path, sqlite_url, orthanc)
    node.start()
    try:
        ct_study, ct_files = phantom_files(tmp_path / "ct")
        swi_study, swi = swi_files(tmp_path / "swi")
        assert storescu(node.port, ct_files + swi).returncode == 0  # one association carries both studies

        wait_for(lambda: SR_STORAGE in sop_classes_in(orthanc, ct_study), timeout=180, what="the ICH SR in Orthanc")
        wait_for(lambda: SR_3D_STORAGE in sop_classes_in(orthanc, swi_study), timeout=180,
                 what="the microbleed SR in Orthanc")
        wait_for(lambda: all(e.state == q.SENT for e in produced(node)), timeout=60, what="every result sent")

        ct_classes, swi_classes = sop_classes_in(orthanc, ct_study), sop_classes_in(orthanc, swi_study)
        assert ct_classes.count(SR_STORAGE) == 1 and SR_3D_STORAGE not in ct_classes
        assert swi_classes.count(SR_3D_STORAGE) == 1 and SR_STORAGE not in swi_classes
        assert swi_classes.count(SC_STORAGE) >= 1  # key images with markers (or the one negative image)
        assert series_numbers(orthanc, swi_study)[SR_3D_STORAGE] == {"9911"}
        assert series_numbers(orthanc, ct_study)[SR_STORAGE] == {"9901"}

        with Session(node.engine) as session:
            jobs = list(session.scalars(select(Job).order_by(Job.id)))
            audit = list(session.scalars(select(AuditEvent).where(AuditEvent.event_type == "job")))
        by_study = {(job.study_uid, job.pipeline): job for job in jobs}
        assert set(by_study) == {(ct_study, "ich_ct"), (swi_study, "cmb_swi"), (swi_study, NO_PIPELINE)}
        assert by_study[(ct_study, "ich_ct")].state == by_study[(swi_study, "cmb_swi")].state == SUCCEEDED
        cmb = by_study[(swi_study, "cmb_swi")]
        assert cmb.inputs is not None and len(cmb.inputs) == 2 and cmb.result is not None
        assert cmb.result["magnitude_only"] is False and cmb.result["model"]["name"] == "cmb-resnet3d"
        assert {"load_ms", "inference_ms", "reports_ms", "enqueue_ms"} <= set(cmb.timings)
        succeeded = {(e.study_uid, e.detail.get("job_id")) for e in audit if e.outcome == "success"}
        assert (ct_study, by_study[(ct_study, "ich_ct")].id) in succeeded and (swi_study, cmb.id) in succeeded
        uids = [o["sop_instance_uid"] for job in jobs if job.result for o in job.result["objects"]]
        assert len(uids) == len(set(uids)) == len(produced(node))
        assert {e.study_uid for e in produced(node)} == {ct_study, swi_study}
    finally:
        node.stop()
