"""Run dcmtk's command-line peers (echoscu, storescu) and read their outcome."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def dcmtk(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise RuntimeError(f"dcmtk's {tool} is not installed (Debian package dcmtk; .ci/run installs it)")
    return path


def echoscu(port: int, *, called: str = "DICOMNODE", calling: str = "ECHOSCU") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [dcmtk("echoscu"), "-aet", calling, "-aec", called, "127.0.0.1", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def storescu(
    port: int, files: list[Path], *, called: str = "DICOMNODE", calling: str = "STORESCU", extra: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [dcmtk("storescu"), "-aet", calling, "-aec", called, *(extra or []), "127.0.0.1", str(port), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=600,
    )
