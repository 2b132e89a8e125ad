"""What highdicom's ``SCImage`` leaves to every pipeline's Secondary Capture writer (PS3.3 A.8.1).

Source Image Sequence (C.7.6.1), Burned In Annotation YES (C.7.6.1.1.6), the derivation, the source's
de-identification statement, Body Part Examined (a head: validators then know Laterality is not due) and
the job's time as capture, content and series date/time, so a re-run writes the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from dicomnode.results.sources import carry_deidentification
from dicomnode.results.times import job_moment


def _source_reference(ds: Dataset) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = ds.SOPClassUID
    item.ReferencedSOPInstanceUID = ds.SOPInstanceUID
    return item


def finish_capture(image: hd.sc.SCImage, sources: Sequence[Dataset], created_at: datetime | None,
                   derivation: str) -> None:
    """Set on ``image`` what the module docstring lists; ``sources`` are the images it was made from."""
    carry_deidentification(sources[0], image)
    image.BurnedInAnnotation = "YES"
    image.BodyPartExamined = str(sources[0].get("BodyPartExamined") or "HEAD")
    image.SourceImageSequence = DicomSequence([_source_reference(ds) for ds in sources])
    image.DerivationDescription = derivation[:1024]
    moment = job_moment(created_at)
    if moment is not None:
        for keyword in ("DateOfSecondaryCapture", "ContentDate", "SeriesDate"):
            setattr(image, keyword, moment.da)
        for keyword in ("TimeOfSecondaryCapture", "ContentTime", "SeriesTime"):
            setattr(image, keyword, moment.tm)
