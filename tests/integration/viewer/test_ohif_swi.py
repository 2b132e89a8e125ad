"""The microbleed results in the OHIF viewer: an SWI phantom analysed by the node, opened in a real browser.

The node's Comprehensive 3D SR (one SCOORD3D point per microbleed in the magnitude's frame of reference) and
its SC key images arrive in Orthanc beside the two MR series; the pinned OHIF app opens the study over
DICOMweb as a radiologist would: the SR loads without error, hydrates into one measurement per microbleed
(OHIF's Probe tool, placed by its frame of reference) and the measurement panel lists them. Not checked:
that OHIF 3.13's stack viewport draws a SCOORD3D point on its slice or jumps to it from the panel (a click on
a row did not change the slice here); the SC key images carry the marked slices for that.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_end_to_end_pipelines import swi_files
from tests.integration.viewer.bench import SC, Study
from tests.integration.viewer.conftest import Bench, browser_tab, served
from tests.integration.viewer.ohif_page import OhifPage
from tests.integration.viewer.sr_content import findings
from tests.integration.viewer.test_ohif import assert_clean, description, series_uid

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SR_3D = "1.2.840.10008.5.1.4.1.1.88.34"
MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"


def _swi_study(root: Path) -> list[Study]:
    study_uid, files = swi_files(root / "swi")
    return [Study("swi", "CMB", study_uid, files)]


@pytest.fixture(scope="module")
def swi_bench(ohif_app: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Bench, Study]]:
    """An SWI phantom analysed and served to the viewer (:func:`~tests.integration.viewer.conftest.served`)."""
    with served(ohif_app, tmp_path_factory.mktemp("viewer-swi"), _swi_study) as (pacs, url, [study]):
        yield Bench(pacs, url, study, study), study


@pytest.fixture
def viewer(swi_bench: tuple[Bench, Study], tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[OhifPage]:
    """A fresh headless Chromium tab on the viewer of the SWI bench."""
    with browser_tab(swi_bench[0].url, tmp_path, request.node.name) as page:
        yield page


def test_the_microbleed_sr_loads_with_one_measurement_per_microbleed(
    swi_bench: tuple[Bench, Study], viewer: OhifPage,
) -> None:
    bench, study = swi_bench
    [sr] = study.instances_of(bench.pacs, SR_3D)
    groups = findings(sr)
    assert groups and all(g.graphics and g.graphics[0].value_type == "SCOORD3D" for g in groups), groups
    viewer.open_study(study.study_uid)
    for mr in study.series_of(MR_IMAGE):  # magnitude and phase
        viewer.thumbnail("MR", str(mr["SeriesDescription"]))
    for modality, sop_class in (("SR", SR_3D), ("OT", SC)):
        viewer.thumbnail(modality, description(study, sop_class))
    viewer.screenshot("swi-study-opened")
    assert_clean(viewer, "opening the SWI study")
    sr_series = series_uid(study, SR_3D)
    viewer.load("SR", description(study, SR_3D))
    error = viewer.loader_error(sr_series)
    assert error is None, f"OHIF's SR loader fails on the microbleed SR:\n{error}"
    state = viewer.wait(lambda _: (s := viewer.display_set(sr_series)) and s["loaded"] and s, "the SR loaded")
    viewer.screenshot("swi-sr-loaded")
    assert state["measurements"] == len(groups), (state, len(groups))
    assert_clean(viewer, "loading the microbleed SR")

    prompt = viewer.hydration_prompt()
    assert "tracking measurements" in prompt, prompt
    viewer.accept_hydration()
    viewer.wait(lambda _: viewer.measurements() or viewer.hydration_failures(), "the SR hydrated into measurements")
    failures = viewer.hydration_failures()
    assert not failures, "OHIF could not hydrate the microbleeds into tools:\n" + "\n".join(map(str, failures))
    measurements = viewer.measurements()
    rows = viewer.wait(lambda _: viewer.measurement_rows(), "rows in the measurement panel")
    viewer.screenshot("swi-sr-hydrated")
    assert len(measurements) == len(groups), (measurements, len(groups))
    for group in groups:
        assert any(group.tracking_id.split(" (")[0] in row or "microbleed" in row.lower() for row in rows), (group, rows)
    assert_clean(viewer, "hydrating the microbleed SR")
