"""Errors raised by the ``inference`` package.

::

    InferenceError
    ├── VolumeError                 the datasets do not make one usable volume
    │   ├── MissingPixelDataError   a dataset has no Pixel Data (7FE0,0010)
    │   ├── PixelDecodeError        Pixel Data present but cannot be decoded
    │   ├── InconsistentSeriesError mixed series, image sizes or orientations
    │   └── GeometryError           missing or contradictory position/orientation
    │       └── NonAxialError       slice normal too far from the patient z axis
    ├── WeightsError                checkpoint or sidecar missing, unreadable or incompatible
    ├── ExportError                 the network could not be exported to ONNX
    └── EngineError                 a backend failed while building or running
        └── BackendUnavailableError the requested backend or device is not installed/present

Messages name the DICOM attribute, file or key concerned and the rule that was broken.
"""

from __future__ import annotations


class InferenceError(Exception):
    """Base class of every error this package raises on purpose."""


class VolumeError(InferenceError):
    """The datasets given cannot be assembled into one volume."""


class MissingPixelDataError(VolumeError):
    """A dataset lacks Pixel Data (7FE0,0010)."""


class PixelDecodeError(VolumeError):
    """Pixel Data exists but no installed decoder could decode it."""


class InconsistentSeriesError(VolumeError):
    """The datasets disagree on series, image size or orientation."""


class GeometryError(VolumeError):
    """Position or orientation attributes are missing or contradictory."""


class NonAxialError(GeometryError):
    """The slices are not axial (slice normal too far from the patient z axis)."""


class WeightsError(InferenceError):
    """Model weights or their JSON sidecar cannot be loaded."""


class ExportError(InferenceError):
    """The network could not be exported to ONNX."""


class EngineError(InferenceError):
    """An inference backend failed while building or running."""


class BackendUnavailableError(EngineError):
    """The requested backend or device is not available on this machine."""
