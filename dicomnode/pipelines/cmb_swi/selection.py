"""Which series of a ready study the microbleed pipeline reads: an SWI magnitude series and its phase.

Input convention (the conformance statement's "Microbleed input" section says the same):

- MR Image Storage, Modality MR. The kind of an image is Image Type (0008,0008) value 3: ``M`` /
  ``MAGNITUDE`` / ``SWI`` (the magnitude side, ``SWI`` being a vendor's processed SWI) or ``P`` / ``PHASE``.
- Either one series holding both kinds, or a magnitude series and a phase series of one study with the
  same Frame of Reference UID, Image Orientation (Patient), Rows and Columns. The job belongs to the
  magnitude series; the phase series is read with it and gets no job of its own.
- A magnitude series counts as susceptibility-weighted when it has phase images (its own or a partner's),
  an Image Type value ``SWI``, or a gradient-echo Scanning Sequence (``GR``) with a Series Description
  naming SWI, SWAN, T2* or susceptibility. Other MR series (a T1 spin echo has value 3 ``M`` as well) are
  not for this pipeline.
- A magnitude series without phase runs magnitude-only (``[pipelines.cmb_swi] allow_magnitude_only``)
  with reduced specificity, which the result states; otherwise it is refused.
- While a partner phase series is still arriving, the magnitude series waits. A phase series that
  arrives after its magnitude series was judged without phase (it ran magnitude-only, or was refused or
  passed over for want of phase) reopens it: the magnitude series is judged again with its phase, and the
  new job supersedes the earlier one (a magnitude-only result already delivered stays in the PACS, marked
  as magnitude-only; the later result carries the phase).

Slice geometry (spacing, thickness, positions, phase scale) is checked again when the job runs, by
:func:`inference.cmb.load_swi`, which refuses with a reason what this quick look cannot see.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import MRImageStorage

from dicomnode.pipelines.base import InputSet, NotApplicable, OtherSeries, Refusal, Reopen, Study, Verdict, Wait
from inference.cmb.series import MAGNITUDE_KINDS, MAX_SLICE_MM, PHASE_KINDS, image_kind

MIN_SLICES = 8
"""Fewer slices than this cannot hold the 21-voxel patches' context of a brain (a localizer, a single slab)."""

SWI_DESCRIPTION = re.compile(r"swi|swan|t2\*|susc|venobold|swip", re.IGNORECASE)


def kinds(headers: Sequence[Dataset]) -> tuple[list[Dataset], list[Dataset]]:
    """The magnitude-side and the phase images among ``headers``."""
    magnitude = [ds for ds in headers if image_kind(ds) in MAGNITUDE_KINDS]
    phase = [ds for ds in headers if image_kind(ds) in PHASE_KINDS]
    return magnitude, phase


def _grid(ds: Dataset) -> tuple[str, int, int, tuple[float, ...]]:
    """What a magnitude and a phase image must share: frame of reference, matrix, orientation."""
    orientation = tuple(round(float(v), 4) for v in ds.get("ImageOrientationPatient", []) or [])
    return str(ds.get("FrameOfReferenceUID", "")), int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0), orientation


def susceptibility_weighted(magnitude: Sequence[Dataset]) -> bool:
    """Whether a magnitude series without phase at hand is an SWI / T2* gradient echo (module docstring)."""
    first = magnitude[0]
    image_type = [str(v).upper() for v in first.get("ImageType", []) or []]
    if "SWI" in image_type:
        return True
    value = first.get("ScanningSequence")
    sequence = [str(v).upper() for v in ([value] if isinstance(value, str) else list(value or []))]
    description = str(first.get("SeriesDescription", "") or "")
    return "GR" in sequence and bool(SWI_DESCRIPTION.search(description))


def partners(magnitude: Sequence[Dataset], study: Study) -> list[OtherSeries]:
    """Other series of the study holding only phase images on the magnitude's grid."""
    grid = _grid(magnitude[0])
    found = []
    for other in study.other_series():
        mag, phase = kinds(other.headers)
        if phase and not mag and _grid(phase[0]) == grid and grid[0]:
            found.append(other)
    return found


