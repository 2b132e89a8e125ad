"""The OHIF viewer (3.13) as a radiologist uses it, driven in Chromium: open a study, load an SR or a SEG, read
what is drawn and listed.

Selectors are OHIF's own ``data-cy`` attributes (its Cypress tests use them); what the viewer holds is read from
the globals the app exposes (``window.services``: OHIF's services; ``window.cornerstoneTools``: the annotation
state), so the test checks what the viewer loaded, not only what the DOM shows. Every wait is bounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from selenium.common.exceptions import JavascriptException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.viewer.browser import ConsoleEntry, console

TOUR_ID = "basicViewerTour"  # OHIF's first-visit tour over the viewport; a returning user has seen it
ERROR_TEXTS = ("Something went wrong", "Sorry, something went wrong")
THUMBNAILS = "[data-cy^='study-browser-thumbnail']"
DRAWN = "polyline, path, circle, rect, line, ellipse, g[data-annotation-uid]"  # what cornerstone3D tools draw

# Annotations of the current viewport, as cornerstone3D holds them: tool, image, label.
ANNOTATIONS_JS = """
return cornerstoneTools.annotation.state.getAllAnnotations()
  .filter(a => a.metadata && a.metadata.toolName !== 'ReferenceLines')
  .map(a => ({tool: a.metadata.toolName, image: a.metadata.referencedImageId || '',
              label: (a.data && a.data.label) || ''}));
"""
MEASUREMENTS_JS = """
return services.measurementService.getMeasurements().map(m => ({
  tool: m.toolName, label: m.label || '', sop: m.SOPInstanceUID || '', series: m.referenceSeriesUID || ''}));
"""
SEGMENTATIONS_JS = """
return services.segmentationService.getSegmentations().map(s => ({
  id: s.segmentationId, label: s.label || '',
  segments: Object.values(s.segments || {}).filter(Boolean).map(g => g.label || '')}));
"""
DISPLAY_SET_JS = """
const d = services.displaySetService.getActiveDisplaySets().find(s => s.SeriesInstanceUID === arguments[0]);
return d ? {modality: d.Modality || '', loaded: !!d.isLoaded, hydrated: !!d.isHydrated,
            rehydratable: !!d.isRehydratable, measurements: (d.measurements || []).length} : null;
