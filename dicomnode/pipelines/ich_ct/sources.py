"""The source images as the result writers need them: headers completed by documented fallbacks.

The SR (TID 1500), SC and SEG writers reference and copy attributes of the source images (PS3.3 C.7.6.1
General Image, C.7.6.2 Image Plane, C.12.1 SOP Common); highdicom's TID 1500 image descriptors read Slice
Thickness (0018,0050). De-identified exports and some senders leave these out. Rules, applied to shallow
copies (the datasets read from storage are not changed):

============================  ===========================================================================
attribute                     when absent or empty
============================  ===========================================================================
SOP Class UID (0008,0016)     the file's Media Storage SOP Class UID (0002,0002), which the node's SCP
                              writes from the C-STORE request; absent in both: :class:`UnusableSeries`
Slice Thickness (0018,0050)   the distance between slice planes measured from Image Position (Patient)
                              (``Volume.spacing[0]``, the median over the series); for a single slice,
                              Spacing Between Slices (0018,0088); neither: :class:`UnusableSeries`
============================  ===========================================================================

The type 2 Patient and General Study attributes copied into the results are filled in by
:func:`dicomnode.results.sources.with_type2_present`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydicom.dataset import Dataset

from dicomnode.errors import UnusableSeries
from inference.ich.volume import Volume


def complete_headers(datasets: Sequence[Dataset], volume: Volume) -> list[Dataset]:
    """``datasets`` with the fallbacks of the module docstring applied (shallow copies where one applies).

    Raises
    ------
    UnusableSeries
        An attribute is absent and has no fallback; the message names it.
    """
    thickness = _thickness(datasets, volume)
    completed = []
    for ds in datasets:
        fills: dict[str, object] = {}
        if not ds.get("SOPClassUID"):
            fills["SOPClassUID"] = _sop_class_from_meta(ds, volume)
        if ds.get("SliceThickness") in (None, ""):
            fills["SliceThickness"] = thickness
        completed.append(_with(ds, fills) if fills else ds)
    return completed


def _thickness(datasets: Sequence[Dataset], volume: Volume) -> float | None:
    if all(ds.get("SliceThickness") not in (None, "") for ds in datasets):
        return None
    if volume.num_slices > 1:
        return round(float(volume.spacing[0]), 4)
    spacing = datasets[0].get("SpacingBetweenSlices")
    if spacing in (None, ""):
        raise UnusableSeries(
            f"series {volume.series_instance_uid}: SliceThickness (0018,0050) and SpacingBetweenSlices (0018,0088) "
            "are absent and a single slice has no neighbour to measure it from"
        )
    return float(spacing)


def _sop_class_from_meta(ds: Dataset, volume: Volume) -> str:
    meta = getattr(ds, "file_meta", None)
    uid = meta.get("MediaStorageSOPClassUID") if meta is not None else None
    if not uid:
        raise UnusableSeries(
            f"series {volume.series_instance_uid}: SOP {ds.get('SOPInstanceUID')} has no SOPClassUID (0008,0016) "
            "and no MediaStorageSOPClassUID (0002,0002); the results cannot reference it"
        )
    return str(uid)


def _with(ds: Dataset, fills: dict[str, object]) -> Dataset:
    copy = Dataset(dict(ds.items()))  # a new element dict; values (pixel data too) are shared, not copied
    if hasattr(ds, "file_meta"):
        copy.file_meta = ds.file_meta
    for keyword, value in fills.items():
        setattr(copy, keyword, value)
    return copy
