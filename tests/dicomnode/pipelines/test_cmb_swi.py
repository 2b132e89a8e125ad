"""The microbleed pipeline: which series it takes, the jobs the assembler makes, and a real run on a phantom."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from sqlalchemy.orm import Session, sessionmaker

from db.jobs import NO_PIPELINE, Ticket
from db.models import utcnow
from dicomnode.assembly.assembler import Assembler
from dicomnode.config import Config
from dicomnode.errors import ConfigError
from dicomnode.pipelines import PIPELINES, enabled_pipelines, load_pipeline
from dicomnode.pipelines.base import InputSet, NotApplicable, OtherSeries, Refusal, Reopen, Wait
from dicomnode.workers.step import StepContext
from inference.cmb.phantom.dicom_writer import write_swi_dicom
from inference.cmb.phantom.study import generate_swi_phantom
from tests.dicomnode.assembly.test_assembler import audit, jobs, store
from tests.factories import ct_series

QUIET = {"quiet_seconds": 5.0, "release_grace_seconds": 1.0}
CMB = load_pipeline("cmb_swi")


@pytest.fixture(scope="module")
def swi_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A 24-slice SWI phantom (magnitude + phase, two series) with microbleeds."""
    out = tmp_path_factory.mktemp("swi")
    return write_swi_dicom(generate_swi_phantom(3, n_slices=24), out)


def split(files: list[Path]) -> tuple[list[Dataset], list[Dataset]]:
    datasets = [pydicom.dcmread(p) for p in files]
    magnitude = [ds for ds in datasets if ds.ImageType[2] == "M"]
    phase = [ds for ds in datasets if ds.ImageType[2] == "P"]
    return magnitude, phase


class Others:
    """A study whose other series are given."""

    def __init__(self, *others: OtherSeries) -> None:
        self.others = list(others)

    def other_series(self) -> list[OtherSeries]:
        return self.others


def test_the_magnitude_series_takes_its_complete_phase_partner(swi_files: list[Path]) -> None:
    magnitude, phase = split(swi_files)
    verdict = CMB.select(magnitude, Config(), Others(OtherSeries(str(phase[0].SeriesInstanceUID), phase, 77, True)))
    assert isinstance(verdict, InputSet)
    assert verdict.series_uids == (str(magnitude[0].SeriesInstanceUID), str(phase[0].SeriesInstanceUID))
    assert verdict.facts["input_snapshots"] == {str(phase[0].SeriesInstanceUID): 77}


def test_the_magnitude_waits_while_its_phase_is_arriving(swi_files: list[Path]) -> None:
    magnitude, phase = split(swi_files)
    verdict = CMB.select(magnitude, Config(), Others(OtherSeries(str(phase[0].SeriesInstanceUID), phase, 5, False)))
    assert isinstance(verdict, Wait) and "still arriving" in verdict.reason


def test_the_phase_series_is_read_with_its_magnitude_and_gets_no_job_of_its_own(swi_files: list[Path]) -> None:
    magnitude, phase = split(swi_files)
    verdict = CMB.select(phase, Config(), Others(OtherSeries(str(magnitude[0].SeriesInstanceUID), magnitude, 9, True)))
    assert isinstance(verdict, NotApplicable) and str(magnitude[0].SeriesInstanceUID) in verdict.reason
    assert isinstance(CMB.select(phase, Config(), Others()), Refusal)


def test_a_phase_series_reopens_its_magnitude_series_judged_without_phase(swi_files: list[Path]) -> None:
    magnitude, phase = split(swi_files)
    uid = str(magnitude[0].SeriesInstanceUID)
    for judged in ({"cmb_swi": (uid,)}, {NO_PIPELINE: (uid,)}):  # ran magnitude-only; passed over by every pipeline
        verdict = CMB.select(phase, Config(), Others(OtherSeries(uid, magnitude, 9, True, judged)))
        assert isinstance(verdict, Reopen) and verdict.series_uid == uid and "judged again" in verdict.reason
    other_phase = {"cmb_swi": (uid, "1.2.3.4")}  # already read with a phase series: this one is not added
    assert isinstance(CMB.select(phase, Config(), Others(OtherSeries(uid, magnitude, 9, True, other_phase))),
                      NotApplicable)


