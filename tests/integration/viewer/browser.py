"""Headless Chromium for the viewer test: the Debian browser and driver, offline, with the console recorded.

WebGL runs on SwiftShader (the software rasteriser), which is what cornerstone3D gets on a machine without
a GPU. Console messages are kept (``goog:loggingPrefs``) so a test can read what the viewer logged.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--use-gl=angle", "--use-angle=swiftshader",
         "--enable-unsafe-swiftshader", "--window-size=1600,1000")


@dataclass(frozen=True)
class ConsoleEntry:
    """One message of the browser's console."""

    level: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"


def chromium(profile: Path) -> WebDriver:
    """A headless Chromium driven by chromedriver, with its profile in ``profile``; fails if either is missing."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        raise AssertionError("Debian packages chromium and chromium-driver are needed (.ci/run installs them)")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never fetch a browser or driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    return driver


def console(driver: WebDriver) -> list[ConsoleEntry]:
    """Console messages logged since the last call (chromedriver hands each message out once)."""
    return [ConsoleEntry(str(e.get("level")), str(e.get("message"))) for e in driver.get_log("browser")]
