"""Run the DICOM validators on produced files: dicom3tools' dciodvfy and PixelMed's validators.

PixelMed (Debian ``libpixelmed-java``) validates SR documents against the PS3.16 templates
(``DicomSRValidator``) and, with ``DicomInstanceValidator``, the IODs it has compiled rules for: among the
node's classes only the Segmentation IOD (its Secondary Capture is not among them, so dciodvfy is the SC's
validator). Its XSLT rules exceed the JDK's default XPath limits, which are lifted for the run.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PIXELMED_JARS = (Path("/usr/share/java/pixelmed.jar"),)
JAVA_OPTIONS = ("-Djdk.xml.xpathExprOpLimit=0", "-Djdk.xml.xpathExprGrpLimit=0", "-Djdk.xml.xpathTotalOpLimit=0")


@dataclass(frozen=True)
class Report:
    """What a validator printed about one file."""

    path: Path
    errors: list[str]
    warnings: list[str]
    output: str


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed (Debian package {package}; .ci/run installs it)")
    return path


def dciodvfy(path: Path) -> Report:
    """dicom3tools' IOD and module check of ``path``."""
    result = subprocess.run([_tool("dciodvfy", "dicom3tools"), str(path)], capture_output=True, text=True, timeout=120)
    lines = (result.stdout + result.stderr).splitlines()
    return Report(path, [l for l in lines if l.startswith("Error")], [l for l in lines if l.startswith("Warning")],
                  result.stdout + result.stderr)


def pixelmed(validator: str, path: Path) -> Report:
    """PixelMed's ``com.pixelmed.validate.<validator>`` on ``path`` (DicomSRValidator or DicomInstanceValidator)."""
    jars = [str(jar) for jar in PIXELMED_JARS if jar.exists()]
    if not jars:
        raise RuntimeError("PixelMed is not installed (Debian package libpixelmed-java; .ci/run installs it)")
    command = [_tool("java", "default-jre-headless"), *JAVA_OPTIONS, "-cp", ":".join(jars),
               f"com.pixelmed.validate.{validator}", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    if result.returncode != 0 or "Exception" in output:
        raise RuntimeError(f"PixelMed {validator} did not run on {path.name}: {output[-800:]}")
    lines = output.splitlines()
    return Report(path, [l for l in lines if l.startswith("Error")], [l for l in lines if l.startswith("Warning")], output)
