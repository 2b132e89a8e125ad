"""Read an SWI study (magnitude + phase MR images) from pydicom datasets into one :class:`SwiVolume`.

Input convention
----------------
- Modality MR, MR Image Storage (1.2.840.10008.5.1.4.1.1.4), single-frame; either two series (magnitude or
  SWI, and phase) or one series holding both kinds. The kind is Image Type (0008,0008) value 3:
  ``M`` / ``MAGNITUDE`` / ``SWI`` (magnitude side; ``SWI`` is the vendor's processed SWI) and ``P`` / ``PHASE``.
  ``DERIVED`` images with ``MIP`` / ``MNIP`` / ``MINIP`` in Image Type (projections) are ignored.
- Multi-echo series: the echo nearest to 20 ms (the TE of the method) is used.
- Both kinds share the Frame of Reference UID, Image Orientation, Rows/Columns, Pixel Spacing and the set
  of Image Positions; slices are equally spaced along the normal, at most :data:`MAX_SLICE_MM` apart and
  thick.
- Phase scale (detected per series, recorded in :attr:`SwiVolume.phase_convention`):

  ``radians``      the Modality LUT (Rescale Slope/Intercept) output lies within [-pi, pi];
  ``12bit``        no rescale, stored values within 0..4095: ``phase = v / 4095 * 2 pi - pi``;
  ``signed-4096``  rescaled values within -4096..4095 (e.g. slope 2, intercept -4096):
                   ``phase = v / 4096 * pi``.

  Anything else is refused (``phase-scale``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import MRImageStorage

from inference.cmb.errors import SwiInputError
from inference.slice_geometry import median_step, orientation_spread, slice_normal, sort_along_normal, uniform_steps

logger = logging.getLogger(__name__)

MAX_SLICE_MM = 3.0
METHOD_TE_MS = 20.0
MAGNITUDE_KINDS = ("M", "MAGNITUDE", "SWI")
PHASE_KINDS = ("P", "PHASE")
PROJECTION_TYPES = ("MIP", "MNIP", "MINIP", "MIN IP")


@dataclass
class SwiVolume:
    """An SWI study on one grid ``[k, j, i]`` (slices sorted along the normal, rows, columns)."""

    magnitude: np.ndarray            # float32, after the Modality LUT
    phase: np.ndarray | None         # float32 radians, wrapped; None for magnitude-only input
    spacing_mm: tuple[float, float, float]   # slice step, row spacing, column spacing
    affine: np.ndarray               # 4x4: (k, j, i, 1) -> patient LPS (x, y, z, 1) in mm
    frame_of_reference_uid: str
    magnitude_sop_uids: list[str]
    phase_sop_uids: list[str]
    magnitude_kind: str              # M | MAGNITUDE | SWI
    phase_convention: str | None     # radians | 12bit | signed-4096 | None
    echo_time_ms: float | None


def image_kind(ds: Dataset) -> str | None:
    """Image Type (0008,0008) value 3 when it names a magnitude or phase image, else None (projections too)."""
    image_type = [str(v).upper() for v in getattr(ds, "ImageType", [])]
    if any(p in image_type for p in PROJECTION_TYPES):
        return None
    if len(image_type) < 3:
        return None
    return image_type[2] if image_type[2] in MAGNITUDE_KINDS + PHASE_KINDS else None


def _pick_echo(datasets: list[Dataset]) -> list[Dataset]:
    by_te: dict[float, list[Dataset]] = defaultdict(list)
    for ds in datasets:
        by_te[float(getattr(ds, "EchoTime", 0) or 0)].append(ds)
    te = min(by_te, key=lambda t: abs(t - METHOD_TE_MS))
    if len(by_te) > 1:
        logger.info("multi-echo input: using TE %.1f ms of %s", te, sorted(by_te))
    return by_te[te]


def _geometry(datasets: list[Dataset], what: str) -> tuple[list[Dataset], np.ndarray, tuple[float, float, float]]:
    """Sort one kind's slices along the normal; check shape, orientation and spacing; build the affine."""
    try:
        iop = np.array([float(v) for v in datasets[0].ImageOrientationPatient])
        spacing_rc = [float(v) for v in datasets[0].PixelSpacing]
        positions = np.array([[float(v) for v in ds.ImagePositionPatient] for ds in datasets])
        shapes = {(int(ds.Rows), int(ds.Columns)) for ds in datasets}
        orientations = np.array([[float(v) for v in ds.ImageOrientationPatient] for ds in datasets])
    except (AttributeError, TypeError, ValueError) as exc:
        raise SwiInputError("geometry", f"{what}: Image Position/Orientation (Patient), Pixel Spacing, Rows or "
                                        f"Columns missing or malformed ({exc})") from exc
    if len(shapes) != 1 or orientation_spread(orientations) > 1e-4:
        raise SwiInputError("geometry", f"{what}: slices differ in Rows/Columns or Image Orientation (Patient)")
    row_dir, col_dir = iop[:3], iop[3:]
    normal = slice_normal(row_dir, col_dir, towards_head=False)
    if normal is None:
        raise SwiInputError("geometry", f"{what}: Image Orientation (Patient) has parallel direction cosines")
    order, depth = sort_along_normal(positions, normal)
    datasets = [datasets[i] for i in order]
    positions = positions[order]
    if len(datasets) < 2:
        raise SwiInputError("geometry", f"{what}: one slice only; a volume needs at least two")
    steps = np.diff(depth)
    if steps.min() < 1e-3:
        raise SwiInputError("geometry", f"{what}: two slices share one Image Position (Patient)")
    step = median_step(steps)
    if not uniform_steps(steps, step, 1.5):
        raise SwiInputError("geometry", f"{what}: slices are not equally spaced (steps {steps.min():.2f}-"
                                        f"{steps.max():.2f} mm)")
    thickness = float(getattr(datasets[0], "SliceThickness", 0) or 0)
    if step > MAX_SLICE_MM or thickness > MAX_SLICE_MM:
        raise SwiInputError("slice-too-thick", f"{what}: slice step {step:.2f} mm / Slice Thickness "
                                               f"{thickness:g} mm exceeds {MAX_SLICE_MM} mm")
    affine = np.eye(4)
    affine[:3, 0] = (positions[-1] - positions[0]) / (len(positions) - 1)
    affine[:3, 1] = col_dir * spacing_rc[0]
    affine[:3, 2] = row_dir * spacing_rc[1]
    affine[:3, 3] = positions[0]
    return datasets, affine, (step, spacing_rc[0], spacing_rc[1])


