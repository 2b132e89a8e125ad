"""The admin page in headless Chromium (Debian ``chromium`` + ``chromium-driver``, driven by Selenium).

Nothing is downloaded: the system browser and driver are used, Selenium Manager is kept offline, and the
page loads only its own files. A screenshot is left in ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from tests.dicomnode.admin.conftest import RunningAdmin
from tests.dicomnode.admin.seed import AUDIT_ROWS, STUDY_1

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = pytest.mark.integration


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebDriver]:
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.fail("Debian packages chromium and chromium-driver are needed (.ci/run installs them)")
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never fetch a browser or driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 "--window-size=1400,900", f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def rows(driver: WebDriver, table: str) -> list[str]:
    return [r.text for r in driver.find_elements(By.CSS_SELECTOR, f"#{table}-table tbody tr[data-id]")]


def test_page_filters_audit_and_retries_a_failed_job(
    sqlite_url: str, start_admin: Callable[..., RunningAdmin], browser: WebDriver
) -> None:
    admin = start_admin(sqlite_url)
    wait = WebDriverWait(browser, 15, ignored_exceptions=(StaleElementReferenceException,))  # tables re-render
    browser.get(admin.base + "/")
    wait.until(lambda d: len(rows(d, "audit")) == AUDIT_ROWS)
    first_time = browser.find_element(By.CSS_SELECTOR, "#audit-table tbody time")
    assert first_time.get_attribute("title").endswith(" UTC")  # local time shown, UTC on hover
    assert not browser.find_element(By.ID, "token-form").is_displayed()  # no token asked for on loopback

    form = browser.find_element(By.ID, "audit-filter")
    Select(form.find_element(By.NAME, "event")).select_by_value("security")
    form.find_element(By.NAME, "calling_ae").send_keys("EVIL")
    browser.find_element(By.ID, "audit-apply").click()
    wait.until(lambda d: len(rows(d, "audit")) == 10)
    assert all("security" in row and "EVIL" in row for row in rows(browser, "audit"))
    newest_first = rows(browser, "audit")
    browser.find_element(By.CSS_SELECTOR, '#audit-table th[data-key="at"]').click()  # sort ascending
    assert rows(browser, "audit") == list(reversed(newest_first))
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "admin-audit.png"))

    browser.find_element(By.ID, "tab-studies").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#studies-table tbody tr[data-study]")) == 2)
    read = browser.find_element(By.CSS_SELECTOR, f'#studies-table tr[data-study="{STUDY_1}"]')
    assert read.find_element(By.CSS_SELECTOR, ".badge.positive").text == "ICH"
    assert read.find_element(By.CSS_SELECTOR, "a.object").text == "SR"

    browser.find_element(By.ID, "tab-jobs").click()
    job = admin.seeded.failed_job
    button = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, f'button.retry[data-id="{job}"]')))
    button.click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "message"), f"retry job {job}: done"))
    wait.until(lambda d: "queued" in d.find_element(By.CSS_SELECTOR, f'#jobs-table tr[data-id="{job}"]').text)
    browser.save_screenshot(str(ARTIFACTS / "admin-page.png"))
    with admin.client() as http:
        assert http.get(f"/api/jobs/{job}").json()["state"] == "queued"
        admin_rows = http.get("/api/audit", params={"event": "admin"}).json()["items"]
    assert [(r["outcome"], r["detail"]["path"]) for r in admin_rows] == [("success", f"/api/jobs/{job}/retry")]
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
