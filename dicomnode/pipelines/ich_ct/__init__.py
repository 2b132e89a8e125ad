"""``ich_ct``: intracranial hemorrhage on axial head CT (the CNN-BiLSTM of ``inference/``).

Thin over the code it grew from: selection rules in :mod:`dicomnode.assembly.selection`, the analysis
step in :mod:`dicomnode.workers.step`, the model runtime in :mod:`dicomnode.workers.runtime`, the SR,
SEG and SC writers in :mod:`dicomnode.reports`.
"""

from __future__ import annotations

from dicomnode.pipelines.ich_ct.pipeline import PIPELINE, IchCt

__all__ = ["PIPELINE", "IchCt"]