def _pixels(datasets: list[Dataset], what: str) -> tuple[np.ndarray, float, float]:
    try:
        raw = np.stack([ds.pixel_array for ds in datasets]).astype(np.float64)
    except (AttributeError, ValueError, RuntimeError, TypeError) as exc:
        raise SwiInputError("pixel-data", f"{what}: Pixel Data (7FE0,0010) missing or undecodable ({exc})") from exc
    slope = float(getattr(datasets[0], "RescaleSlope", 1) or 1)
    intercept = float(getattr(datasets[0], "RescaleIntercept", 0) or 0)
    return raw, slope, intercept


def phase_to_radians(raw: np.ndarray, slope: float, intercept: float) -> tuple[np.ndarray, str]:
    """Convert stored phase values to radians; return them and the convention detected (module docstring)."""
    value = raw * slope + intercept
    rescaled = slope != 1.0 or intercept != 0.0
    if rescaled and np.abs(value).max() <= np.pi * 1.001:
        return value.astype(np.float32), "radians"
    if not rescaled and raw.min() >= 0 and raw.max() <= 4095:
        return (raw / 4095.0 * 2 * np.pi - np.pi).astype(np.float32), "12bit"
    if value.min() >= -4096 and value.max() <= 4095 and value.max() - value.min() > 2 * np.pi:
        return (value / 4096.0 * np.pi).astype(np.float32), "signed-4096"
    raise SwiInputError("phase-scale", f"phase values {value.min():g}..{value.max():g} (Rescale Slope {slope:g}, "
                                       f"Intercept {intercept:g}) fit neither radians, 0..4095 nor -4096..4095")


