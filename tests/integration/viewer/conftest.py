"""Fixtures of the real-viewer test: the OHIF app, the bench (Orthanc + node + phantoms) and a browser tab."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.orthanc import Orthanc
from tests.integration.viewer.bench import Study, analyse, node_for, write_phantom
from tests.integration.viewer.browser import chromium
from tests.integration.viewer.ohif_page import OhifPage
from tests.integration.viewer.ohif_server import INSTALLER, OHIF_VERSION, OhifNotInstalled, OhifServer, ohif_dist

# Another @ohif/app version (e.g. a newer release or a beta) can be tried with DICOMNODE_OHIF_VERSION=...;
# the default is the pinned one, which .ci/run installs.
VERSION = os.environ.get("DICOMNODE_OHIF_VERSION", OHIF_VERSION)
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "ohif" / VERSION
POSITIVE = ("positive", "SDH", 7)  # label, phantom subtype, seed: a subdural bleed the shipped model finds
NEGATIVE = ("negative", "none", 11)


@dataclass
class Bench:
    """Everything the viewer needs, up and filled: the PACS, the viewer's URL and the analysed studies."""

    pacs: Orthanc
    url: str
    positive: Study
    negative: Study


@pytest.fixture(scope="session")
def ohif_app() -> Path:
    """The pinned ``@ohif/app`` dist, installed by ``install_ohif.sh`` if missing (npm registry, idempotent)."""
    try:
        return ohif_dist(VERSION)
    except OhifNotInstalled:
        done = subprocess.run([str(INSTALLER), VERSION], capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            pytest.fail(f"could not install @ohif/app@{VERSION} with {INSTALLER} (run it by hand; it needs npm "
                        f"and the npm registry):\n{done.stdout}{done.stderr}")
        return ohif_dist(VERSION)


@contextmanager
def served(
    ohif_app: Path, root: Path, write_studies: Callable[[Path], list[Study]],
) -> Iterator[tuple[Orthanc, str, list[Study]]]:
    """Orthanc with DICOMweb, a node delivering to it, the studies ``write_studies(root)`` writes analysed, and the
    OHIF app served in front of Orthanc's DICOMweb: (PACS, viewer URL, studies)."""
    (root / "orthanc").mkdir()
    pacs = Orthanc(root / "orthanc", dicomweb=True)
    pacs.start()
    node = node_for(root / "node", f"sqlite:///{root / 'node.db'}", pacs)
    server: OhifServer | None = None
    try:
        node.start()
        studies = write_studies(root)
        analyse(pacs, node, studies)
        server = OhifServer(ohif_app, pacs.http_port)
        server.start()
        yield pacs, server.url, studies
    finally:
        if server is not None:
            server.stop()
        node.stop()
        pacs.stop()


@contextmanager
def browser_tab(url: str, tmp_path: Path, name: str) -> Iterator[OhifPage]:
    """A fresh headless Chromium tab on the viewer at ``url``; a last screenshot ``<name>-last`` is kept."""
    driver = chromium(tmp_path / "chromium-profile")
    page = OhifPage(driver, url, ARTIFACTS)
    try:
        yield page
    finally:
        try:
            page.screenshot(f"{name}-last")
        finally:
            driver.quit()


def _phantom_studies(root: Path) -> list[Study]:
    studies = []
    for label, subtype, seed in (POSITIVE, NEGATIVE):
        uid, files = write_phantom(root / label, subtype, seed)
        studies.append(Study(label, subtype, uid, files))
    return studies


@pytest.fixture(scope="module")
def bench(ohif_app: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    """One positive and one negative phantom head CT analysed and served to the viewer (:func:`served`)."""
    with served(ohif_app, tmp_path_factory.mktemp("viewer-bench"), _phantom_studies) as (pacs, url, studies):
        yield Bench(pacs, url, *studies)


@pytest.fixture
def viewer(bench: Bench, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[OhifPage]:
    """A fresh headless Chromium tab on the viewer; a last screenshot named after the test is kept."""
    with browser_tab(bench.url, tmp_path, request.node.name) as page:
        yield page
