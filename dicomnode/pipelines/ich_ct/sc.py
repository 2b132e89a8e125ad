"""Secondary Capture images (PS3.3 A.8.1 SC Image IOD) with highdicom's ``SCImage``.

One new series in the source study holds:

- for a positive study, the key slices (most probable for "any hemorrhage" among the slices with
  intracranial space, up to ``ReportContext.max_key_slices``) in the brain window with the region the model attributes the finding
  to (:mod:`~dicomnode.pipelines.ich_ct.regions`: inside the intracranial space only) tinted and outlined, a cross
  at its centre, a legend along the bottom, and a burned-in banner "AI RESULT - NOT FOR DIAGNOSTIC USE"
  with the slice's and the study's probabilities (a slice without a region shows its centre cross only);
- for every study, one summary image plotting each label's probability along the slices with the
  operating threshold; for an indeterminate result it is the only image, and its banner gives the reason.

Each image references its source images (Source Image Sequence, PS3.3 C.7.6.1), describes how it was
made (Derivation Description) and flags the burned-in text (Burned In Annotation YES, PS3.3 C.7.6.1.1.6).
Patient and study attributes are copied from the source slice by ``SCImage.from_ref_dataset``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import cast

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset

from dicomnode.pipelines.ich_ct import render
from dicomnode.pipelines.ich_ct.codes import ABBREVIATIONS, DISPLAY_NAMES
from dicomnode.pipelines.ich_ct.context import SC_SERIES_NUMBER, ReportContext
from dicomnode.pipelines.ich_ct.findings import Findings
from dicomnode.pipelines.ich_ct.identity import series_description
from dicomnode.results import banner
from dicomnode.results.capture import finish_capture
from dicomnode.results.geometry import patient_orientation, pixel_spacing
from dicomnode.results.sources import quiet_person_name_warnings
from inference.ich.labels import LABELS
from inference.ich.prediction import Prediction

logger = logging.getLogger(__name__)

SHORT_NAMES = [ABBREVIATIONS[label] for label in LABELS]


def _sc_image(
    ref: Dataset, pixels: np.ndarray, sop_instance_uid: str, instance_number: int, prediction: Prediction,
    context: ReportContext, pixel_spacing: tuple[float, float] | None = None,
) -> hd.sc.SCImage:
    """An RGB SC image of the SC series made from ``ref`` (patient, study and geometry copied from it)."""
    with quiet_person_name_warnings():
        return hd.sc.SCImage.from_ref_dataset(
            ref_dataset=ref, pixel_array=pixels, photometric_interpretation="RGB", bits_allocated=8,
            coordinate_system="PATIENT", patient_orientation=patient_orientation(ref),
            sop_instance_uid=sop_instance_uid, instance_number=instance_number,
            pixel_spacing=cast("tuple[int, int] | None", pixel_spacing),  # highdicom annotates ints; floats in DS
            transfer_syntax_uid="1.2.840.10008.1.2.1", series_instance_uid=context.uids.sc_series,
            series_number=SC_SERIES_NUMBER, manufacturer=context.manufacturer,
            series_description=series_description(prediction, "SC"), software_versions=context.software_version,
            manufacturer_model_name="dicomnode", institution_name=context.institution_name,
        )


def key_slice_image(
    prediction: Prediction, datasets: Sequence[Dataset], index: int, instance_number: int, context: ReportContext,
    findings: Findings, hu: np.ndarray,
) -> hd.sc.SCImage:
    """The SC image of slice ``index`` (``hu`` in HU): brain window, region overlay, legend, banner."""
    ds = datasets[index]
    grey = render.window(hu)
    region = findings.regions.get(index)
    lines = [
        banner.BANNER,
        f"slice {index + 1}/{len(datasets)}: " + render.probability_line(prediction.slice_probs[index], SHORT_NAMES),
        "study: " + render.probability_line(prediction.study_probs, SHORT_NAMES),
    ]
    if region is None:
        pixels = banner.burn_in(np.repeat(grey[..., None], 3, axis=-1), lines)
    else:
        drawn = render.region_overlay(grey, region.mask, region.outline, region.centre)
        pixels = banner.burn_in(render.legend(drawn), lines)
    image = _sc_image(ds, pixels, context.uids.key_slice(str(ds.SOPInstanceUID)), instance_number, prediction,
                      context, pixel_spacing(ds))
    finish_capture(image, [ds], context.created_at, (
        f"Brain window {render.BRAIN_WINDOW[0]:g}/{render.BRAIN_WINDOW[1]:g} HU with the region the "
        f"{prediction.model_name} model attributes the finding to (class activation of 'any hemorrhage' within "
        "the intracranial space and 40-100 HU) outlined; AI result, not for diagnostic use"
    ))
    image.ImageComments = f"AI key slice for {DISPLAY_NAMES['any']}; not for diagnostic use"
    return image


def summary_image(
    prediction: Prediction, datasets: Sequence[Dataset], instance_number: int, context: ReportContext,
) -> hd.sc.SCImage:
    """The SC image plotting each label's probability along the slices with the operating threshold."""
    verdict = "POSITIVE" if prediction.positive(context.threshold) else "negative"
    lines = [
        banner.BANNER,
        f"{prediction.model_name} {prediction.model_version}: {verdict} at threshold {context.threshold:g}",
        "study: " + render.probability_line(prediction.study_probs, SHORT_NAMES),
    ]
    if context.indeterminate_reasons:
        lines[1] = f"{prediction.model_name} {prediction.model_version}: RESULT INDETERMINATE"
        lines[2:] = [f"reason: {reason}" for reason in context.indeterminate_reasons]
    names = [f"{ABBREVIATIONS[label]} ({DISPLAY_NAMES[label].lower()})" for label in LABELS]
    pixels = render.summary_plot(
        prediction.slice_probs, context.threshold, names, "Probability per slice", lines
    )
    image = _sc_image(datasets[0], pixels, context.uids.summary, instance_number, prediction, context)
    image["PatientOrientation"].value = None  # a plot has no patient orientation (Type 2C, present and empty)
    finish_capture(image, datasets, context.created_at,
                   "Plot of the AI model's per-slice probabilities; not for diagnostic use")
    image.ImageComments = "AI summary: probability of each hemorrhage type per slice; not for diagnostic use"
    return image


def build_sc(
    prediction: Prediction, datasets: Sequence[Dataset], context: ReportContext, findings: Findings,
    hu_of: Callable[[int], np.ndarray],
) -> list[hd.sc.SCImage]:
    """Key-slice images (positive, determinate studies only) followed by the summary image.

    ``hu_of(index)`` gives a slice in HU (prediction order); ``findings.regions`` holds the regions drawn.
    """
    images: list[hd.sc.SCImage] = []
    for number, index in enumerate(sorted(findings.sc_slices), start=1):
        images.append(key_slice_image(prediction, datasets, index, number, context, findings, hu_of(index)))
    images.append(summary_image(prediction, datasets, len(images) + 1, context))
    logger.info(
        "SC series %s for series %s: %d key slice(s) and a summary",
        context.uids.sc_series, context.uids.source_series_uid, len(images) - 1,
    )
    return images
