"""Fixtures of the inference tests: synthetic CT series as pydicom datasets, a model and its ONNX export."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset

from tests.factories import ct_slice

REPO_ROOT = Path(__file__).resolve().parents[3]
SHARED_DATA = REPO_ROOT / ".." / "shared" / "data"
CQ500_SERIES = SHARED_DATA / "cq500-ct0" / "series"


SeriesFactory = Callable[..., list[Dataset]]


@pytest.fixture
def make_series() -> SeriesFactory:
    """Build a series whose slice ``i`` holds stored value ``1024 + 10 * i`` (HU ``10 * i``), in order.

    ``orientation`` is Image Orientation (Patient); slice ``i`` sits at ``origin + i * step`` where
    ``step`` is ``spacing`` along patient z (the table axis), as a tilted gantry stacks its slices.
    """

    def factory(
        n: int = 5, rows: int = 64, cols: int = 64, orientation: Sequence[float] = (1, 0, 0, 0, 1, 0),
        spacing: float = 5.0, series_uid: str = "1.2.3.4",
    ) -> list[Dataset]:
        return [
            ct_slice(np.full((rows, cols), 1024 + 10 * i), (0.0, 0.0, i * spacing), orientation, series_uid)
            for i in range(n)
        ]

    return factory


@pytest.fixture(scope="session")
def random_net():
    """The default network with its seeded random weights, and its ModelInfo."""
    from inference.ich.checkpoint import random_model

    return random_model()


@pytest.fixture(scope="session")
def cache_home(tmp_path_factory) -> Path:
    """An XDG_CACHE_HOME whose dicomnode/inference folder holds the session's ONNX export."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def onnx_path(random_net, cache_home) -> Path:
    """The default network exported once per test session, where the engine factory's cache finds it."""
    from inference.ich.export import cached_onnx

    net, info = random_net
    return cached_onnx(net, info, cache_home / "dicomnode" / "inference")


@pytest.fixture(scope="session")
def cq500_series() -> Path:
    if not CQ500_SERIES.is_dir():
        pytest.skip(f"real CQ500 data not found at {CQ500_SERIES.resolve()} (present in CI; a clone has no ../shared)")
    return CQ500_SERIES
