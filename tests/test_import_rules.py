"""The import rules of DESIGN.md, read from the source with ``ast``: ``dicomnode -> inference``, ``dicomnode -> db``.

``inference`` never imports ``dicomnode`` or ``db``; ``db`` never imports ``dicomnode`` or ``inference``. Within
``inference``, the runtime layer imports no model package and the model packages (``ich``, ``cmb``) do not import
each other. Within
``dicomnode``, a pipeline never imports another pipeline (``ich_ct`` and ``cmb_swi`` share only
``dicomnode.results``, the workers and the base), and the shared result helpers import no pipeline.
Every ``import``/``from ... import`` counts, also inside functions and ``if TYPE_CHECKING:`` blocks, and so
do string arguments of ``importlib.import_module`` and ``__import__``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "inference": ("dicomnode", "db"),
    "db": ("dicomnode", "inference"),
    "inference/runtime": ("inference.ich", "inference.cmb"),
    "inference/ich": ("inference.cmb",),
    "inference/cmb": ("inference.ich",),
    "dicomnode/results": ("dicomnode.pipelines",),
    "dicomnode/pipelines/cmb_swi": ("dicomnode.pipelines.ich_ct",),
    "dicomnode/pipelines/ich_ct": ("dicomnode.pipelines.cmb_swi",),
}
"""Folder -> the modules (and their submodules) no file in it may import."""


def imported_modules(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``tree``; relative imports stay in their package."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield node.lineno, first.value


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in ("__import__", "import_module")
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def violations(package: str) -> list[str]:
    found = []
    for path in sorted((REPO / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, module in imported_modules(tree):
            if any(module == banned or module.startswith(f"{banned}.") for banned in FORBIDDEN[package]):
                found.append(f"{path.relative_to(REPO)}:{line} imports {module}")
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_keeps_to_its_imports(package: str) -> None:
    assert violations(package) == [], f"{package} may not import {' or '.join(FORBIDDEN[package])}"


def test_the_checker_sees_every_kind_of_import() -> None:
    source = (
        "import os\nimport dicomnode.config as c\nfrom db.jobs import Job\nfrom . import sibling\n"
        "def f():\n    from inference.ich.volume import Volume\n"
        "importlib.import_module('dicomnode.cli')\n__import__('db')\n"
    )
    assert sorted(imported_modules(ast.parse(source))) == [
        (1, "os"), (2, "dicomnode.config"), (3, "db.jobs"), (6, "inference.ich.volume"), (7, "dicomnode.cli"), (8, "db"),
    ]
