"""What a failed or skipped job records: a message for an administrator, not Python exception text.

Rules (the worker applies them to whatever the analysis step raised):

- :class:`dicomnode.errors.DicomNodeError` and :class:`inference.errors.InferenceError`: their message as is;
  these are raised on purpose and name the series, the attribute or key, and the rule broken.
- ``AttributeError`` raised by a pydicom ``Dataset`` for a DICOM keyword: the source images lack that
  attribute and the node reads it without a fallback (a gap to report); the message names it and its tag.
- Anything else: an internal error of the analysis step, named as such, with its type and message; the
  worker log has the traceback.

Bounding and escaping of the stored text is the job of the database layer (it applies to every reason,
error and audit message alike).
"""

from __future__ import annotations

from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from dicomnode.errors import DicomNodeError
from inference.errors import InferenceError


def describe_failure(exc: BaseException) -> str:
    """The job error or skip reason recorded for ``exc`` (see the module docstring for the rules)."""
    if isinstance(exc, (DicomNodeError, InferenceError)):
        text = str(exc) or type(exc).__name__
    elif (keyword := _missing_dicom_keyword(exc)) is not None:
        text = (
            f"the source images lack {keyword} ({_tag_text(keyword)}), which the analysis reads without a "
            "fallback; this is a gap in the node: please report it"
        )
    else:
        text = f"internal error in the analysis step ({type(exc).__name__}: {exc}); the worker log has the traceback"
    return text


def is_internal(exc: BaseException) -> bool:
    """True when ``exc`` was not raised on purpose (its traceback belongs in the log)."""
    return not isinstance(exc, (DicomNodeError, InferenceError))


def _missing_dicom_keyword(exc: BaseException) -> str | None:
    if not isinstance(exc, AttributeError) or not isinstance(getattr(exc, "obj", None), Dataset):
        return None
    name = getattr(exc, "name", None)
    return name if isinstance(name, str) and tag_for_keyword(name) is not None else None


def _tag_text(keyword: str) -> str:
    tag = Tag(keyword)
    return f"{tag.group:04X},{tag.element:04X}"
