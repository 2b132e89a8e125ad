"""Errors of the microbleed model package, under :class:`inference.errors.VolumeError`.

::

    VolumeError
    └── SwiInputError       the datasets do not make one usable SWI magnitude (+ phase) volume

A refusal carries a short machine-readable ``reason`` (one of :data:`REASONS`) that a pipeline's selection
can record, and a message naming the attribute and the rule broken.
"""

from __future__ import annotations

from inference.errors import VolumeError

REASONS = (
    "modality",            # not MR, or not MR Image Storage
    "no-magnitude",        # no magnitude / SWI images
    "no-phase",            # no phase images and magnitude-only input was not allowed
    "ambiguous",           # several magnitude (or phase) series, cannot tell which goes with which
    "geometry",            # missing or inconsistent geometry within a series
    "geometry-mismatch",   # magnitude and phase differ in frame of reference, orientation or positions
    "slice-too-thick",     # slices thicker (or further apart) than the method allows
    "phase-scale",         # phase values fit neither radians nor a known vendor integer convention
    "pixel-data",          # Pixel Data missing or undecodable
)


class SwiInputError(VolumeError):
    """The datasets given cannot be read as an SWI study; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, message: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown refusal reason {reason!r}")
        super().__init__(message)
        self.reason = reason
