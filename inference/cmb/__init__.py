"""Cerebral-microbleed detection on MR SWI (two-stage: screening, then a 3D residual CNN); see MODEL_CARD.md.

The calls a pipeline makes::

    from inference.cmb import detect, load_model, load_swi
    volume = load_swi(datasets)                      # SwiVolume, or SwiInputError with .reason
    result = detect(volume.magnitude, volume.phase, volume.spacing_mm, load_model(), volume.affine)
    result.microbleeds                               # list[Microbleed]

Names are resolved on first use (PEP 562), so importing the phantom generator does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "detect": "inference.cmb.detector", "load_model": "inference.cmb.detector",
    "Microbleed": "inference.cmb.detector", "DetectionResult": "inference.cmb.detector",
    "CmbModel": "inference.cmb.detector", "load_swi": "inference.cmb.series", "SwiVolume": "inference.cmb.series",
    "SwiInputError": "inference.cmb.errors", "LocationClass": "inference.cmb.location",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'inference.cmb' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