def test_a_late_phase_series_gives_its_magnitude_series_a_new_job_that_reads_both(
    sessions: sessionmaker[Session], tmp_path: Path, swi_files: list[Path],
) -> None:
    magnitude, phase = split(swi_files)
    magnitude_uid, phase_uid = str(magnitude[0].SeriesInstanceUID), str(phase[0].SeriesInstanceUID)
    config = Config(assembly=QUIET)
    store(sessions, magnitude, tmp_path / "stored", None)
    [alone] = Assembler(config, sessions).tick(utcnow() + timedelta(seconds=6))
    assert alone.pipeline == "cmb_swi" and alone.state == "queued"
    store(sessions, phase, tmp_path / "stored", None)
    assert Assembler(config, sessions).tick(utcnow() + timedelta(seconds=2)) == []  # the phase is still arriving
    decisions = Assembler(config, sessions).tick(utcnow() + timedelta(seconds=6))
    assert sorted((d.series_uid, d.pipeline) for d in decisions) == sorted(
        [(phase_uid, NO_PIPELINE), (magnitude_uid, "cmb_swi")])
    first, none, both = jobs(sessions)
    assert first.detail["magnitude_only"] is True and first.state == "skipped" and first.superseded_by == both.id
    assert both.series_uid == magnitude_uid and both.version == 2 and both.ready_rule == "partner"
    assert both.inputs == [magnitude_uid, phase_uid] and "magnitude_only" not in both.detail
    assert none.series_uid == phase_uid and "judged again with them" in (none.reason or "")
    [superseded] = [e for e in audit(sessions, "job") if e.outcome == "superseded"]
    assert f"input series changed from {magnitude_uid} to {magnitude_uid}, {phase_uid}" in superseded.message
    assert Assembler(config, sessions).tick(utcnow() + timedelta(seconds=8)) == []  # nothing judged twice


def test_a_series_passed_over_then_reopened_is_still_judged_again_when_it_grows(
    sessions: sessionmaker[Session], tmp_path: Path, swi_files: list[Path],
) -> None:
    """A magnitude series that no pipeline took (no phase yet, not described as SWI) and then reopened by its
    phase holds two version-1 jobs (pipelines ``none`` and ``cmb_swi``); more instances still make a new one."""
    magnitude, phase = split(swi_files)
    for ds in magnitude:
        ds.ScanningSequence = "SE"
    config = Config(assembly=QUIET)
    store(sessions, magnitude[:-1], tmp_path / "stored", None)
    [passed_over] = Assembler(config, sessions).tick(utcnow() + timedelta(seconds=6))
    assert passed_over.pipeline == NO_PIPELINE
    store(sessions, phase, tmp_path / "stored", None)
    Assembler(config, sessions).tick(utcnow() + timedelta(seconds=6))
    versions = sorted((job.pipeline, job.version) for job in jobs(sessions) if job.series_uid == passed_over.series_uid)
    assert versions == [("cmb_swi", 1), (NO_PIPELINE, 1)]
    store(sessions, magnitude[-1:], tmp_path / "stored", None)
    [grown] = Assembler(config, sessions).tick(utcnow() + timedelta(seconds=6))
    assert (grown.series_uid, grown.pipeline) == (passed_over.series_uid, "cmb_swi")
    [newest] = [job for job in jobs(sessions) if job.id == grown.job_id]
    assert newest.version == 2 and newest.instance_count == len(magnitude)


def test_magnitude_only_swi_runs_when_allowed_and_is_refused_otherwise(swi_files: list[Path]) -> None:
    magnitude, _ = split(swi_files)
    verdict = CMB.select(magnitude, Config(), Others())
    assert isinstance(verdict, InputSet) and verdict.facts["magnitude_only"] is True
    strict = Config(pipelines={"cmb_swi": {"allow_magnitude_only": False}})
    refused = CMB.select(magnitude, strict, Others())
    assert isinstance(refused, Refusal) and "allow_magnitude_only" in refused.reason


def test_other_mr_and_ct_series_are_not_for_this_pipeline(swi_files: list[Path]) -> None:
    magnitude, _ = split(swi_files)
    for ds in magnitude:  # a T1 spin echo also has Image Type value 3 "M"
        ds.ScanningSequence, ds.SeriesDescription = "SE", "T1 AX"
    assert isinstance(CMB.select(magnitude, Config(), Others()), NotApplicable)
    verdict = CMB.select(ct_series(12, 32), Config(), Others())
    assert isinstance(verdict, NotApplicable) and "is not MR" in verdict.reason


def test_thick_slices_are_refused_with_the_reason(swi_files: list[Path]) -> None:
    magnitude, phase = split(swi_files)
    for ds in magnitude:
        ds.SliceThickness = "5"
    verdict = CMB.select(magnitude, Config(), Others(OtherSeries(str(phase[0].SeriesInstanceUID), phase, 1, True)))
    assert isinstance(verdict, Refusal) and "Slice Thickness 5 mm" in verdict.reason


