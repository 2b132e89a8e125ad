"""Which findings the results show, on which slices, and where: shared by the SR, the SEG and the SC images.

For each hemorrhage subtype called positive (study probability at or above the operating threshold):

- its *key slices* are the slices where its slice probability is highest among those with something to draw
  (at most ``ReportContext.max_key_slices``; see :func:`drawable_slices`): the SR draws the finding there
  (TID 1410 planar regions) and the image library lists them;
(When only "any hemorrhage" reaches the threshold and no subtype does, the finding drawn is "any".)

- its *segmented slices* are every slice whose probability reaches the threshold (at least the key slices),
  at most :data:`MAX_SEGMENTED_SLICES` for all findings together (the most probable): the SEG holds the
  finding's region on each of them that has one.

The region on a slice comes from :func:`dicomnode.pipelines.ich_ct.regions.slice_region` (the model's saliency clipped
to the intracranial space of :func:`inference.ich.intracranial.intracranial_slice_mask` and intersected with blood
density); a slice without Pixel Spacing or without intracranial space (open skull ring) has none. The saliency map is the model's attribution
for "any hemorrhage", so a slice has one region whatever the subtype; each positive subtype reports it on its
own key slices. A result marked indeterminate (:attr:`ReportContext.indeterminate_reasons`) shows no finding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

from dicomnode.pipelines.ich_ct.context import ReportContext, key_slices, positive_labels
from dicomnode.pipelines.ich_ct.regions import SliceRegion, slice_region
from dicomnode.results.geometry import pixel_spacing
from inference.ich.labels import ANY_INDEX, LABELS
from inference.ich.prediction import Prediction
from inference.ich.resample import resample_bilinear

HuOf = Callable[[int], np.ndarray]
"""The slice ``index`` (prediction order) in HU, float [rows, cols]."""

MAX_KEY_SLICE_TRIES = 24
"""Most slices looked at to find a finding's key slices (each costs an intracranial mask)."""

MAX_SEGMENTED_SLICES = 32
"""Most slices the SEG covers (about 2 cm of 0.625 mm slices, all of a 5 mm series' bleed)."""

IntracranialOf = Callable[[np.ndarray, Sequence[float]], np.ndarray]
"""(HU slice, pixel spacing in mm) -> bool [rows, cols] intracranial space
(:func:`inference.ich.intracranial.intracranial_slice_mask`)."""


@dataclass(frozen=True)
class KeySlice:
    """A positive finding on one of its key slices.

    Attributes
    ----------
    label : str
        The subtype (a name of :data:`inference.ich.labels.LABELS`, never "any").
    index : int
        The slice, in prediction order (``prediction.sop_instance_uids[index]``).
    rank : int
        1 for the finding's most probable slice, 2 for the next, ...
    probability : float
        The subtype's probability on this slice.
    region : SliceRegion
        Where the model attributes the finding on this slice.
    """

    label: str
    index: int
    rank: int
    probability: float
    region: SliceRegion


@dataclass(frozen=True)
class Findings:
    """Everything the writers draw: per positive subtype, its key slices and its segmented slices.

    Attributes
    ----------
    labels : tuple of str
        Positive subtypes in :data:`~inference.ich.labels.LABELS` order (empty for a negative or an
        indeterminate result).
    key : dict
        label -> its :class:`KeySlice` items that have a region or a centre, most probable first.
    segmented : dict
        label -> slice index -> region mask (bool [rows, cols]); only slices with a region.
    regions : dict
        slice index -> :class:`SliceRegion` or None, for every slice looked at (cached for the SC images).
    sc_slices : list of int
        The SC key images' slices (most probable for "any hemorrhage" that can be drawn on; empty when the
        result is negative or indeterminate).
    """

    labels: tuple[str, ...]
    key: dict[str, list[KeySlice]]
    segmented: dict[str, dict[int, np.ndarray]]
    regions: dict[int, SliceRegion | None]
    sc_slices: list[int]

    def referenced_indices(self) -> list[int]:
        """Slices the SR references (image library and evidence), sorted."""
        return sorted({item.index for items in self.key.values() for item in items})


