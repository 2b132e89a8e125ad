"""What every result object carries over from its source images (PS3.3 C.7.1.1 Patient, C.7.2.1 Study).

Shared by every pipeline's writers: type 2 attributes present even when a sender left them out, the
source's de-identification statement kept consistent, and highdicom's person-name warnings silenced
(their text would put a patient's name in the log).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from pydicom.dataset import Dataset

# Type 2 attributes of the Patient (PS3.3 C.7.1.1) and General Study (C.7.2.1) modules that the produced
# objects copy from their source: present with no value when a sender left them out.
COPIED_TYPE2 = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex",
    "StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID", "AccessionNumber",
)


def with_type2_present(ds: Dataset) -> Dataset:
    """A shallow copy of ``ds`` in which every attribute of :data:`COPIED_TYPE2` exists (empty if it was absent)."""
    missing = [keyword for keyword in COPIED_TYPE2 if keyword not in ds]
    if not missing:
        return ds
    filled = Dataset(dict(ds.items()))  # a new element dict; values (pixel data too) are shared, not copied
    if hasattr(ds, "file_meta"):
        filled.file_meta = ds.file_meta
    for keyword in missing:
        setattr(filled, keyword, None)
    return filled


NOT_RECORDED = "not recorded in the source images"


def carry_deidentification(source: Dataset, target: Dataset) -> None:
    """Keep the source's de-identification statement consistent in a produced object (PS3.3 C.7.1.1).

    When the source says Patient Identity Removed YES, the produced object says so too and, as the Patient
    Module then requires (Type 1C), names the method: the source's, or that the source did not record one.
    """
    if str(source.get("PatientIdentityRemoved", "")).upper() != "YES":
        return
    target.PatientIdentityRemoved = "YES"
    if "DeidentificationMethodCodeSequence" in source:
        target.DeidentificationMethodCodeSequence = source.DeidentificationMethodCodeSequence
    target.DeidentificationMethod = source.get("DeidentificationMethod") or NOT_RECORDED


@contextmanager
def quiet_person_name_warnings() -> Iterator[None]:
    """Silence highdicom's warning about odd Patient's Name values: its text would put the name in the log."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*intended person name.*")
        yield
