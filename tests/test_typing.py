"""mypy, strict with the pydantic plugin (``[tool.mypy]`` in pyproject.toml), over the modules listed here.

``make test`` runs it like any other test. :data:`COVERED` is checked; :data:`NOT_YET` still has type
errors to fix (each entry says where); together they name every module of ``db``, ``dicomnode`` and
``inference``, so a new module has to be put in one of them on purpose.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

COVERED = (
    "db",
    "dicomnode/__init__.py", "dicomnode/__main__.py", "dicomnode/config.py", "dicomnode/conformance.py",
    "dicomnode/errors.py", "dicomnode/identity.py", "dicomnode/logs.py", "dicomnode/records.py",
    "dicomnode/rendering.py", "dicomnode/scheduler.py", "dicomnode/service.py", "dicomnode/uid_policy.py",
    "dicomnode/admin", "dicomnode/assembly", "dicomnode/scp", "dicomnode/atna", "dicomnode/delivery",
    "dicomnode/cli/__init__.py", "dicomnode/cli/audit.py", "dicomnode/cli/config_cmd.py", "dicomnode/cli/conformance.py",
    "dicomnode/cli/db_cmd.py", "dicomnode/cli/jobs.py", "dicomnode/cli/model.py", "dicomnode/cli/operating_point.py",
    "dicomnode/cli/options.py", "dicomnode/cli/outbox.py", "dicomnode/cli/phantom.py", "dicomnode/cli/serve.py",
    "dicomnode/cli/worker.py", "dicomnode/cli/cmb.py",
    "dicomnode/workers/__init__.py", "dicomnode/workers/failures.py", "dicomnode/workers/pool.py",
    "dicomnode/workers/step.py",
    "dicomnode/workers/worker.py", "dicomnode/workers/dispatch.py", "dicomnode/pipelines", "dicomnode/results",
    "dicomnode/cli/ich.py",
    "inference/__init__.py", "inference/errors.py", "inference/slice_geometry.py", "inference/runtime", "inference/ich", "inference/cmb",
    "dicomnode/cli/train.py", "dicomnode/cli/evaluate.py",
)
NOT_YET: tuple[str, ...] = ()  # every module is type-clean; a module that cannot be yet goes here, with why


def modules(entries: tuple[str, ...]) -> set[Path]:
    found: set[Path] = set()
    for entry in entries:
        path = REPO / entry
        found |= set(path.rglob("*.py")) if path.is_dir() else {path}
    return found


def test_every_module_is_covered_or_listed_as_not_yet() -> None:
    every = {p for package in ("db", "dicomnode", "inference") for p in (REPO / package).rglob("*.py")}
    covered, not_yet = modules(COVERED), modules(NOT_YET)
    assert not covered & not_yet, sorted(str(p.relative_to(REPO)) for p in covered & not_yet)
    missing = sorted(str(p.relative_to(REPO)) for p in every - covered - not_yet)
    assert not missing, f"put these in COVERED (type-clean) or NOT_YET (with the reason): {missing}"
    assert (covered | not_yet) <= every, "an entry names a module that does not exist"


@pytest.mark.slow
def test_mypy_strict_passes_on_the_covered_modules() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", *COVERED], cwd=REPO, capture_output=True, text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"mypy found errors:\n{result.stdout}{result.stderr}"
