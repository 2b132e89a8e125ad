"""The analysis step abstains on a series outside the model's domain (issue 14 item 6).

A phantom head CT whose headers say a contrast agent was given is stored and run through the real step:
the job's result says it is out of domain and why, and the delivered SR states an indeterminate result
with that reason instead of findings; no SEG is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import SegmentationStorage
from sqlalchemy.orm import Session, sessionmaker

from db.engine import make_sessionmaker
from dicomnode.config import Config
from dicomnode.pipelines.ich_ct.analysis import run_analysis
from dicomnode.pipelines.ich_ct.runtime import ModelRuntime
from dicomnode.workers.step import StepContext
from inference.ich.phantoms import generate_study, write_dicom
from tests.conftest import migrated_engine
from tests.factories import claimed_job

UNDETERMINED = "373068000"


@pytest.fixture
def sessions(sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    with migrated_engine(sqlite_url) as engine:
        yield make_sessionmaker(engine)


def codes_in(ds: pydicom.Dataset) -> set[str]:
    found: set[str] = set()
    for item in ds.get("ContentSequence", []):
        for concept in item.get("ConceptCodeSequence", []):
            found.add(str(concept.CodeValue))
        found |= codes_in(item)
    return found


@pytest.mark.slow
def test_a_contrast_enhanced_series_gets_an_indeterminate_result(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    files = write_dicom(generate_study(seed=11, subtype="SDH", n_slices=12, size=128), tmp_path / "storage")
    for path in files:
        ds = pydicom.dcmread(path)
        ds.ContrastBolusAgent = "IOPAMIDOL"
        ds.save_as(path)
    ticket = claimed_job(sessions, files)
    results = tmp_path / "results"
    config = Config(results={"dir": results}, inference={"backend": "torch", "device": "cpu"})
    context, runtime = StepContext(config=config, sessions=sessions, worker_id="w1"), ModelRuntime(config)

    outcome = run_analysis(ticket, context, runtime)

    assert outcome.result["in_domain"] is False
    reasons = outcome.result["indeterminate_reasons"]
    assert reasons and any("contrast" in reason.lower() for reason in reasons), reasons
    written = [pydicom.dcmread(path) for path in results.rglob("*.dcm")]
    assert not [ds for ds in written if ds.SOPClassUID == SegmentationStorage]
    [sr] = [ds for ds in written if ds.Modality == "SR"]
    assert UNDETERMINED in codes_in(sr)
    assert any("contrast" in str(item.get("TextValue", "")).lower() for item in sr.ContentSequence[-1].ContentSequence)
