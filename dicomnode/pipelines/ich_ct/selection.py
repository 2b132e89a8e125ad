"""Selection rules: is a complete series one the model should read? Headers only, no pixel decoding.

Each rule returns a human-readable reason when the series breaks it; every rule is evaluated so the
audit log lists all reasons at once. Geometry follows PS3.3 C.7.6.2 (Image Plane Module): the slice
normal is the cross product of the row and column direction cosines of Image Orientation (Patient), and
slice positions are Image Position (Patient) projected on it.

Headers from real senders lack attributes (de-identification strips type 2 and 3 ones). What each rule
does when its attribute is absent or empty:

- Modality: counted as ``none`` and refused by the modality rule.
- Image Type: absent means "not a localizer" (it is type 1 in the CT Image Module, but RSNA exports omit it).
- Frame of Reference UID: absent on every slice passes (the positions still share the scanner's frame).
- Rows, Columns, Pixel Spacing: refused, naming the attribute (the image size is unknown).
- Samples per Pixel other than 1: refused (only greyscale slices are read); absent means 1.
- Image Position / Orientation (Patient): refused, naming them (no slice geometry).
- Gantry/Detector Tilt: recorded when present; the tilt is measured from the positions either way.
- Slice Thickness, Rescale Slope/Intercept: not read here; see :mod:`inference.ich.volume` for their rules.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from dicomnode.config import SelectionSection
from inference.slice_geometry import (
    gap_indices,
    median_step,
    obliquity_degrees,
    orientation_spread,
    slice_normal,
    sort_along_normal,
    stack_tilt_degrees,
)

PIXEL_DATA_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
LOCALIZER_TYPES = frozenset({"LOCALIZER", "SCOUT", "TOPOGRAM", "SCANOGRAM"})
ORIENTATION_TOLERANCE = 1e-3
DUPLICATE_MM = 0.01  # two slices closer than this along the normal share one position


@dataclass
class Selection:
    """The verdict on one series: ``reasons`` is empty when accepted; ``facts`` go to the job's detail."""

    reasons: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return not self.reasons

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def select_series(headers: Sequence[Dataset], rules: SelectionSection) -> Selection:
    """Apply every rule to the headers of one series."""
    selection = Selection(facts={"slices": len(headers)})
    if not headers:
        selection.reasons.append("no readable instance in the series")
        return selection
    checks: list[Callable[[Sequence[Dataset], SelectionSection, Selection], str | None]] = [
        _modality, _not_localizer, _pixel_data, _image_attributes, _min_slices, _frame_of_reference,
        _consistent_matrix, _geometry,
    ]
    for check in checks:
        reason = check(headers, rules, selection)
        if reason:
            selection.reasons.append(reason)
    return selection


def _counted(values: Sequence[Any]) -> str:
    return ", ".join(f"{value} ({count})" for value, count in Counter(values).most_common())


def _modality(headers: Sequence[Dataset], rules: SelectionSection, sel: Selection) -> str | None:
    modalities = [str(ds.get("Modality", "") or "none") for ds in headers]
    sel.facts["modality"] = Counter(modalities).most_common(1)[0][0]
    wrong = [m for m in modalities if m not in rules.modalities]
    if wrong:
        return f"Modality {_counted(wrong)} is not one of {', '.join(rules.modalities)} (selection.modalities)"
    return None


def _not_localizer(headers: Sequence[Dataset], _rules: SelectionSection, _sel: Selection) -> str | None:
    scouts = [ds for ds in headers if LOCALIZER_TYPES & {str(v).upper() for v in (ds.get("ImageType") or [])}]
    if scouts:
        kinds = {str(v).upper() for ds in scouts for v in ds.ImageType} & LOCALIZER_TYPES
        return f"{len(scouts)} of {len(headers)} images are localizers (ImageType contains {', '.join(sorted(kinds))})"
    return None


def _pixel_data(headers: Sequence[Dataset], _rules: SelectionSection, _sel: Selection) -> str | None:
    missing = [ds for ds in headers if not any(k in ds for k in PIXEL_DATA_KEYWORDS)]
    if missing:
        return f"{len(missing)} of {len(headers)} instances have no Pixel Data (7FE0,0010)"
    return None


def _missing(headers: Sequence[Dataset], keyword: str, length: int = 1) -> int:
    """How many headers lack ``keyword`` or hold fewer than ``length`` non-empty values in it."""
    count = 0
    for ds in headers:
        value = ds.get(keyword)
        values = value if isinstance(value, (list, tuple, MultiValue)) else [value]
        if value is None or len(values) != length or any(v in (None, "") or not _positive(v) for v in values):
            count += 1
    return count


def _positive(value: Any) -> bool:
    try:
        return float(value) > 0
    except (TypeError, ValueError):
        return False


def _image_attributes(headers: Sequence[Dataset], _rules: SelectionSection, _sel: Selection) -> str | None:
    """Rows, Columns and Pixel Spacing present and positive; greyscale (PS3.3 C.7.6.3, C.8.2.1)."""
    reasons = []
    for keyword, tag, length in (("Rows", "0028,0010", 1), ("Columns", "0028,0011", 1), ("PixelSpacing", "0028,0030", 2)):
        missing = _missing(headers, keyword, length)
        if missing:
            reasons.append(
                f"{keyword} ({tag}) missing, empty or not positive in {missing} of {len(headers)} instances"
            )
    colour = [ds for ds in headers if str(ds.get("SamplesPerPixel") or 1) != "1"]
    if colour:
        reasons.append(f"{len(colour)} of {len(headers)} instances are not greyscale (SamplesPerPixel (0028,0002) != 1)")
    return "; ".join(reasons) or None


