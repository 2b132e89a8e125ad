"""Every SR and SC the node produces passes dciodvfy, dsrdump renders the SR (issue 6, real tools).

Phantom studies with and without a bleed go through a real engine run (torch, untrained weights: arbitrary
but real probabilities); the CQ500 series (empty StudyDate/AccessionNumber/Manufacturer) uses constructed
probabilities to stay quick on CPU.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from dicomnode.reports import ReportContext, build_results, codes
from inference.engines.factory import create_engine
from inference.labels import LABELS
from inference.prediction import Prediction
from inference.volume import Volume
from tests.conftest import SHARED_DATA
from tests.dicomnode.reports.helpers import WHEN, dciodvfy, phantom_series

pytestmark = pytest.mark.integration

CQ500 = SHARED_DATA / "cq500-ct0" / "series"


@pytest.fixture(scope="module")
def engine():  # noqa: ANN201 - an inference Engine
    return create_engine(backend="torch", device="cpu")


def produce(datasets: list[Dataset], prediction: Prediction, out: Path, threshold: float) -> list[Path]:
    context = ReportContext.for_job(str(datasets[0].SeriesInstanceUID), 1, "c" * 64, threshold, created_at=WHEN)
    paths = []
    for number, ds in enumerate(build_results(prediction, datasets, context)):
        path = out / f"{number:02d}-{ds.Modality}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def check_tools(paths: list[Path], prediction: Prediction) -> None:
    for path in paths:
        errors, _ = dciodvfy(path)
        assert errors == [], f"{path.name}: {errors}"
    sr_path = paths[0]
    dump = subprocess.run([shutil.which("dsrdump") or "dsrdump", str(sr_path)], capture_output=True, text=True, timeout=60)
    assert dump.returncode == 0, dump.stderr
    assert "Imaging Measurement Report" in dump.stdout and "UNVERIFIED" in dump.stdout
    report = hd.sr.srread(sr_path).content
    values = {m.name.value: m.value for m in report.get_image_measurement_groups()[0].get_measurements()}
    assert [values[codes.probability_concept(label).value] for label in LABELS] == [float(p) for p in prediction.study_probs]


@pytest.mark.parametrize("subtype", ["IPH", "none"])
def test_phantom_results_pass_dciodvfy_and_read_back(subtype: str, engine, tmp_path: Path) -> None:  # noqa: ANN001
    datasets = phantom_series(tmp_path / "src", subtype=subtype, seed=11, n_slices=12, size=192)
    prediction = engine.predict(Volume.from_datasets(datasets))
    # the untrained model sits near 0.5: put the threshold on either side to get both branches
    threshold = 0.3 if subtype != "none" else 0.9
    paths = produce(datasets, prediction, tmp_path, threshold)
    assert len(paths) == (2 + min(3, 12) if subtype != "none" else 2)
    check_tools(paths, prediction)


@pytest.mark.realdata
@pytest.mark.slow
def test_cq500_results_pass_dciodvfy(tmp_path: Path) -> None:
    files = sorted(glob.glob(str(CQ500 / "*.dcm")))
    if not files:
        pytest.skip(f"no CQ500 series under {CQ500}")
    datasets = [pydicom.dcmread(f) for f in files]
    assert not datasets[0].get("StudyDate") and not datasets[0].get("AccessionNumber")
    uids = Volume.from_datasets(datasets).sop_instance_uids
    rng = np.random.default_rng(5)
    n = len(uids)
    prediction = Prediction(
        rng.uniform(0.0, 1.0, (n, len(LABELS))).astype(np.float32),
        np.array([0.93, 0.04, 0.81, 0.12, 0.66, 0.07], dtype=np.float32),
        rng.uniform(0.0, 1.0, (n, 8, 8)).astype(np.float32), uids, {}, "ich-test-net", "1.2.3", "torch:cpu",
    )
    paths = produce(datasets, prediction, tmp_path, 0.5)
    assert len(paths) == 5  # SR, 3 key slices, summary
    check_tools(paths, prediction)
    sr = pydicom.dcmread(paths[0])
    assert sr.PatientIdentityRemoved == "YES" and sr.DeidentificationMethod  # carried from the source
