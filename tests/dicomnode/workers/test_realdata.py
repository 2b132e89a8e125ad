"""Every real DICOM file in ../shared/data through selection, the analysis step and result writing.

Each series either yields results (an SR first, files written under ``[results] dir``) or a skip reason
that names the attribute or the setting concerned. Series that selection refuses also go through the
step, as an operator's ``dicomnode jobs retry --force`` would send them. One engine (the shipped
weights on whatever backend ``inference.runtime.backends`` picks for the CPU), CQ500 read once.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import ComprehensiveSRStorage
from sqlalchemy.orm import Session, sessionmaker

from db.engine import make_sessionmaker
from db.jobs import Ticket
from db.models import Instance
from db.series import series_instances
from dicomnode.assembly.headers import read_headers
from dicomnode.config import Config
from dicomnode.errors import UnusableSeries
from dicomnode.pipelines.ich_ct.analysis import run_analysis
from dicomnode.pipelines.ich_ct.runtime import ModelRuntime
from dicomnode.pipelines.ich_ct.selection import select_series
from dicomnode.workers.step import StepContext
from tests.conftest import SHARED_DATA, migrated_engine

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

SOURCES = (
    "cq500-ct0/series", "cq500-ct0/stray", "rsna-slices/labelled", "rsna-slices/unlabelled",
    "real-ct/ge-head-dcmqa", "real-ct/visible-human-female-head",
)
NAMED = re.compile(r"[A-Z][A-Za-z]+ \([0-9A-F]{4},[0-9A-F]{4}\)|\(selection\.[a-z_]+\)")
"""A reason names a DICOM attribute with its tag, or the selection setting it broke."""


@dataclass
class Outcome:
    source: str
    series_uid: str
    slices: int
    selection: str  # "" when accepted
    selection_reasons: list[str]
    objects: list[dict[str, str]] | None  # produced objects, or None when skipped
    skip_reason: str


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"no real data at {SHARED_DATA} (present in CI; a clone has no ../shared)")
    return tmp_path_factory.mktemp("realdata")


@pytest.fixture(scope="module")
def outcomes(root: Path) -> Iterator[list[Outcome]]:
    url = f"sqlite:///{root / 'node.db'}"
    config = Config(database={"url": url}, results={"dir": str(root / "results")},
                    inference={"backend": "auto", "device": "cpu"})
    with migrated_engine(url) as engine, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Invalid value for VR UI")  # RSNA's ID_... "UIDs"
        sessions = make_sessionmaker(engine)
        series = _register(sessions)
        context, runtime = StepContext(config, sessions, "realdata"), ModelRuntime(config)
        yield [_analyse(config, context, runtime, job_id, *entry) for job_id, entry in enumerate(series, start=1)]


def _register(sessions: sessionmaker[Session]) -> list[tuple[str, str, str, int]]:
    """Instance rows pointing at the shared files (nothing copied): (source, study, series, count) each."""
    found: dict[tuple[str, str, str], int] = {}
    with sessions.begin() as session:
        for source in SOURCES:
            for path in sorted((SHARED_DATA / source).glob("*.dcm")):
                ds = pydicom.dcmread(path, stop_before_pixels=True)
                key = (source, str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID))
                found[key] = found.get(key, 0) + 1
                session.add(Instance(
                    sop_instance_uid=str(ds.SOPInstanceUID), sop_class_uid=str(ds.file_meta.MediaStorageSOPClassUID),
                    study_uid=key[1], series_uid=key[2], modality=str(ds.get("Modality") or "") or None,
                    transfer_syntax=str(ds.file_meta.TransferSyntaxUID), path=str(path), size=path.stat().st_size,
                ))
    assert {key[0] for key in found} == set(SOURCES), "a source folder of ../shared/data is empty"
    return [(*key, count) for key, count in found.items()]


def _analyse(config: Config, context: StepContext, runtime: ModelRuntime, job_id: int, source: str, study: str, series: str,
             count: int) -> Outcome:
    with context.sessions() as session:
        refs = series_instances(session, series, 1 << 30)
    headers, unreadable = read_headers(refs)
    assert not unreadable
    selection = select_series(headers, config.selection)
    ticket = Ticket(job_id, study, series, 1, 1, 1, count, 1 << 30, context.worker_id, {})
    try:
        result = run_analysis(ticket, context, runtime).result
    except UnusableSeries as exc:
        return Outcome(source, series, count, selection.reason, selection.reasons, None, str(exc))
    return Outcome(source, series, count, selection.reason, selection.reasons, result["objects"], "")


def test_every_real_series_yields_results_or_a_named_skip_reason(outcomes: list[Outcome]) -> None:
    table = "\n".join(
        f"{o.source:36} {o.slices:4d}  selection: {o.selection[:60] or 'accepted':60}  "
        f"{f'{len(o.objects)} objects' if o.objects is not None else 'skipped: ' + o.skip_reason[:90]}"
        for o in outcomes
    )
    print(table)
    assert sum(o.slices for o in outcomes) == 238 + 1 + 10 + 21 + 28 + 234
    for outcome in outcomes:
        for reason in outcome.selection_reasons:
            assert NAMED.search(reason), reason
        if outcome.objects is None:
            assert NAMED.search(outcome.skip_reason), outcome.skip_reason
        else:
            assert outcome.objects and outcome.objects[0]["sop_class_uid"] == str(ComprehensiveSRStorage)


def test_expected_outcome_per_source(outcomes: list[Outcome]) -> None:
    by_source: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_source.setdefault(outcome.source, []).append(outcome)
    [cq500] = by_source["cq500-ct0/series"]
    assert cq500.selection == "" and cq500.objects is not None and len(cq500.objects) >= 2
    [stray] = by_source["cq500-ct0/stray"]
    assert "at least 10 needed (selection.min_slices)" in stray.selection and stray.objects is not None
    [visible_human] = by_source["real-ct/visible-human-female-head"]
    assert visible_human.objects is not None
    [ge] = by_source["real-ct/ge-head-dcmqa"]  # variable spacing: refused by selection, readable when forced
    assert "missing-slice gap" in ge.selection and ge.objects is not None
    rsna = by_source["rsna-slices/labelled"] + by_source["rsna-slices/unlabelled"]
    assert len(rsna) == 31  # every RSNA slice is its own series, with no thickness to give its SR
    for outcome in rsna:
        assert "at least 10 needed (selection.min_slices)" in outcome.selection
        assert outcome.objects is None and "SliceThickness (0018,0050) and SpacingBetweenSlices" in outcome.skip_reason


def test_results_are_written_and_read_back(outcomes: list[Outcome], root: Path) -> None:
    produced = {o["sop_instance_uid"] for outcome in outcomes for o in outcome.objects or []}
    files = {pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID: path for path in (root / "results").rglob("*.dcm")}
    assert set(files) == produced
