"""The microbleed results of one detection: the SR, then the SC key images, times pinned to the job."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydicom.dataset import Dataset

from dicomnode.pipelines.cmb_swi.context import CmbReport
from dicomnode.pipelines.cmb_swi.sc import build_sc
from dicomnode.pipelines.cmb_swi.sr import build_sr
from dicomnode.results.sources import with_type2_present
from dicomnode.results.times import pin_times
from inference.cmb import DetectionResult


def build_results(result: DetectionResult, magnitude: Sequence[Dataset], planes: np.ndarray,
                  report: CmbReport) -> list[Dataset]:
    """SR (Comprehensive 3D SR) and SC images; ``magnitude`` and ``planes`` in the detection's slice order.

    Every date and time comes from the job (``report.context.created_at``), so a re-run writes the same
    bytes under the same UIDs.
    """
    sources = [with_type2_present(ds) for ds in magnitude]
    results: list[Dataset] = [build_sr(result, sources, report), *build_sc(result, sources, planes, report)]
    for ds in results:
        pin_times(ds, report.created_at)
    return results
