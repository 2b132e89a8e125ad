"""Job errors and skip reasons are messages for an administrator, not Python exception text."""

from __future__ import annotations

from pydicom.dataset import Dataset

from dicomnode.errors import AnalysisError, UnusableSeries
from dicomnode.workers.failures import describe_failure, is_internal
from inference.errors import EngineError, GeometryError


def _attribute_error_of_a_dataset() -> AttributeError:
    try:
        Dataset().SliceThickness  # noqa: B018 - the attribute access is what raises
    except AttributeError as exc:
        return exc
    raise AssertionError("pydicom returned a value for an absent attribute")


def test_errors_raised_on_purpose_keep_their_message_without_the_type() -> None:
    assert describe_failure(AnalysisError("series 1.2.3: no stored instance")) == "series 1.2.3: no stored instance"
    assert describe_failure(UnusableSeries("series 1.2.3: PixelSpacing missing")) == "series 1.2.3: PixelSpacing missing"
    assert describe_failure(GeometryError("ImagePositionPatient must have 3 values")).startswith("ImagePositionPatient")
    assert describe_failure(EngineError("onnxruntime failed")) == "onnxruntime failed"
    assert not is_internal(EngineError("x"))


def test_a_missing_dicom_attribute_is_named_with_its_tag() -> None:
    message = describe_failure(_attribute_error_of_a_dataset())
    assert message.startswith("the source images lack SliceThickness (0018,0050), which the analysis reads without")
    assert "AttributeError" not in message and "'Dataset' object" not in message


def test_other_exceptions_are_called_internal_errors() -> None:
    exc = ZeroDivisionError("division by zero")
    assert describe_failure(exc) == (
        "internal error in the analysis step (ZeroDivisionError: division by zero); the worker log has the traceback"
    )
    assert is_internal(exc)
    assert describe_failure(AttributeError("no attribute 'x'")).startswith("internal error")  # not a dataset's

