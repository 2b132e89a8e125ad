"""The model a worker process keeps loaded between jobs: one engine, built once, and its threshold."""

from __future__ import annotations

import logging
import threading
from functools import cached_property

from dicomnode.config import Config
from inference.ich.predictor import Predictor
from inference.ich.sessions import create_predictor

log = logging.getLogger(__name__)


class ModelRuntime:
    """Builds the configured engine on first use (``inference.backend``/``device``/``weights``) and keeps it.

    The operating threshold is ``inference.threshold`` when configured, else the one shipped with the weights
    (chosen on validation data for sensitivity, see ``inference/ich/MODEL_CARD.md``).
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self._lock = threading.Lock()

    @cached_property
    def engine(self) -> Predictor:
        section = self.config.inference
        with self._lock:
            engine = create_predictor(
                backend=section.backend,
                device=section.device,
                weights=section.weights,
                triton_url=section.triton_url,
                triton_model=section.triton_model,
            )
        info = engine.info
        if not info.trained:
            log.warning("model %s runs with untrained weights (%s): results are meaningless", info.name, info.version)
        log.info("model %s %s ready on %s", info.name, info.version, engine.description)
        return engine

    @property
    def threshold(self) -> float:
        configured = self.config.inference.threshold
        return configured if configured is not None else self.engine.info.threshold
