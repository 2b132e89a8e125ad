"""The node's results in the OHIF viewer (issue 15 item 7): a real viewer in a real browser.

The node analyses a positive (subdural) and a negative phantom head CT and delivers its SR, SEG and SC objects
to Orthanc; the pinned OHIF app (npm ``@ohif/app``, installed by ``install_ohif.sh``) reads Orthanc over
DICOMweb through a same-origin proxy; headless Chromium opens each study as a radiologist would. The findings
the SR carries (read here with pydicom, independently of the writer) must be drawn on the images they
reference, hydrate into OHIF's measurement tools and be listed in the measurement panel; the SEG must load
and colour the image; the negative study must show no finding; and nothing may fail on the way (no error
screen, no console error). Screenshots land in ``test-artifacts/ohif/``.
"""

from __future__ import annotations

import time

import pytest

from tests.integration.viewer.bench import CT_IMAGE, SC, SEG, SR_CLASSES, Study
from tests.integration.viewer.conftest import Bench
from tests.integration.viewer.ohif_page import OhifPage
from tests.integration.viewer.sr_content import Finding, findings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def description(study: Study, *sop_classes: str) -> str:
    [series] = study.series_of(*sop_classes)
    return str(series["SeriesDescription"])


def series_uid(study: Study, *sop_classes: str) -> str:
    [uid] = [u for u, s in study.series.items() if s["SOPClassUID"] in sop_classes]
    return uid


def sop_uid(image_id: str) -> str:
    """The SOP Instance UID in a ``wadors:.../instances/<uid>/frames/1`` image id."""
    return image_id.split("/instances/")[1].split("/")[0] if "/instances/" in image_id else ""


def report_findings(bench: Bench, study: Study) -> list[Finding]:
    [sr] = study.instances_of(bench.pacs, *SR_CLASSES)
    return findings(sr)


def assert_clean(viewer: OhifPage, step: str) -> None:
    """No error screen or error notification, and no console error, so far."""
    screen = viewer.error_screen()
    assert screen is None, f"OHIF shows an error after {step}:\n{screen}"
    errors = viewer.console_errors()
    assert not errors, f"console errors after {step}:\n" + "\n".join(map(str, errors))


def test_study_opens_with_every_result_of_the_node(bench: Bench, viewer: OhifPage) -> None:
    study = bench.positive
    assert study.series_of(SEG), f"the node delivered no SEG for the positive study: {study.series}"
    viewer.open_study(study.study_uid)
    for modality, classes in (("CT", (CT_IMAGE,)), ("SR", tuple(SR_CLASSES)), ("SEG", (SEG,)), ("OT", (SC,))):
        viewer.thumbnail(modality, description(study, *classes))
    ct = series_uid(study, CT_IMAGE)
    assert f"/series/{ct}/" in viewer.current_images()[0], f"the viewport does not show the CT: {viewer.current_images()}"
    viewer.screenshot("positive-study-opened")
    assert_clean(viewer, "opening the positive study")


def test_sr_findings_are_drawn_on_their_images_and_listed(bench: Bench, viewer: OhifPage) -> None:
    study = bench.positive
    groups = report_findings(bench, study)
    assert groups, "the positive study's SR has no measurement group"
    assert any("subdural" in g.finding.lower() for g in groups), [g.finding for g in groups]
    for group in groups:
        assert group.graphics and group.images, f"measurement group without geometry: {group}"
    referenced = set().union(*(g.images for g in groups))

    viewer.open_study(study.study_uid)
    viewer.load("SR", description(study, *SR_CLASSES))
    error = viewer.loader_error(series_uid(study, *SR_CLASSES))
    assert error is None, f"OHIF's SR loader fails on the positive SR:\n{error}"
    drawn = viewer.wait(lambda _: viewer.annotations(), "the SR's findings drawn in the viewport")
    viewer.wait(lambda _: viewer.svg_elements() > 0, "SVG graphics in the viewport's annotation layer")
    shown = sop_uid(viewer.current_images()[0])
    assert shown in referenced, f"the SR viewport shows {shown}, not an image the SR references"
    assert {sop_uid(a.image) for a in drawn} <= referenced, drawn
    viewer.screenshot("positive-sr-drawn")
    assert_clean(viewer, "loading the SR")

    prompt = viewer.hydration_prompt()
    assert "tracking measurements" in prompt, prompt
    viewer.accept_hydration()
    viewer.wait(lambda _: viewer.measurements() or viewer.hydration_failures(), "the SR hydrated into measurements")
    failures = viewer.hydration_failures()
    assert not failures, "OHIF could not hydrate measurement groups into tools:\n" + "\n".join(map(str, failures))
    measurements = viewer.measurements()
    assert len(measurements) == len(groups), (
        f"{len(groups)} measurement groups, {len(measurements)} hydrated (OHIF hydrates a POLYLINE of other than 4/5 "
        f"points only by a Cornerstone3D tracking identifier): {measurements}")
    assert {m["sop"] for m in measurements} <= referenced, measurements
    rows = viewer.wait(lambda _: viewer.measurement_rows(), "rows in the measurement panel")
    for group in groups:
        assert any(group.finding in row for row in rows), f"{group.finding!r} is not listed: {rows}"
    assert viewer.svg_elements() > 0
    viewer.screenshot("positive-sr-hydrated")
    assert_clean(viewer, "hydrating the SR")


