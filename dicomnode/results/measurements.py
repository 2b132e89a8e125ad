"""A TID 1410 measurement group's region repeated under its first NUM, for OHIF's SR adapters.

OHIF's adapters (Cornerstone3D ``MeasurementReport``) hydrate a measurement group into a tool from the
SCOORD or SCOORD3D *under the group's first NUM*, not from the group-level Image Region; so the region is
added there again as an INFERRED FROM child (TID 300's spatial "INFERRED FROM" row). highdicom's TID 1410
builder does not offer the row, so it is added to the built group. Shared by every pipeline's SR.
"""

from __future__ import annotations

from copy import deepcopy

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence


def infer_first_num_from_region(group: hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations,
                                region: Dataset) -> None:
    """Append ``region`` (the group's Image Region) to the first NUM of ``group`` as INFERRED FROM."""
    copy = deepcopy(region)
    copy.RelationshipType = hd.sr.RelationshipTypeValues.INFERRED_FROM.value
    num = next(content for content in group[0].ContentSequence if content.ValueType == "NUM")
    num.ContentSequence = DicomSequence([*num.get("ContentSequence", []), copy])
