"""Fixtures of the deployment tests: the deploy/ folder, the exported model and a Triton repository of it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import onnx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
_DEFAULT = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


def interpolate(value: Any) -> Any:
    """Compose-style ``${VAR:-default}`` replaced by its default (what an empty environment gives)."""
    if isinstance(value, str):
        return _DEFAULT.sub(lambda m: m.group(2) or "", value)
    if isinstance(value, dict):
        return {k: interpolate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v) for v in value]
    return value


@pytest.fixture(scope="session")
def exported() -> tuple[onnx.ModelProto, Any]:
    """The model the node serves by default (shipped weights, else the seeded random init), exported once."""
    from inference.ich.checkpoint import load_model
    from inference.ich.export import export_model

    net, info = load_model()
    return export_model(net, info), info


@pytest.fixture(scope="session")
def repository(exported, tmp_path_factory) -> Path:
    """An ONNX Triton repository of the exported model, with its identity, as a node operator writes it."""
    from inference.ich.triton_repository import write_repository

    model, info = exported
    out = tmp_path_factory.mktemp("triton") / "models"
    write_repository(model, out, "onnxruntime_onnx", info=info)
    return out