def test_seg_is_loaded_and_overlaid(bench: Bench, viewer: OhifPage) -> None:
    study = bench.positive
    [seg] = study.instances_of(bench.pacs, SEG)
    labels = [str(s.SegmentLabel) for s in seg.SegmentSequence]
    assert labels, "the SEG has no segment"

    viewer.open_study(study.study_uid)
    before = viewer.coloured_pixels("positive-ct-viewport")
    viewer.load("SEG", description(study, SEG))
    prompt = viewer.hydration_prompt()
    assert "Segmentation" in prompt, prompt
    viewer.accept_hydration()
    loaded = viewer.wait(lambda _: [s for s in viewer.segmentations() if s["segments"]], "the SEG's segments")
    assert sorted(loaded[0]["segments"]) == sorted(labels), (loaded, labels)
    rows = viewer.segment_rows()
    for label in labels:
        assert label in rows, f"segment {label!r} is not listed: {rows}"
    after = viewer.wait(lambda _: (n := viewer.coloured_pixels("positive-seg-viewport")) > before + 200 and n,
                        "the segmentation coloured on the image", timeout=30)
    assert after > before
    viewer.screenshot("positive-seg-overlaid")
    assert_clean(viewer, "loading the SEG")


def test_negative_study_shows_no_finding(bench: Bench, viewer: OhifPage) -> None:
    study = bench.negative
    assert report_findings(bench, study) == [], "the negative study's SR has measurement groups"
    assert not study.series_of(SEG), f"a SEG was delivered for the negative study: {study.series}"

    viewer.open_study(study.study_uid)
    viewer.thumbnail("SR", description(study, *SR_CLASSES))  # the result is there to open
    sr = series_uid(study, *SR_CLASSES)
    error = viewer.loader_error(sr)  # OHIF's SR loader, as the SR viewport and the hydration run it
    assert error is None, f"OHIF's SR loader fails on the negative SR:\n{error}"
    state = viewer.display_set(sr)
    assert state and state["loaded"] and state["measurements"] == 0, state
    assert viewer.annotations() == [] and viewer.measurements() == []
    assert viewer.svg_elements() == 0
    viewer.screenshot("negative-study-opened")
    assert_clean(viewer, "opening the negative study and loading its SR")


@pytest.mark.xfail(strict=True, reason=(
    "OHIF 3.13.2 (and 3.14.0-beta.6): the SR viewport reads measurements[0] of every SR it opens "
    "(extensions/cornerstone-dicom-sr OHIFCornerstoneSRMeasurementViewport _getViewportReferencedDisplaySetData: "
    "TypeError: Cannot destructure property 'displaySetInstanceUID' of 'measurement' as it is undefined), so an SR "
    "without a measurement group shows 'Something went wrong'; the node cannot avoid it without drawing a finding "
    "on a negative study. Strict: passes, and fails this test, once OHIF handles it."))
def test_negative_sr_opens_in_the_sr_viewport(bench: Bench, viewer: OhifPage) -> None:
    study = bench.negative
    viewer.open_study(study.study_uid)
    viewer.load("SR", description(study, *SR_CLASSES))
    sr = series_uid(study, *SR_CLASSES)
    viewer.wait(lambda _: (d := viewer.display_set(sr)) and d["loaded"], "the negative SR loaded")
    deadline = time.monotonic() + 15  # the SR viewport settles (or fails) within seconds of its display set
    while viewer.error_screen() is None and time.monotonic() < deadline:
        time.sleep(0.25)
    viewer.screenshot("negative-sr-viewport")
    assert viewer.annotations() == [] and viewer.measurements() == []
    assert_clean(viewer, "opening the negative study's SR in the SR viewport")
