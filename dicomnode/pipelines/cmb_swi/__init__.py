"""``cmb_swi``: cerebral microbleeds on MR SWI, the two-stage detector of :mod:`inference.cmb`.

Files: :mod:`.selection` (which series, the input convention), :mod:`.pipeline` (settings, model, run),
:mod:`.sr` (Comprehensive 3D SR, TID 1500 with SCOORD3D points), :mod:`.sc` (key images with markers),
:mod:`.codes` (coded concepts), :mod:`.context` (result identity and series numbers).
"""

from __future__ import annotations

from dicomnode.pipelines.cmb_swi.pipeline import PIPELINE, CmbSwi

__all__ = ["PIPELINE", "CmbSwi"]
