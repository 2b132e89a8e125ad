"""The real-viewer bench: phantom studies pushed to Orthanc (the PACS) and to ``dicomnode serve``, whose results
come back to Orthanc, which serves everything over DICOMweb to the viewer.

This is the hospital's flow: the scanner sends each study to the PACS and to the node; the node analyses it
and delivers its SR, SEG and SC objects to the PACS; the radiologist opens the study in the viewer.
"""

from __future__ import annotations

import io
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from sqlalchemy import select
from sqlalchemy.orm import Session

from db import outbox as q

from inference.ich.phantoms.dicom_writer import write_dicom
from inference.ich.phantoms.study import generate_study
from tests.integration.dcmtk import storescu
from tests.integration.orthanc import Orthanc
from tests.node_process import NodeProcess
from tests.polling import wait_for

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
SR_CLASSES = {"1.2.840.10008.5.1.4.1.1.88.11": "Basic Text SR", "1.2.840.10008.5.1.4.1.1.88.22": "Enhanced SR",
              "1.2.840.10008.5.1.4.1.1.88.33": "Comprehensive SR", "1.2.840.10008.5.1.4.1.1.88.34": "Comprehensive 3D SR"}
SEG = "1.2.840.10008.5.1.4.1.1.66.4"
SC = "1.2.840.10008.5.1.4.1.1.7"


@dataclass
class Study:
    """One phantom study as the PACS holds it once the node's results have arrived."""

    label: str
    subtype: str
    study_uid: str
    files: list[Path]
    series: dict[str, dict[str, object]] = field(default_factory=dict)  # SeriesInstanceUID -> main tags + SOP class

    def series_of(self, *sop_classes: str) -> list[dict[str, object]]:
        """The series of this study whose instances are of one of ``sop_classes``."""
        return [s for s in self.series.values() if s["SOPClassUID"] in sop_classes]

    def instances_of(self, pacs: Orthanc, *sop_classes: str) -> list[Dataset]:
        """Every instance of this study of one of ``sop_classes``, read back from the PACS."""
        return [read_instance(pacs, str(i)) for s in self.series_of(*sop_classes) for i in s["orthanc_ids"]]


def write_phantom(folder: Path, subtype: str, seed: int, n_slices: int = 24, size: int = 256) -> tuple[str, list[Path]]:
    """A phantom head CT written as DICOM files; returns (Study Instance UID, files in slice order)."""
    files = write_dicom(generate_study(seed=seed, subtype=subtype, n_slices=n_slices, size=size), folder)
    return str(pydicom.dcmread(files[0], stop_before_pixels=True).StudyInstanceUID), files


def node_for(root: Path, database_url: str, pacs: Orthanc) -> NodeProcess:
    """A node with quick assembly and delivery whose only destination is ``pacs``."""
    return NodeProcess(
        root, database_url,
        assembly={"release_grace_seconds": 0.2, "tick_seconds": 0.2, "quiet_seconds": 2.0},
        delivery={"tick_seconds": 0.5, "backoff_initial_seconds": 1.0, "backoff_max_seconds": 2.0},
        destinations=[{"name": "pacs", "ae_title": "ORTHANC", "host": "127.0.0.1", "port": pacs.dicom_port}],
    )


def pacs_series(pacs: Orthanc, study_uid: str) -> dict[str, dict[str, object]]:
    """Series of ``study_uid`` in Orthanc: SeriesInstanceUID -> Modality, description, SOP class, instance count."""
    found: dict[str, dict[str, object]] = {}
    for series in pacs.get("/series?expand") or []:
        assert isinstance(series, dict)
        parent = pacs.get(f"/studies/{series['ParentStudy']}")
        if not (isinstance(parent, dict) and parent["MainDicomTags"].get("StudyInstanceUID") == study_uid):
            continue
        first = pacs.get(f"/instances/{series['Instances'][0]}/simplified-tags")
        assert isinstance(first, dict)
        tags = series["MainDicomTags"]
        found[tags["SeriesInstanceUID"]] = {
            "Modality": tags.get("Modality"), "SeriesDescription": tags.get("SeriesDescription", ""),
            "SOPClassUID": first.get("SOPClassUID"), "instances": len(series["Instances"]),
            "orthanc_ids": list(series["Instances"]),
        }
    return found


def read_instance(pacs: Orthanc, orthanc_id: str) -> Dataset:
    """One instance as the PACS stores it (``/instances/{id}/file``)."""
    url = f"http://127.0.0.1:{pacs.http_port}/instances/{orthanc_id}/file"
    with urllib.request.urlopen(url, timeout=30) as response:
        return pydicom.dcmread(io.BytesIO(response.read()))


def delivered(node: NodeProcess, study_uids: set[str]) -> bool:
    """True once the node has queued results for every study in ``study_uids`` and sent all it queued."""
    with Session(node.engine) as session:
        entries = list(session.scalars(select(q.OutboxEntry)))
    return all(e.state == q.SENT for e in entries) and {e.study_uid for e in entries} >= study_uids


def analyse(pacs: Orthanc, node: NodeProcess, studies: list[Study], timeout: float = 240.0) -> None:
    """Send each study to the PACS and to the node, then wait until every result of the node is in the PACS."""
    for study in studies:
        sent = storescu(pacs.dicom_port, study.files, called="ORTHANC")
        assert sent.returncode == 0, f"storescu to Orthanc failed:\n{sent.stdout}{sent.stderr}"
        sent = storescu(node.port, study.files)
        assert sent.returncode == 0, f"storescu to the node failed:\n{sent.stdout}{sent.stderr}"
    wait_for(lambda: delivered(node, {s.study_uid for s in studies}), timeout=timeout, interval=1.0,
             what="every result of the node delivered to Orthanc", context=node.log)
    for study in studies:
        study.series = pacs_series(pacs, study.study_uid)
        assert study.series_of(*SR_CLASSES), f"no SR of the {study.label} study in Orthanc: {study.series}"