def _thickness_reason(magnitude: Sequence[Dataset]) -> str | None:
    thickness = float(magnitude[0].get("SliceThickness", 0) or 0)
    if thickness > MAX_SLICE_MM:
        return f"Slice Thickness {thickness:g} mm exceeds {MAX_SLICE_MM:g} mm (the method reads 2 mm slices)"
    return None


def select_swi(headers: Sequence[Dataset], study: Study, allow_magnitude_only: bool, pipeline: str) -> Verdict:
    """Judge one ready series for the microbleed pipeline named ``pipeline`` (the module docstring's rules)."""
    if not headers:
        return NotApplicable("no readable instance")
    modalities = sorted({str(ds.get("Modality", "") or "none") for ds in headers})
    if modalities != ["MR"]:
        return NotApplicable(f"Modality {', '.join(modalities)} is not MR")
    if any(str(ds.get("SOPClassUID", "")) != MRImageStorage for ds in headers):
        return NotApplicable("not MR Image Storage (single-frame MR images)")
    series_uid = str(headers[0].SeriesInstanceUID)
    magnitude, phase = kinds(headers)
    if not magnitude:
        if phase:
            return _phase_series(phase, study, pipeline)
        return NotApplicable("no image of Image Type value 3 M, MAGNITUDE, SWI, P or PHASE")
    facts: dict[str, Any] = {"magnitude_slices": len(magnitude), "phase_slices": len(phase)}
    if phase:
        return _checked((series_uid,), magnitude, facts | {"phase_in": "same series"})
    found = partners(magnitude, study)
    if not found:
        if not susceptibility_weighted(magnitude):
            return NotApplicable("a magnitude series that is not susceptibility-weighted (no phase, no SWI "
                                 "Image Type, no gradient-echo SWI/T2* description)")
        if not allow_magnitude_only:
            return Refusal(["no phase series in the study on the magnitude's grid, and magnitude-only input is "
                            "off (pipelines.cmb_swi.allow_magnitude_only)"], facts)
        return _checked((series_uid,), magnitude, facts | {"magnitude_only": True})
    if len(found) > 1:
        return Refusal([f"{len(found)} phase series on the magnitude's grid; cannot tell which one goes with it"],
                       facts)
    [partner] = found
    if not partner.complete:
        return Wait(f"phase series {partner.series_uid} is still arriving")
    facts |= {"phase_slices": len(partner.headers), "phase_series": partner.series_uid,
              "input_snapshots": {partner.series_uid: partner.max_instance_id}}
    return _checked((series_uid, partner.series_uid), magnitude, facts)


def _phase_series(phase: Sequence[Dataset], study: Study, pipeline: str) -> Verdict:
    grid = _grid(phase[0])
    for other in study.other_series():
        mag, _ = kinds(other.headers)
        if mag and _grid(mag[0]) == grid:
            judged_alone = other.judged_inputs.get(pipeline, (other.series_uid,)) == (other.series_uid,)
            if other.judged_inputs and judged_alone:
                return Reopen(other.series_uid, f"phase images for magnitude series {other.series_uid}, which was "
                                                "judged before they arrived: judged again with them")
            return NotApplicable(f"phase images, read with magnitude series {other.series_uid}")
    return Refusal(["phase images without a magnitude series on their grid in the study"],
                   {"phase_slices": len(phase)})


def _checked(inputs: tuple[str, ...], magnitude: Sequence[Dataset], facts: dict[str, Any]) -> Verdict:
    reasons = []
    if len(magnitude) < MIN_SLICES:
        reasons.append(f"{len(magnitude)} magnitude slice(s); at least {MIN_SLICES} needed")
    thick = _thickness_reason(magnitude)
    if thick:
        reasons.append(thick)
    if reasons:
        return Refusal(reasons, facts)
    return InputSet(inputs, facts)
