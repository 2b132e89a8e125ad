"""Every microbleed SR and SC the node writes passes dciodvfy and PixelMed with no error (real tools).

Cases, each detected by the real two-stage detector with the shipped weights: an SWI phantom with
microbleeds read with its phase, the same study magnitude-only, and a phantom without microbleeds read
with a threshold above every probability (a negative result for certain; at the shipped threshold the
detector reports about 0.8 false positives per study, see inference/cmb/MODEL_CARD.md).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import highdicom as hd
import pydicom
import pytest
from pydicom.dataset import Dataset

from db.jobs import Ticket
from dicomnode.pipelines.cmb_swi.context import CmbReport
from dicomnode.pipelines.cmb_swi.results import build_results
from inference.cmb import detect, load_model, load_swi
from inference.cmb.phantom.dicom_writer import write_swi_dicom
from inference.cmb.phantom.study import generate_swi_phantom
from tests.dicomnode.pipelines.ich_ct.helpers import WHEN
from tests.integration.test_results_dicom import check_dciodvfy
from tests.integration.validators import pixelmed

pytestmark = pytest.mark.integration

SR_3D = "1.2.840.10008.5.1.4.1.1.88.34"


def produce(datasets: list[Dataset], out: Path, magnitude_only: bool = False, threshold: float | None = None
            ) -> list[Path]:
    """Detect on ``datasets`` (one SWI study) and write the results as the pipeline does."""
    volume = load_swi(datasets, allow_magnitude_only=True)
    phase = None if magnitude_only else volume.phase
    model = load_model()
    if threshold is not None:
        model = replace(model, threshold=threshold)
    result = detect(volume.magnitude, phase, volume.spacing_mm, model, volume.affine)
    by_uid = {str(ds.SOPInstanceUID): ds for ds in datasets}
    magnitude = [by_uid[uid] for uid in volume.magnitude_sop_uids]
    ticket = Ticket(1, str(magnitude[0].StudyInstanceUID), str(magnitude[0].SeriesInstanceUID), 1, 1, 3,
                    len(datasets), len(datasets), "w1", {}, WHEN, "cmb_swi")
    report = CmbReport.for_job(ticket, model.name, model.version, "d" * 64,
                               volume.frame_of_reference_uid, 4, {"operating threshold": f"{result.threshold:g}"})
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, ds in enumerate(build_results(result, magnitude, volume.magnitude, report)):
        path = out / f"{number:02d}-{ds.Modality}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def phantom(out: Path, seed: int, n_microbleeds: int | None = None) -> list[Dataset]:
    files = write_swi_dicom(generate_swi_phantom(seed, n_slices=32, n_microbleeds=n_microbleeds), out)
    return [pydicom.dcmread(p) for p in files]


@pytest.fixture(scope="module")
def cmb_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    root = tmp_path_factory.mktemp("cmb")
    with_bleeds = phantom(root / "src-bleeds", seed=5)
    return {
        "phase": produce(with_bleeds, root / "phase"),
        "magnitude-only": produce(with_bleeds, root / "magnitude-only", magnitude_only=True),
        "none": produce(phantom(root / "src-none", seed=6, n_microbleeds=0), root / "none", threshold=2.0),
    }


def test_each_case_has_one_3d_sr_first_then_key_images(cmb_results: dict[str, list[Path]]) -> None:
    for name, paths in cmb_results.items():
        sr = hd.sr.srread(paths[0])
        assert sr.SOPClassUID == SR_3D, name
        assert [pydicom.dcmread(p).Modality for p in paths[1:]] and all(
            pydicom.dcmread(p).SOPClassUID == "1.2.840.10008.5.1.4.1.1.7" for p in paths[1:]), name
        [measurements] = [item for item in sr.ContentSequence if item.ConceptNameCodeSequence[0].CodeValue == "126010"]
        if name == "none":
            assert "ContentSequence" not in measurements  # no group: an empty container
            continue
        groups = sr.content.get_planar_roi_measurement_groups()
        assert groups and all(g.reference_type.value == "111030" for g in groups)  # an Image Region
    summary = " ".join(str(item.TextValue) for item in pydicom.dcmread(cmb_results["magnitude-only"][0])
                       .ContentSequence[-1].ContentSequence if "TextValue" in item)
    assert "magnitude-only input" in summary


def test_cmb_results_pass_dciodvfy(cmb_results: dict[str, list[Path]]) -> None:
    check_dciodvfy(cmb_results)


@pytest.mark.slow
def test_cmb_srs_pass_pixelmed(cmb_results: dict[str, list[Path]]) -> None:
    for name, paths in cmb_results.items():
        report = pixelmed("DicomSRValidator", paths[0])
        assert report.errors == [], f"{name}: {report.errors}"
        assert "Root Template Validation Complete" in report.output, report.output[-500:]