def test_settings_are_validated_naming_the_key() -> None:
    with pytest.raises(ConfigError, match="pipelines.cmb_swi.max_key_images"):
        enabled_pipelines(Config(pipelines={"cmb_swi": {"max_key_images": -1}}))
    with pytest.raises(ConfigError, match="pipelines.cmb_swi.no_such_key: unknown key"):
        enabled_pipelines(Config(pipelines={"cmb_swi": {"no_such_key": 1}}))


def test_the_pipelines_results_never_share_a_series_number() -> None:
    numbers = [n for name in PIPELINES for n in load_pipeline(name).series_numbers]
    assert len(numbers) == len(set(numbers))


def test_an_swi_study_becomes_one_microbleed_job_and_a_record_for_the_phase_series(
    sessions: sessionmaker[Session], tmp_path: Path, swi_files: list[Path],
) -> None:
    magnitude, phase = split(swi_files)
    store(sessions, magnitude + phase, tmp_path / "stored", None)
    decisions = Assembler(Config(assembly=QUIET), sessions).tick(utcnow() + timedelta(seconds=6))
    assert sorted(d.pipeline for d in decisions) == sorted(["cmb_swi", NO_PIPELINE])
    by_pipeline = {job.pipeline: job for job in jobs(sessions)}
    assert set(by_pipeline) == {"cmb_swi", NO_PIPELINE}  # no hemorrhage job for an MR study
    cmb = by_pipeline["cmb_swi"]
    assert cmb.state == "queued" and cmb.series_uid == str(magnitude[0].SeriesInstanceUID)
    assert cmb.inputs == [str(magnitude[0].SeriesInstanceUID), str(phase[0].SeriesInstanceUID)]
    none = by_pipeline[NO_PIPELINE]
    assert none.state == "skipped" and none.series_uid == str(phase[0].SeriesInstanceUID)
    assert "ich_ct: Modality MR is not one of CT" in (none.reason or "")
    assert "cmb_swi: phase images, read with magnitude series" in (none.reason or "")
    assert Assembler(Config(assembly=QUIET), sessions).tick(utcnow() + timedelta(seconds=7)) == []


def test_a_run_writes_a_3d_sr_with_one_point_per_microbleed_and_marked_key_images(
    sessions: sessionmaker[Session], tmp_path: Path, swi_files: list[Path],
) -> None:
    magnitude, phase = split(swi_files)
    store(sessions, magnitude + phase, tmp_path / "stored", None)
    Assembler(Config(assembly=QUIET), sessions).tick(utcnow() + timedelta(seconds=6))
    [job] = [job for job in jobs(sessions) if job.pipeline == "cmb_swi"]
    ticket = Ticket(job.id, job.study_uid, job.series_uid, job.version, 1, 3, job.instance_count,
                    job.max_instance_id, "w1", dict(job.detail), job.created_at, job.pipeline, tuple(job.inputs or ()))
    config = Config(results={"dir": str(tmp_path / "results")})
    context = StepContext(config, sessions, "w1")
    outcome = CMB.run(ticket, ticket.inputs, CMB.load_model(config), context)
    result = outcome.result
    assert result["magnitude_only"] is False and result["count"] == len(result["microbleeds"])
    files = sorted((tmp_path / "results").rglob("*.dcm"))
    written = [pydicom.dcmread(p) for p in files]
    [sr] = [ds for ds in written if ds.Modality == "SR"]
    assert sr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"
    assert sr.SeriesNumber == 9911 and sr.StudyInstanceUID == magnitude[0].StudyInstanceUID
    groups = [item for item in sr.ContentSequence if item.ConceptNameCodeSequence[0].CodeValue == "126010"]
    points = [content for group in groups[0].get("ContentSequence", []) for content in group.ContentSequence
              if content.ValueType == "SCOORD3D"]
    assert len(points) == result["count"]
    assert {p.ReferencedFrameOfReferenceUID for p in points} <= {magnitude[0].FrameOfReferenceUID}
    for point, bleed in zip(points, result["microbleeds"]):
        assert [round(float(v), 1) for v in point.GraphicData] == [round(v, 1) for v in bleed["patient_mm"]]
    sc = [ds for ds in written if ds.Modality != "SR"]
    assert sc and all(ds.SeriesNumber == 9912 and ds.BurnedInAnnotation == "YES" for ds in sc)
    again = CMB.run(ticket, ticket.inputs, CMB.load_model(config), context)
    assert again.result["objects"] == result["objects"]
    assert [p.read_bytes() for p in files] == [p.read_bytes() for p in sorted((tmp_path / "results").rglob("*.dcm"))]
