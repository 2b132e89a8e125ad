"""One axial CT series as a volume in Hounsfield units, with its geometry.

Slices are sorted along the slice normal (the cross product of the row and column direction cosines of
Image Orientation (Patient), PS3.3 C.7.6.2.1.1), the normal oriented towards the patient's head (+z of
the LPS patient coordinate system), so the order is foot to head whatever the sign of the cross product.
Pixel values become HU through Rescale Slope/Intercept (PS3.3 C.11.1.1.2). Compressed transfer syntaxes
are decoded by pydicom's pixel-data plugins (pylibjpeg with libjpeg/openjpeg, or GDCM).

Real-world headers (de-identification strips type 2 and 3 attributes; some senders leave type 1 ones
empty). Every attribute read here has one of these rules:

=============================================  ===================================================================
attribute                                       when absent or empty
=============================================  ===================================================================
Image Position / Orientation (Patient)          :class:`GeometryError` naming it (no geometry, no volume)
Pixel Spacing (0028,0030)                       :class:`GeometryError` naming it (in-plane size unknown)
Rows, Columns (0028,0010/0011)                  :class:`InconsistentSeriesError` naming them
SOP Instance UID (0008,0018)                    :class:`InconsistentSeriesError` (results must reference a slice)
Rescale Slope (0028,1053)                       1 (identity, as PS3.3 C.11.1.1.2 for an absent Modality LUT)
Rescale Intercept (0028,1052)                   0; when both are absent in the whole series and no voxel is below
                                                :data:`AIR_CHECK_HU`, the values cannot be HU (a head CT always has
                                                air around the head): :class:`VolumeError` naming the attribute
Spacing Between Slices, Slice Thickness         not read for two or more slices (spacing from the positions); a
                                                single slice uses them in that order, else :data:`SINGLE_SLICE_MM`
Series Instance UID (0020,000E)                 ``None`` (only used to check that the datasets are one series)
Gantry/Detector Tilt (0018,1120)                0 for a single slice (the geometry gives it otherwise)
=============================================  ===================================================================
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_rescale
from pydicom.pixels.utils import pixel_array

from inference.errors import (
    GeometryError,
    InconsistentSeriesError,
    MissingPixelDataError,
    NonAxialError,
    PixelDecodeError,
    VolumeError,
)
from inference.slice_geometry import (
    header_slice_spacing,
    obliquity_degrees,
    orientation_spread,
    slice_normal,
    sort_along_normal,
    stack_tilt_degrees,
)

logger = logging.getLogger(__name__)

PIXEL_DATA_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
ORIENTATION_TOLERANCE = 1e-3
"""Largest difference between direction cosines of two slices that still counts as the same plane."""
AIR_CHECK_HU = -500.0
"""Without any rescale attribute, a series whose lowest value is above this has no air: its values are not HU."""
SINGLE_SLICE_MM = 1.0
"""Slice spacing reported for a single slice that records neither Spacing Between Slices nor Slice Thickness."""


@dataclass(frozen=True, eq=False)
class Volume:
    """A CT series as an HU array sorted foot to head, with the geometry needed to map results back.

    Attributes
    ----------
    hu : numpy.ndarray
        float32 [slices, rows, cols], Hounsfield units.
    spacing : tuple of float
        (between slice planes, between rows, between columns) in mm.
    orientation : numpy.ndarray
        [2, 3] row and column direction cosines (Image Orientation (Patient)).
    positions : numpy.ndarray
        [slices, 3] Image Position (Patient) of each slice, in the volume's order.
    tilt_degrees : float
        Gantry tilt: angle between the slice normal and the direction the slices are stacked along
        (from the geometry; Gantry/Detector Tilt (0018,1120) for a single slice).
    sop_instance_uids : tuple of str
        Source SOP Instance UIDs in the volume's order.
    series_instance_uid : str or None
        Series Instance UID shared by the slices.
    """

    hu: np.ndarray
    spacing: tuple[float, float, float]
    orientation: np.ndarray
    positions: np.ndarray
    tilt_degrees: float
    sop_instance_uids: tuple[str, ...]
    series_instance_uid: str | None = None

    def __post_init__(self) -> None:
        if self.hu.ndim != 3:
            raise VolumeError(f"hu must be [slices, rows, cols], got shape {self.hu.shape}")
        if len(self.sop_instance_uids) != self.hu.shape[0]:
            raise VolumeError(
                f"sop_instance_uids has {len(self.sop_instance_uids)} entries for {self.hu.shape[0]} slices"
            )

    @property
    def num_slices(self) -> int:
        return int(self.hu.shape[0])

    @property
    def normal(self) -> np.ndarray:
        """Unit slice normal, oriented towards the head (+z)."""
        return _oriented_normal(self.orientation)

    @classmethod
    def from_datasets(cls, datasets: Sequence[Dataset], max_obliquity_degrees: float = 45.0) -> Volume:
        """Assemble one axial series from its datasets (any order).

        Parameters
        ----------
        datasets
            Single-frame CT image datasets of one series; a single slice is a valid series.
        max_obliquity_degrees
            Largest angle between the slice normal and the patient z axis still accepted as axial.

        Raises
        ------
        MissingPixelDataError, PixelDecodeError, InconsistentSeriesError, GeometryError, NonAxialError
        """
        if not datasets:
            raise VolumeError("no datasets given: a series needs at least one slice")
        _check_same_series(datasets)
        orientation = _common_orientation(datasets)
        normal = _oriented_normal(orientation)
        obliquity = obliquity_degrees(normal)
        if obliquity > max_obliquity_degrees:
            raise NonAxialError(
                f"ImageOrientationPatient {orientation.ravel().round(3).tolist()} gives a slice normal "
                f"{obliquity:.1f} degrees from the patient z axis; axial input must be within "
                f"{max_obliquity_degrees:g} degrees"
            )
        positions = np.array([_vector(ds, "ImagePositionPatient", 3) for ds in datasets])
        order, depth = sort_along_normal(positions, normal)
        positions = positions[order]
        ordered = [datasets[i] for i in order]
        if len(ordered) > 1 and np.any(np.diff(depth) < 1e-4):
            dup = ordered[int(np.argmin(np.diff(depth)))]
            raise GeometryError(
                f"two slices share one ImagePositionPatient along the normal (SOP {dup.get('SOPInstanceUID')}); "
                "a series must have one slice per position"
            )
        hu = _stack_hu(ordered)
        row_spacing, col_spacing = _vector(ordered[0], "PixelSpacing", 2)
        slice_spacing = float(np.median(np.diff(depth))) if len(ordered) > 1 else header_slice_spacing(ordered[0], SINGLE_SLICE_MM)
        volume = cls(
            hu=hu,
            spacing=(slice_spacing, float(row_spacing), float(col_spacing)),
            orientation=orientation,
            positions=positions,
            tilt_degrees=_tilt(positions, normal, ordered[0]),
            sop_instance_uids=tuple(_sop_instance_uid(ds) for ds in ordered),
            series_instance_uid=_series_uid(ordered[0]),
        )
        logger.debug(
            "volume of %d slices %s, spacing %s, tilt %.2f deg, series %s",
            volume.num_slices, hu.shape[1:], volume.spacing, volume.tilt_degrees, volume.series_instance_uid,
        )
        return volume


def _sop_instance_uid(ds: Dataset) -> str:
    uid = str(ds.get("SOPInstanceUID") or "").strip()
    if not uid:
        raise InconsistentSeriesError("a dataset has no SOPInstanceUID (0008,0018); results cannot reference it")
    return uid


def _series_uid(ds: Dataset) -> str | None:
    uid = ds.get("SeriesInstanceUID")
    return str(uid) if uid else None


def _check_same_series(datasets: Sequence[Dataset]) -> None:
    uids = {uid for uid in map(_series_uid, datasets) if uid is not None}
    if len(uids) > 1:
        raise InconsistentSeriesError(
            f"SeriesInstanceUID differs between datasets ({len(uids)} series: {sorted(uids)}); give one series"
        )


def _vector(ds: Dataset, keyword: str, length: int) -> np.ndarray:
    value = ds.get(keyword)
    if value is None or len(value) != length:
        raise GeometryError(
            f"{keyword} must have {length} values (SOP {ds.get('SOPInstanceUID')}), got {value!r}"
        )
    try:
        return np.array([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise GeometryError(f"{keyword} is not numeric (SOP {ds.get('SOPInstanceUID')}): {value!r}") from exc


def _common_orientation(datasets: Sequence[Dataset]) -> np.ndarray:
    orientations = np.array([_vector(ds, "ImageOrientationPatient", 6) for ds in datasets])
    spread = orientation_spread(orientations)
    if spread > ORIENTATION_TOLERANCE:
        raise InconsistentSeriesError(
            f"ImageOrientationPatient differs between slices by up to {spread:.4f}; "
            "a series must share one orientation"
        )
    orientation = orientations[0].reshape(2, 3)
    norms = np.linalg.norm(orientation, axis=1)
    if np.any(norms < 1e-6) or abs(float(orientation[0] @ orientation[1])) > 1e-2:
        raise GeometryError(
            f"ImageOrientationPatient {orientations[0].tolist()} is not two orthogonal direction cosines"
        )
    unit: np.ndarray = orientation / norms[:, None]
    return unit


def _oriented_normal(orientation: np.ndarray) -> np.ndarray:
    normal = slice_normal(orientation[0], orientation[1])
    if normal is None:  # _common_orientation refuses parallel direction cosines
        raise GeometryError(f"ImageOrientationPatient {orientation.ravel().tolist()} has parallel direction cosines")
    return normal


def _tilt(positions: np.ndarray, normal: np.ndarray, first: Dataset) -> float:
    tilt = stack_tilt_degrees(positions, normal)
    if tilt is None:
        value = first.get("GantryDetectorTilt")
        return float(value) if value not in (None, "") else 0.0
    return tilt


def _matrix(ds: Dataset) -> tuple[int, int]:
    rows, cols = ds.get("Rows"), ds.get("Columns")
    if not rows or not cols:
        raise InconsistentSeriesError(
            f"Rows (0028,0010) or Columns (0028,0011) missing or zero (SOP {ds.get('SOPInstanceUID')}): "
            "the image size is unknown"
        )
    return int(rows), int(cols)


def _rescale(ds: Dataset) -> tuple[float, float]:
    """(slope, intercept) of PS3.3 C.11.1.1.2; an absent or empty one takes its identity value (1, 0)."""
    values = []
    for keyword, identity in (("RescaleSlope", 1.0), ("RescaleIntercept", 0.0)):
        value = ds.get(keyword)
        if value in (None, ""):
            values.append(identity)
            continue
        try:
            values.append(float(value))
        except (TypeError, ValueError) as exc:
            raise VolumeError(f"{keyword} is not numeric (SOP {ds.get('SOPInstanceUID')}): {value!r}") from exc
    if values[0] == 0.0:
        raise VolumeError(f"RescaleSlope is 0 (SOP {ds.get('SOPInstanceUID')}): every voxel would read the same")
    return values[0], values[1]


def _check_hu_plausible(hu: np.ndarray, datasets: Sequence[Dataset]) -> None:
    """Refuse a series with no rescale attribute at all whose values show no air (they are not HU)."""
    if any(keyword in ds for ds in datasets for keyword in ("RescaleSlope", "RescaleIntercept", "ModalityLUTSequence")):
        return
    lowest = float(hu.min()) if hu.size else 0.0
    if lowest > AIR_CHECK_HU:
        raise VolumeError(
            f"RescaleIntercept (0028,1052) and RescaleSlope (0028,1053) are absent and the lowest stored value is "
            f"{lowest:g}: with no air below {AIR_CHECK_HU:g} the stored values are not Hounsfield units"
        )


def _stack_hu(datasets: Sequence[Dataset]) -> np.ndarray:
    first = datasets[0]
    shape = _matrix(first)
    hu = np.empty((len(datasets), *shape), dtype=np.float32)
    for index, ds in enumerate(datasets):
        uid = ds.get("SOPInstanceUID")
        if not any(keyword in ds for keyword in PIXEL_DATA_KEYWORDS):
            raise MissingPixelDataError(f"dataset SOP {uid} has no Pixel Data (7FE0,0010)")
        size = _matrix(ds)
        if size != shape:
            raise InconsistentSeriesError(
                f"Rows x Columns differ within the series: {shape[0]}x{shape[1]} (SOP "
                f"{first.get('SOPInstanceUID')}) vs {size[0]}x{size[1]} (SOP {uid})"
            )
        try:
            # The function form does not cache the decoded array on the dataset, keeping memory bounded.
            pixels = pixel_array(ds)
        except Exception as exc:  # pydicom raises several types from its plugins
            syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "unknown")
            raise PixelDecodeError(
                f"Pixel Data of SOP {uid} (transfer syntax {syntax}) cannot be decoded: {exc}"
            ) from exc
        if pixels.ndim != 2:
            raise InconsistentSeriesError(
                f"SOP {uid} has pixel array of shape {pixels.shape}; only single-frame greyscale slices are supported"
            )
        if "ModalityLUTSequence" in ds:
            hu[index] = apply_rescale(pixels, ds)
        else:
            slope, intercept = _rescale(ds)
            hu[index] = pixels.astype(np.float32) * np.float32(slope) + np.float32(intercept)
    _check_hu_plausible(hu, datasets)
    return hu
