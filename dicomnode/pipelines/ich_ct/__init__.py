"""``ich_ct``: intracranial hemorrhage on axial head CT (the CNN-BiLSTM of ``inference/``).

Files: :mod:`.selection` (which series: header rules), :mod:`.pipeline` (the pipeline object),
:mod:`.runtime` (the engine a worker keeps), :mod:`.analysis` (one job: volume, domain, model, results),
:mod:`.sources` (CT header fallbacks), :mod:`.results` (SR, SEG and SC of one prediction) with its writers
:mod:`.sr`, :mod:`.seg`, :mod:`.sc` and their parts (:mod:`.findings`, :mod:`.regions`, :mod:`.render`,
:mod:`.identity`, :mod:`.context`, :mod:`.codes`).
"""

from __future__ import annotations

from dicomnode.pipelines.ich_ct.pipeline import PIPELINE, IchCt

__all__ = ["PIPELINE", "IchCt"]