"""
# Run a display set's loader (the one the viewport runs; re-running it is harmless) and report how it ends:
# OHIF 3.13 catches a failing SR loader in the viewport and logs nothing, leaving a black viewport.
LOADER_JS = """
const done = arguments[arguments.length - 1];
const d = services.displaySetService.getActiveDisplaySets().find(s => s.SeriesInstanceUID === arguments[0]);
if (!d || !d.load) { done('no loadable display set for series ' + arguments[0]); return; }
Promise.resolve().then(() => d.load()).then(() => done(null), e => done(String((e && e.stack) || e).slice(0, 1500)));
"""
CURRENT_IMAGES_JS = "return cornerstone.getEnabledElements().map(e => e.viewport.getCurrentImageId() || '');"
SVG_JS = f"""
const pane = document.querySelector('[data-cy=viewport-pane]');
const layer = pane && pane.querySelector('svg.svg-layer');
return layer ? layer.querySelectorAll({DRAWN!r}).length : 0;
"""


@dataclass(frozen=True)
class Drawn:
    """An annotation in the viewer: its tool, the image it is drawn on, its label."""

    tool: str
    image: str
    label: str


class OhifPage:
    """One browser tab on the OHIF app at ``base_url``; screenshots go to ``artifacts``."""

    def __init__(self, driver: WebDriver, base_url: str, artifacts: Path, timeout: float = 60.0) -> None:
        self.driver, self.base_url, self.artifacts, self.timeout = driver, base_url, artifacts, timeout
        self.log: list[ConsoleEntry] = []
        artifacts.mkdir(parents=True, exist_ok=True)

    # --- waiting and reading -------------------------------------------------------------------------------
    def wait(self, condition: Any, what: str, timeout: float | None = None) -> Any:
        """Wait until ``condition(driver)`` is truthy; on timeout, fail naming ``what`` and save a screenshot."""
        try:
            return WebDriverWait(self.driver, timeout or self.timeout, poll_frequency=0.25,
                                 ignored_exceptions=(StaleElementReferenceException, JavascriptException)
                                 ).until(condition)
        except TimeoutException:
            shot = self.screenshot("timeout-" + "".join(c if c.isalnum() else "-" for c in what)[:60])
            raise AssertionError(f"OHIF: timed out after {timeout or self.timeout} s waiting for {what} "
                                 f"(screenshot {shot}); console:\n" + "\n".join(map(str, self.console()))) from None

    def js(self, script: str) -> Any:
        return self.driver.execute_script(script)

    def console(self) -> list[ConsoleEntry]:
        """Every console message of this tab so far (kept across reads)."""
        self.log.extend(console(self.driver))
        return list(self.log)

    def console_errors(self) -> list[ConsoleEntry]:
        """Console messages at level SEVERE (``console.error``, uncaught exceptions, failed requests)."""
        return [e for e in self.console() if e.level == "SEVERE"]

    def hydration_failures(self) -> list[ConsoleEntry]:
        """Measurement groups that OHIF's SR hydration (the Cornerstone3D adapters' ``generateToolState``) could
        not turn into tools; it logs them as warnings, with the adapter's error."""
        return [e for e in self.console() if "Unable to generate tool state" in e.message]

    def error_screen(self) -> str | None:
        """The text of OHIF's error screen or of an error notification, if one is shown."""
        body = self.driver.find_element(By.TAG_NAME, "body").text
        for text in ERROR_TEXTS:
            if text in body:
                return body[:2000]
        toasts = self.driver.find_elements(By.CSS_SELECTOR, "[data-sonner-toast][data-type='error']")
        return "\n".join(t.text for t in toasts) or None

    def screenshot(self, name: str) -> Path:
        path = self.artifacts / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    # --- the study --------------------------------------------------------------------------------------------
    def open_study(self, study_uid: str) -> None:
        """Open ``/viewer?StudyInstanceUIDs=...`` and wait until the first image is on screen."""
        self.driver.get(f"{self.base_url}/app-config.js")  # same origin, to mark the tour as seen
        self.js(f"localStorage.setItem('shownTours', JSON.stringify(['{TOUR_ID}']));")
        self.driver.get(f"{self.base_url}/viewer?StudyInstanceUIDs={study_uid}")
        self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, THUMBNAILS), "the study browser's thumbnails")
        self.wait(lambda d: any(image for image in self.js(CURRENT_IMAGES_JS)), "an image in the viewport")

    def thumbnails(self) -> dict[str, WebElement]:
        """Study browser thumbnails by their text (modality, description, series number, count)."""
        return {e.text: e for e in self.driver.find_elements(By.CSS_SELECTOR, THUMBNAILS)}

    def thumbnail(self, modality: str, description: str) -> WebElement:
        def found(_: WebDriver) -> WebElement | None:
            for text, element in self.thumbnails().items():
                lines = text.splitlines()
                if lines and lines[0] == modality and description in text:
                    return element
            return None
        return self.wait(found, f"the {modality} thumbnail {description!r}", timeout=30)

    def load(self, modality: str, description: str) -> None:
        """Double-click a series' thumbnail, as a user opens it in the active viewport."""
        ActionChains(self.driver).double_click(self.thumbnail(modality, description)).perform()

    def hydration_prompt(self, timeout: float | None = None) -> str:
        """Wait for the viewport's "track measurements" / "open this Segmentation" prompt; return its text."""
        prompt = self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-cy='viewport-notification']"),
                           "the viewport's hydration prompt", timeout)
        return str(prompt[0].text)

    def accept_hydration(self) -> None:
        button = self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-cy='yes-hydrate-btn']"),
                           "the prompt's Yes button")
        button[0].click()

    # --- what the viewer shows --------------------------------------------------------------------------------
    def annotations(self) -> list[Drawn]:
        return [Drawn(a["tool"], a["image"], a["label"]) for a in self.js(ANNOTATIONS_JS)]

    def svg_elements(self) -> int:
        """Graphics (polylines, circles, handles, text groups) in the viewport's SVG annotation layer."""
        return int(self.js(SVG_JS))

    def display_set(self, series_uid: str) -> dict[str, Any] | None:
        """OHIF's display set of a series: loaded, hydrated, rehydratable, how many SR measurements it read."""
        found = self.driver.execute_script(DISPLAY_SET_JS, series_uid)
        return dict(found) if found else None

    def loader_error(self, series_uid: str) -> str | None:
        """The error (with OHIF's stack) that the series' display set loader raises, or None if it resolves."""
        error = self.driver.execute_async_script(LOADER_JS, series_uid)
        return str(error) if error else None

    def coloured_pixels(self, name: str) -> int:
        """Pixels of the viewport that are clearly coloured (a CT is grey; overlays and labelmaps are not).

        The viewport's screenshot is kept as ``name``.png.
        """
        pane = self.driver.find_element(By.CSS_SELECTOR, "[data-cy='viewport-pane']")
        path = self.artifacts / f"{name}.png"
        path.write_bytes(pane.screenshot_as_png)
        rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)
        inner = rgb[4:-4, 4:-4]  # leave out the active viewport's coloured border
        return int(((inner.max(axis=2) - inner.min(axis=2)) > 60).sum())

    def current_images(self) -> list[str]:
        return [str(i) for i in self.js(CURRENT_IMAGES_JS)]

    def measurements(self) -> list[dict[str, str]]:
        return list(self.js(MEASUREMENTS_JS))

    def segmentations(self) -> list[dict[str, Any]]:
        return list(self.js(SEGMENTATIONS_JS))

    def open_panel(self, button: str, panel: str) -> WebElement:
        """Open a right-hand panel by its tab (``trackedMeasurements``, ``panelSegmentation``) unless shown."""
        shown = self.driver.find_elements(By.CSS_SELECTOR, f"[data-cy='{panel}']")
        if not shown:
            self.driver.find_element(By.CSS_SELECTOR, f"[data-cy='{button}']").click()
        return self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, f"[data-cy='{panel}']"), f"the {panel}")[0]

    def measurement_rows(self) -> list[str]:
        """Titles of the rows of the measurement panel."""
        panel = self.open_panel("trackedMeasurements-btn", "trackedMeasurements-panel")
        return [r.text for r in panel.find_elements(By.CSS_SELECTOR, "[data-cy^='measurement-table-row-']")]

    def segment_rows(self) -> list[str]:
        """Segment labels listed in the segmentation panel."""
        self.driver.find_element(By.CSS_SELECTOR, "[data-cy='panelSegmentation-btn']").click()
        rows = self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-cy='segmentation-select']"),
                         "the segmentation panel")
        del rows
        return [r.text for r in self.driver.find_elements(By.CSS_SELECTOR, "[data-cy='data-row-title']")]
