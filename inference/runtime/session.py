"""The backend-neutral session: named numpy inputs in, named numpy outputs out."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Session(Protocol):
    """One compiled graph on one backend and device."""

    @property
    def input_names(self) -> tuple[str, ...]:
        """Names of the arrays :meth:`run` expects."""

    @property
    def output_names(self) -> tuple[str, ...]:
        """Names of the arrays :meth:`run` returns."""

    @property
    def description(self) -> str:
        """Backend and device, e.g. ``onnxruntime:CPUExecutionProvider`` or ``torch:cpu``."""

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the graph on ``feeds`` (one array per input name) and return every output as float32 or as computed."""