def locate(
    prediction: Prediction, datasets: Sequence[Dataset], context: ReportContext, hu_of: HuOf,
    intracranial_of: IntracranialOf,
) -> Findings:
    """The findings of ``prediction`` with their regions (see the module docstring for the rules).

    Parameters
    ----------
    prediction
        The model's output (slice order = ``datasets`` order).
    datasets
        The source slices in prediction order.
    context
        Threshold, key-slice count, indeterminate reasons.
    hu_of
        Gives slice ``index`` in HU (the volume's array when the step has it, else decoded here).
    intracranial_of
        The intracranial mask of one slice.
    """
    maps = prediction.saliency
    if context.indeterminate_reasons or maps is None:
        return Findings((), {}, {}, {}, sc_key_slices(prediction, context))
    regions: dict[int, SliceRegion | None] = {}

    def region_at(index: int) -> SliceRegion | None:
        if index not in regions:
            spacing = pixel_spacing(datasets[index])
            if spacing is None:  # a CT image has Pixel Spacing (Type 1); without it nothing can be measured
                regions[index] = None
            else:
                hu = hu_of(index)
                saliency = resample_bilinear(maps[index], hu.shape[0], hu.shape[1])
                regions[index] = slice_region(hu, saliency, intracranial_of(hu, spacing), spacing)
        return regions[index]

    labels = finding_labels(prediction, context)
    key: dict[str, list[KeySlice]] = {}
    for label in labels:
        column = prediction.slice_probs[:, LABELS.index(label)]
        chosen = drawable_slices(column, context.max_key_slices, region_at)
        key[label] = [
            KeySlice(label, index, rank, round(float(column[index]), 4), region)
            for rank, index in enumerate(chosen, start=1)
            if (region := region_at(index)) is not None
        ]
    segmented: dict[str, dict[int, np.ndarray]] = {}
    if context.segmentation and "FrameOfReferenceUID" in datasets[0]:  # else no SEG (see reports.seg)
        drawn = {label: [item.index for item in items] for label, items in key.items()}
        wanted = segmented_slices(prediction, context, drawn)
        segmented = {
            label: {index: region.mask for index in indices
                    if (region := region_at(index)) is not None and region.mask is not None}
            for label, indices in wanted.items()
        }
    sc_slices = sc_key_slices(prediction, context)
    if sc_slices:
        column = prediction.slice_probs[:, ANY_INDEX]
        sc_slices = drawable_slices(column, context.max_key_slices, region_at) or sc_slices
    return Findings(labels, key, segmented, regions, sc_slices)


def drawable_slices(
    probabilities: np.ndarray, limit: int, region_at: Callable[[int], SliceRegion | None],
) -> list[int]:
    """The ``limit`` most probable slices that have something to draw, most probable first.

    A slice without intracranial space (the vertex cap, below the foramen magnum: an open skull ring) or
    without saliency inside it has no region and no centre; it is passed over for the next most probable,
    looking at most at :data:`MAX_KEY_SLICE_TRIES` slices, so every positive finding is drawn where it can be.
    """
    order = [int(i) for i in np.argsort(-probabilities, kind="stable")]
    picked: list[int] = []
    for index in order[:MAX_KEY_SLICE_TRIES]:
        if len(picked) == limit:
            break
        if region_at(index) is not None:
            picked.append(index)
    return picked


def segmented_slices(
    prediction: Prediction, context: ReportContext, key: dict[str, list[int]],
) -> dict[str, list[int]]:
    """label -> the slices its SEG segment covers: at or above the threshold, and its key slices ``key[label]``.

    At most :data:`MAX_SEGMENTED_SLICES` slices in all (the most probable for any of the findings, the key
    slices always among them), which bounds the time a large finding on a thin-slice series costs.
    """
    labels = list(key)
    wanted: dict[str, set[int]] = {}
    keys: set[int] = set()
    for label in labels:
        column = prediction.slice_probs[:, LABELS.index(label)]
        keys.update(key[label])
        wanted[label] = {int(i) for i in np.flatnonzero(column >= context.threshold)} | set(key[label])
    union = set().union(*wanted.values()) if wanted else set()
    if len(union) > MAX_SEGMENTED_SLICES:
        score = prediction.slice_probs[:, [LABELS.index(label) for label in labels]].max(axis=1)
        ranked = sorted(union - keys, key=lambda i: (-float(score[i]), i))
        union = keys | set(ranked[: max(0, MAX_SEGMENTED_SLICES - len(keys))])
    return {label: sorted(indices & union) for label, indices in wanted.items()}


def finding_labels(prediction: Prediction, context: ReportContext) -> tuple[str, ...]:
    """The findings drawn: the positive subtypes, or "any" alone when only "any hemorrhage" is positive."""
    if context.indeterminate_reasons:
        return ()
    subtypes = positive_labels(prediction, context.threshold)
    if subtypes:
        return tuple(subtypes)
    return ("any",) if prediction.positive(context.threshold) else ()


def sc_key_slices(prediction: Prediction, context: ReportContext) -> list[int]:
    """Slices shown as SC key images: the most probable for "any hemorrhage" (none when not positive)."""
    if context.indeterminate_reasons or not prediction.positive(context.threshold):
        return []
    return key_slices(prediction.slice_probs[:, ANY_INDEX], context.threshold, context.max_key_slices)