def load_swi(datasets: Sequence[Dataset], allow_magnitude_only: bool = False) -> SwiVolume:
    """Assemble magnitude and phase datasets into one :class:`SwiVolume`, or refuse with a reason.

    Parameters
    ----------
    datasets : sequence of pydicom.Dataset
        All instances of the magnitude and phase series (in any order).
    allow_magnitude_only : bool
        Accept a study without phase (the result then has ``phase=None``; detection loses its
        calcification/microbleed discrimination and says so).

    Raises
    ------
    SwiInputError
        With ``reason`` naming the rule broken (see :data:`inference.cmb.errors.REASONS`).
    """
    kinds: dict[str, list[Dataset]] = {"magnitude": [], "phase": []}
    for ds in datasets:
        if str(getattr(ds, "Modality", "")).upper() != "MR" or str(getattr(ds, "SOPClassUID", "")) != MRImageStorage:
            raise SwiInputError("modality", f"SOP Instance {getattr(ds, 'SOPInstanceUID', '?')}: Modality "
                                            f"{getattr(ds, 'Modality', '')!r} / SOP Class not MR Image Storage")
        kind = image_kind(ds)
        if kind in MAGNITUDE_KINDS:
            kinds["magnitude"].append(ds)
        elif kind in PHASE_KINDS:
            kinds["phase"].append(ds)
    if not kinds["magnitude"]:
        raise SwiInputError("no-magnitude", "no image has Image Type value 3 M, MAGNITUDE or SWI")
    if not kinds["phase"] and not allow_magnitude_only:
        raise SwiInputError("no-phase", "no image has Image Type value 3 P or PHASE (magnitude-only input not "
                                        "allowed)")
    for name, group in kinds.items():
        if len({ds.SeriesInstanceUID for ds in group}) > 1:
            raise SwiInputError("ambiguous", f"{name} images come from several series")
    magnitude_ds, affine, spacing = _geometry(_pick_echo(kinds["magnitude"]), "magnitude")
    raw, slope, intercept = _pixels(magnitude_ds, "magnitude")
    magnitude = (raw * slope + intercept).astype(np.float32)
    phase, convention, phase_uids = None, None, []
    frame = str(getattr(magnitude_ds[0], "FrameOfReferenceUID", ""))
    if kinds["phase"]:
        phase_ds, phase_affine, _ = _geometry(_pick_echo(kinds["phase"]), "phase")
        if str(getattr(phase_ds[0], "FrameOfReferenceUID", "")) != frame or not frame:
            raise SwiInputError("geometry-mismatch", "magnitude and phase Frame of Reference UID differ or are "
                                                     "missing")
        if (len(phase_ds) != len(magnitude_ds) or phase_ds[0].Rows != magnitude_ds[0].Rows
                or phase_ds[0].Columns != magnitude_ds[0].Columns
                or np.abs(phase_affine - affine).max() > 1e-2):
            raise SwiInputError("geometry-mismatch", "magnitude and phase differ in slices, Rows/Columns, "
                                                     "orientation, positions or Pixel Spacing")
        phase, convention = phase_to_radians(*_pixels(phase_ds, "phase"))
        phase_uids = [str(ds.SOPInstanceUID) for ds in phase_ds]
    echo = getattr(magnitude_ds[0], "EchoTime", None)
    return SwiVolume(magnitude=magnitude, phase=phase, spacing_mm=spacing, affine=affine,
                     frame_of_reference_uid=frame, magnitude_sop_uids=[str(ds.SOPInstanceUID) for ds in magnitude_ds],
                     phase_sop_uids=phase_uids, magnitude_kind=image_kind(magnitude_ds[0]) or "M",
                     phase_convention=convention, echo_time_ms=float(echo) if echo is not None else None)
