"""Every SR, SEG and SC the node writes passes dciodvfy and PixelMed with no error (real tools).

Cases: phantoms with and without a bleed analysed by the real engine (torch, the shipped weights; the
threshold is put on either side of its output to get both branches), a phantom whose saliency sits on the
drawn bleed (so the SEG has regions for certain), an indeterminate result, and the real CQ500 series
(238 slices, JPEG Lossless, gantry tilt, empty type 2 attributes, no Frame of Reference UID) with
constructed probabilities, as received and with a Frame of Reference UID added so that its SEG is
validated on real geometry too.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from dicomnode.pipelines.ich_ct.results import ReportContext, build_results
from inference.ich.prediction import Prediction
from inference.ich.sessions import create_predictor
from inference.ich.volume import Volume
from tests.conftest import SHARED_DATA
from tests.dicomnode.pipelines.ich_ct.helpers import WHEN, lesion_case, phantom_series
from tests.integration.validators import Report, dciodvfy, pixelmed

pytestmark = pytest.mark.integration

CQ500 = SHARED_DATA / "cq500-ct0" / "series"
SR, SEG = "1.2.840.10008.5.1.4.1.1.88.33", "1.2.840.10008.5.1.4.1.1.66.4"


def produce(datasets: list[Dataset], prediction: Prediction, out: Path, threshold: float,
            reasons: tuple[str, ...] = ()) -> list[Path]:
    context = ReportContext.for_job(str(datasets[0].SeriesInstanceUID), 1, "c" * 64, threshold, created_at=WHEN,
                                    indeterminate_reasons=reasons)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, ds in enumerate(build_results(prediction, datasets, context)):
        path = out / f"{number:02d}-{ds.Modality}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def modalities(paths: list[Path]) -> list[str]:
    return [path.stem.split("-")[1] for path in paths]


@pytest.fixture(scope="module")
def phantom_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """Results of each phantom case, by name."""
    root = tmp_path_factory.mktemp("results")
    engine = create_predictor(backend="torch", device="cpu")
    cases: dict[str, list[Path]] = {}
    for subtype, threshold in (("IPH", 0.0), ("none", 1.0)):  # positive and negative whatever the weights say
        datasets = phantom_series(root / f"src-{subtype}", subtype=subtype, seed=11, n_slices=12, size=192)
        prediction = engine.predict(Volume.from_datasets(datasets))
        cases[f"engine-{subtype}"] = produce(datasets, prediction, root / f"engine-{subtype}", threshold)
    datasets, prediction, _ = lesion_case(root / "src-sdh", subtype="SDH", n_slices=12, size=192)
    cases["drawn-SDH"] = produce(datasets, prediction, root / "drawn-SDH", 0.5)
    cases["indeterminate"] = produce(datasets, prediction, root / "indeterminate", 0.5,
                                     reasons=("series outside the model's domain (test)",))
    return cases


def _cq500_prediction(datasets: list[Dataset]) -> Prediction:
    uids = Volume.from_datasets(datasets).sop_instance_uids
    n = len(uids)
    rng = np.random.default_rng(5)
    profile = np.exp(-0.5 * ((np.arange(n) - n / 2) / 15.0) ** 2)[:, None]
    study = np.array([0.93, 0.04, 0.81, 0.12, 0.66, 0.07], dtype=np.float32)
    saliency = rng.uniform(0.0, 0.2, (n, 8, 8)).astype(np.float32)
    saliency[:, 2:5, 2:5] += 1.0
    return Prediction((0.02 + profile * (study - 0.02)).astype(np.float32), study, saliency, uids, {},
                      "ich-test-net", "1.2.3", "torch:cpu")


@pytest.fixture(scope="module")
def cq500_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    files = sorted(glob.glob(str(CQ500 / "*.dcm")))
    if not files:
        pytest.skip(f"no CQ500 series under {CQ500}")
    root = tmp_path_factory.mktemp("cq500")
    datasets = [pydicom.dcmread(f) for f in files]
    assert not datasets[0].get("StudyDate") and "FrameOfReferenceUID" not in datasets[0]
    prediction = _cq500_prediction(datasets)
    cases = {"cq500": produce(datasets, prediction, root / "as-received", 0.5)}
    for ds in datasets:
        ds.FrameOfReferenceUID = "1.2.826.0.1.3680043.8.498.1"  # what a conformant scanner would have sent
    cases["cq500-with-frame-of-reference"] = produce(datasets, prediction, root / "with-for", 0.5)
    return cases


def check_dciodvfy(cases: dict[str, list[Path]]) -> None:
    for name, paths in cases.items():
        for path in paths:
            report = dciodvfy(path)
            assert report.errors == [], f"{name}/{path.name}: {report.errors}"


def check_pixelmed(cases: dict[str, list[Path]]) -> list[Report]:
    jobs = [("DicomSRValidator" if path.stem.endswith("SR") else "DicomInstanceValidator", path)
            for paths in cases.values() for path in paths if path.stem.split("-")[1] in ("SR", "SEG")]
    with ThreadPoolExecutor(max_workers=2) as pool:  # each run compiles PixelMed's rules (about 20 s for SR)
        reports = list(pool.map(lambda job: pixelmed(*job), jobs))
    for report in reports:
        assert report.errors == [], f"{report.path.parent.name}/{report.path.name}: {report.errors}"
        kind = "Root Template Validation Complete" if report.path.stem.endswith("SR") else "Found Segmentation IOD"
        assert kind in report.output, report.output[-500:]  # it validated, rather than skipped, the file
    return reports


def test_phantom_results_are_what_each_case_needs(phantom_results: dict[str, list[Path]]) -> None:
    assert modalities(phantom_results["engine-IPH"])[0] == "SR" and modalities(phantom_results["engine-IPH"]).count("OT") == 4
    assert modalities(phantom_results["engine-none"]) == ["SR", "OT"]
    assert modalities(phantom_results["drawn-SDH"]) == ["SR", "SEG", "OT", "OT", "OT", "OT"]
    assert modalities(phantom_results["indeterminate"]) == ["SR", "OT"]
    for paths in phantom_results.values():
        dump = subprocess.run([shutil.which("dsrdump") or "dsrdump", str(paths[0])], capture_output=True, text=True,
                              timeout=60)
        assert dump.returncode == 0 and "Imaging Measurement Report" in dump.stdout, dump.stderr
    drawn = hd.sr.srread(phantom_results["drawn-SDH"][0])
    assert drawn.SOPClassUID == SR and drawn.content.get_planar_roi_measurement_groups()
    assert pydicom.dcmread(phantom_results["drawn-SDH"][1]).SOPClassUID == SEG


def test_phantom_results_pass_dciodvfy(phantom_results: dict[str, list[Path]]) -> None:
    check_dciodvfy(phantom_results)


@pytest.mark.slow
def test_phantom_results_pass_pixelmed(phantom_results: dict[str, list[Path]]) -> None:
    reports = check_pixelmed(phantom_results)
    assert len(reports) >= 5  # four SRs and at least the drawn case's SEG


@pytest.mark.realdata
@pytest.mark.slow
def test_cq500_results_pass_dciodvfy_and_pixelmed(cq500_results: dict[str, list[Path]]) -> None:
    assert modalities(cq500_results["cq500"]) == ["SR", "OT", "OT", "OT", "OT"]  # no SEG without a frame of reference
    assert modalities(cq500_results["cq500-with-frame-of-reference"])[:2] == ["SR", "SEG"]
    check_dciodvfy(cq500_results)
    # the two SRs have the same structure: PixelMed checks the first's SR and the second's SEG
    check_pixelmed({"cq500": cq500_results["cq500"][:1],
                    "with-for": [p for p in cq500_results["cq500-with-frame-of-reference"] if p.stem.endswith("SEG")]})
    sr = pydicom.dcmread(cq500_results["cq500"][0])
    assert sr.PatientIdentityRemoved == "YES" and sr.DeidentificationMethod  # carried from the source
    report = hd.sr.srread(cq500_results["cq500"][0]).content
    groups = report.get_planar_roi_measurement_groups()
    assert {g.finding_type.meaning for g in groups} == {"Cerebral hemorrhage", "Subarachnoid intracranial hemorrhage"}