def _min_slices(headers: Sequence[Dataset], rules: SelectionSection, _sel: Selection) -> str | None:
    if len(headers) < rules.min_slices:
        return f"{len(headers)} slice(s); at least {rules.min_slices} needed (selection.min_slices)"
    return None


def _frame_of_reference(headers: Sequence[Dataset], _rules: SelectionSection, sel: Selection) -> str | None:
    frames = {str(ds.FrameOfReferenceUID) for ds in headers if ds.get("FrameOfReferenceUID")}
    sel.facts["frames_of_reference"] = len(frames)
    if len(frames) > 1:
        return f"{len(frames)} Frame of Reference UIDs in one series; slices must share one coordinate system"
    return None


def _consistent_matrix(headers: Sequence[Dataset], _rules: SelectionSection, sel: Selection) -> str | None:
    reasons = []
    sizes = [f"{ds.get('Rows', '?')}x{ds.get('Columns', '?')}" for ds in headers]
    if len(set(sizes)) > 1:
        reasons.append(f"Rows x Columns differ: {_counted(sizes)}")
    spacings = [_spacing_text(ds) for ds in headers]
    if len(set(spacings)) > 1:
        reasons.append(f"PixelSpacing differs: {_counted(spacings)} mm")
    sel.facts["matrix"], sel.facts["pixel_spacing"] = sizes[0], spacings[0]
    return "; ".join(reasons) or None


def _spacing_text(ds: Dataset) -> str:
    value = ds.get("PixelSpacing")
    if not value or len(value) != 2:
        return "missing"
    return "/".join(f"{float(v):.3f}" for v in value)


def _vectors(headers: Sequence[Dataset], keyword: str, length: int) -> np.ndarray | None:
    try:
        values = [[float(v) for v in ds.get(keyword)] for ds in headers]
    except (TypeError, ValueError):
        return None
    array = np.array(values, dtype=np.float64) if values else None
    return array if array is not None and array.shape == (len(headers), length) else None


def _geometry(headers: Sequence[Dataset], rules: SelectionSection, sel: Selection) -> str | None:
    """Axial within ``max_tilt_degrees`` (tilt recorded), one orientation, no duplicate or missing slices.

    A gap counts as missing slices when it exceeds ``max_gap_factor`` x the median spacing; it refuses the
    series only when it also exceeds ``gap_tolerance_mm`` (a thin-slice series missing one slice is still
    read; every gap is listed in the facts either way).
    """
    orientations = _vectors(headers, "ImageOrientationPatient", 6)
    positions = _vectors(headers, "ImagePositionPatient", 3)
    if orientations is None or positions is None:
        return "ImageOrientationPatient or ImagePositionPatient missing or malformed; slice geometry unknown"
    spread = orientation_spread(orientations)
    if spread > ORIENTATION_TOLERANCE:
        return f"ImageOrientationPatient differs between slices by up to {spread:.4f}"
    normal = slice_normal(orientations[0, :3], orientations[0, 3:])
    if normal is None:
        return f"ImageOrientationPatient {orientations[0].tolist()} has parallel direction cosines"
    obliquity = obliquity_degrees(normal)
    sel.facts["obliquity_degrees"] = round(obliquity, 2)
    header_tilt = headers[0].get("GantryDetectorTilt")
    sel.facts["gantry_detector_tilt"] = float(header_tilt) if header_tilt not in (None, "") else None
    if obliquity > rules.max_tilt_degrees:
        return (
            f"not axial: slice normal is {obliquity:.1f} degrees from the patient z axis, at most "
            f"{rules.max_tilt_degrees:g} allowed (selection.max_tilt_degrees)"
        )
    order, depth = sort_along_normal(positions, normal)
    tilt = stack_tilt_degrees(positions[order], normal)
    sel.facts["tilt_degrees"] = round(tilt, 2) if tilt is not None else sel.facts["gantry_detector_tilt"] or 0.0
    return _gaps(depth, rules, sel)


def _gaps(depth: np.ndarray, rules: SelectionSection, sel: Selection) -> str | None:
    if len(depth) < 2:
        return None
    steps = np.diff(depth)
    duplicates = [round(float(depth[i]), 2) for i in np.flatnonzero(steps < DUPLICATE_MM)]
    median = median_step(steps, DUPLICATE_MM)
    sel.facts["slice_spacing_mm"] = round(median, 3)
    gaps = [
        {"after_mm": round(float(depth[i]), 2), "gap_mm": round(float(steps[i]), 2)}
        for i in gap_indices(steps, median, rules.max_gap_factor)
    ] if median > 0 else []
    sel.facts["gaps"], sel.facts["duplicate_positions_mm"] = gaps, duplicates
    gaps = [gap for gap in gaps if gap["gap_mm"] > rules.gap_tolerance_mm]  # small ones are reported only
    reasons = []
    if duplicates:
        shown = ", ".join(f"{d:g}" for d in duplicates[:5]) + (" ..." if len(duplicates) > 5 else "")
        reasons.append(f"{len(duplicates)} duplicated slice position(s) along the normal at {shown} mm")
    if gaps:
        shown = ", ".join(f"{g['gap_mm']:g} mm after {g['after_mm']:g} mm" for g in gaps[:5])
        reasons.append(
            f"{len(gaps)} missing-slice gap(s) larger than {rules.max_gap_factor:g} x the median spacing "
            f"{median:.2f} mm (selection.max_gap_factor) and {rules.gap_tolerance_mm:g} mm "
            f"(selection.gap_tolerance_mm): {shown}" + (" ..." if len(gaps) > 5 else "")
        )
    return "; ".join(reasons) or None
