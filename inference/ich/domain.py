"""Is this series what the hemorrhage model was made for: a non-contrast CT of the head, in HU?

:func:`assess_domain` answers from the DICOM header and from HU statistics of the volume. A series that
breaks any rule is out of domain; the node then reports the result as indeterminate, with the reasons,
instead of findings. Each rule gives one reason (a sentence naming the attribute or the measurement):

1. **Modality** (0008,0060) must be ``CT``.
2. **Another body part**: Body Part Examined (0018,0015), when present, must name the head
   (:data:`HEAD_BODY_PARTS`); and the image must hold a skull with a brain: the largest intracranial area
   of a slice (:func:`inference.ich.intracranial.intracranial_mask`) at least :data:`MIN_INTRACRANIAL_CM2`, and
   for a series of more than one slice an intracranial volume of at least :data:`MIN_INTRACRANIAL_ML`.
3. **Pre-windowed export**: Bits Stored (0028,0101) of 8 or less, or an HU range without air and bone
   (the 0.5th percentile above :data:`PREWINDOWED_LOW_HU` or the 99.9th below :data:`PREWINDOWED_HIGH_HU`):
   a windowed 8-bit image has lost the HU scale the model reads.
4. **Contrast-enhanced**: Contrast/Bolus Agent (0018,0010) names an agent; or enhancing vessels: more than
   :data:`CONTRAST_MAX_ML` ml and :data:`CONTRAST_MAX_FRACTION` of the intracranial space, at least
   :data:`CONTRAST_DEPTH_MM` mm inside it in-plane (away from partial volume with the inner table), read
   :data:`CONTRAST_HU` (the circle of Willis, the deep veins and the choroid plexus after iodine). The six
   real non-contrast head CTs here have 0.05-0.47 ml there (pineal and choroid-plexus calcification); no
   real contrast-enhanced head CT was available, so the threshold is checked on synthetic enhancement only.
5. **Metal**: more than :data:`METAL_MIN_ML` ml above :data:`METAL_HU` within :data:`METAL_MARGIN_MM` of the
   intracranial space (clips, coils, shunt valves, craniotomy plates; the streaks they throw read like
   blood). Dental fillings, far below the brain, do not count.

Heavy motion is not measured: it is left to the radiologist (documented as a limitation in the model card).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from scipy import ndimage as ndi

from inference.ich.intracranial import intracranial_mask
from inference.ich.volume import Volume

HEAD_BODY_PARTS = frozenset({"HEAD", "BRAIN", "SKULL", "HEADNECK", "HEAD_NECK", "HEADANDNECK", "CEREBRUM", "CRANIUM"})
MIN_SERIES_SLICES = 5
MIN_INTRACRANIAL_CM2 = 20.0
MIN_INTRACRANIAL_ML = 100.0
PREWINDOWED_LOW_HU = -500.0
PREWINDOWED_HIGH_HU = 300.0
CONTRAST_HU = (160.0, 600.0)
CONTRAST_DEPTH_MM = 8.0
CONTRAST_MAX_ML = 2.0
CONTRAST_MAX_FRACTION = 0.002
METAL_HU = 3000.0
METAL_MIN_ML = 0.02
METAL_MARGIN_MM = 10.0
NO_AGENT = frozenset({"", "NONE", "NO", "N", "NIL", "0"})


@dataclass(frozen=True)
class DomainAssessment:
    """Whether a series is in the model's domain, and why not.

    Attributes
    ----------
    in_domain : bool
        True when no rule was broken.
    reasons : tuple of str
        One sentence per broken rule (empty when in domain).
    measurements : dict
        The numbers the rules were judged on (intracranial volume and area, HU percentiles, enhancing and
        metal volumes), for the audit log.
    """

    in_domain: bool
    reasons: tuple[str, ...]
    measurements: dict[str, float]


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    return "" if value is None else str(value).strip()


def _header_reasons(datasets: Sequence[Dataset]) -> list[str]:
    reasons = []
    first = datasets[0]
    modality = _text(first, "Modality").upper()
    if modality and modality != "CT":
        reasons.append(f"Modality (0008,0060) is {modality!r}: the model reads CT only")
    part = _text(first, "BodyPartExamined").upper().replace(" ", "")
    if part and part not in HEAD_BODY_PARTS:
        reasons.append(f"Body Part Examined (0018,0015) is {part!r}, not the head")
    agents = {_text(ds, "ContrastBolusAgent") for ds in datasets} - {""}
    agents = {a for a in agents if a.upper() not in NO_AGENT}
    if agents:
        reasons.append(f"Contrast/Bolus Agent (0018,0010) is {sorted(agents)[0]!r}: the model reads non-contrast CT")
    bits = first.get("BitsStored")
    if bits is not None and int(bits) <= 8:
        reasons.append(f"Bits Stored (0028,0101) is {int(bits)}: a pre-windowed 8-bit export has no HU scale")
    return reasons


def assess_domain(volume: Volume, datasets: Sequence[Dataset], intracranial: np.ndarray | None = None) -> DomainAssessment:
    """Decide whether ``volume`` is a non-contrast head CT in HU (rules in the module docstring).

    Parameters
    ----------
    volume
        The series as assembled for the model.
    datasets
        Its source datasets (headers; any order).
    intracranial
        bool [slices, rows, cols] intracranial mask of ``volume`` if already computed.
    """
    if not datasets:
        raise ValueError("assess_domain needs the series' datasets")
    reasons = _header_reasons(datasets)
    hu = volume.hu
    spacing = volume.spacing
    mask = intracranial_mask(hu, spacing) if intracranial is None else intracranial
    pixel_cm2 = spacing[1] * spacing[2] / 100.0
    voxel_ml = pixel_cm2 * spacing[0] / 10.0
    area_cm2 = float(mask.sum(axis=(1, 2)).max()) * pixel_cm2 if mask.size else 0.0
    ml = float(mask.sum()) * voxel_ml
    low, high = (float(v) for v in np.percentile(hu[:, ::4, ::4], [0.5, 99.9]))
    measured: dict[str, float] = {"max_intracranial_cm2": round(area_cm2, 1), "intracranial_ml": round(ml, 1),
                                  "hu_p0_5": round(low, 1), "hu_p99_9": round(high, 1)}
    if low > PREWINDOWED_LOW_HU or high < PREWINDOWED_HIGH_HU:
        reasons.append(f"HU range {low:.0f} to {high:.0f} (0.5th-99.9th percentile) holds no air and bone: "
                       "pre-windowed or not rescaled to HU")
    if volume.num_slices >= MIN_SERIES_SLICES and area_cm2 < MIN_INTRACRANIAL_CM2:
        reasons.append(f"no skull enclosing a brain: largest intracranial area {area_cm2:.1f} cm2 "
                       f"(< {MIN_INTRACRANIAL_CM2:g}); another body part or an open skull")
    elif volume.num_slices >= MIN_SERIES_SLICES and ml < MIN_INTRACRANIAL_ML:
        reasons.append(f"intracranial volume {ml:.0f} ml (< {MIN_INTRACRANIAL_ML:g}): the series covers too little of the head")
    if mask.any():
        inset = tuple([1] + [2 * max(1, int(round(CONTRAST_DEPTH_MM / s))) + 1 for s in spacing[1:]])
        deep = ndi.minimum_filter(mask, size=inset)
        enhancing = float((deep & (hu >= CONTRAST_HU[0]) & (hu <= CONTRAST_HU[1])).sum()) * voxel_ml
        measured["enhancing_ml"] = round(enhancing, 2)
        if enhancing > CONTRAST_MAX_ML and enhancing > CONTRAST_MAX_FRACTION * ml:
            reasons.append(f"{enhancing:.1f} ml of the intracranial space reads {CONTRAST_HU[0]:.0f}-{CONTRAST_HU[1]:.0f} HU "
                           "(enhancing vessels): contrast-enhanced")
        margin = tuple(max(1, int(round(METAL_MARGIN_MM / s))) for s in spacing)
        near = ndi.maximum_filter(mask, size=tuple(2 * m + 1 for m in margin))
        metal = float((near & (hu > METAL_HU)).sum()) * voxel_ml
        measured["metal_ml"] = round(metal, 3)
        if metal > METAL_MIN_ML:
            reasons.append(f"{metal:.2f} ml above {METAL_HU:.0f} HU in or next to the intracranial space: metal")
    return DomainAssessment(not reasons, tuple(reasons), measured)
