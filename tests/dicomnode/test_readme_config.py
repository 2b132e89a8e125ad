"""The configuration examples in the README are valid configurations (they are what users copy)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from dicomnode.config import Config
from dicomnode.pipelines import enabled_pipelines

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLES = re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("example", EXAMPLES)
def test_readme_example_validates(example: str) -> None:
    config = Config(**tomllib.loads(example))
    enabled_pipelines(config)  # each pipeline validates its own [pipelines.<name>] keys
