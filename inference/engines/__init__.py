"""Inference engines behind one interface, ``engine.predict(volume) -> Prediction``.

Backend modules (onnxruntime, tensorrt) are imported only when their engine is built.
"""

from inference.engines.base import DEFAULT_BATCH_SIZE, Engine
from inference.engines.factory import (
    BACKENDS,
    available_backends,
    build_engine,
    create_engine,
    default_cache_dir,
    resolve_device,
    select_backend,
)

__all__ = [
    "BACKENDS",
    "DEFAULT_BATCH_SIZE",
    "Engine",
    "available_backends",
    "build_engine",
    "create_engine",
    "default_cache_dir",
    "resolve_device",
    "select_backend",
]
