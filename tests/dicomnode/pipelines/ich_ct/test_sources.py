"""Source headers completed by the documented fallbacks: an RSNA-style series reaches results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from dicomnode.delivery.results_dir import write_results
from dicomnode.errors import UnusableSeries
from dicomnode.pipelines.ich_ct.results import build_results
from dicomnode.pipelines.ich_ct.sources import complete_headers
from inference.ich.volume import Volume
from tests.dicomnode.pipelines.ich_ct.helpers import POSITIVE, context_for, prediction_for
from tests.factories import ct_series

STRIPPED = ("SliceThickness", "SOPClassUID", "ImageType", "FrameOfReferenceUID", "InstanceNumber", "SeriesNumber",
            "StudyDate", "StudyTime", "AccessionNumber", "PatientName", "PatientID")


def rsna_like(n: int = 12, spacing: float = 5.0) -> list[Dataset]:
    """A series as RSNA 2019 exports it: type 2/3 attributes stripped, "UIDs" like ``ID_0fe31b044``."""
    datasets = ct_series(n, 64, spacing=spacing, study_uid="ID_5a1b2c3d4e", series_uid="ID_84296c3845")
    for index, ds in enumerate(datasets):
        for keyword in STRIPPED:
            if keyword in ds:
                delattr(ds, keyword)
        ds.SOPInstanceUID = f"ID_{index:09x}"
    return datasets


def test_rsna_like_series_gets_thickness_from_positions_and_class_from_file_meta(tmp_path: Path) -> None:
    datasets = rsna_like(spacing=5.0)
    volume = Volume.from_datasets(datasets)
    completed = complete_headers(datasets, volume)
    assert [float(ds.SliceThickness) for ds in completed] == [5.0] * 12
    assert {str(ds.SOPClassUID) for ds in completed} == {str(datasets[0].file_meta.MediaStorageSOPClassUID)}
    assert all("SliceThickness" not in ds and "SOPClassUID" not in ds for ds in datasets)  # sources unchanged
    results = build_results(prediction_for(completed, POSITIVE), completed, context_for(completed))
    items = write_results(tmp_path, results)
    assert len(items) == len(results) >= 3  # SR, key slices, summary
    assert {item.study_uid for item in items} == {"ID_5a1b2c3d4e"}
    sr = pydicom.dcmread(items[0].path)
    referenced = {str(ref.ReferencedSOPInstanceUID) for ref in sr.CurrentRequestedProcedureEvidenceSequence[0]
                  .ReferencedSeriesSequence[0].ReferencedSOPSequence}
    assert referenced and referenced <= set(volume.sop_instance_uids)  # the SR lists the slices it draws on


def test_present_values_are_kept_and_nothing_is_copied() -> None:
    datasets = ct_series(3, 16, spacing=2.5)
    for ds in datasets:
        ds.SliceThickness = 3.0  # overlapping reconstruction: thickness differs from spacing, and is kept
    completed = complete_headers(datasets, Volume.from_datasets(datasets))
    assert all(a is b for a, b in zip(completed, datasets, strict=True))


def test_single_slice_without_thickness_is_unusable_naming_both_attributes() -> None:
    [ds] = rsna_like(1)
    with pytest.raises(UnusableSeries, match=r"SliceThickness \(0018,0050\) and SpacingBetweenSlices \(0018,0088\)"):
        complete_headers([ds], Volume.from_datasets([ds]))
    ds.SpacingBetweenSlices = 5.0
    assert float(complete_headers([ds], Volume.from_datasets([ds]))[0].SliceThickness) == 5.0


def test_missing_sop_class_everywhere_is_unusable() -> None:
    datasets = rsna_like(2)
    del datasets[1].file_meta.MediaStorageSOPClassUID
    with pytest.raises(UnusableSeries, match=r"SOPClassUID \(0008,0016\) and no MediaStorageSOPClassUID"):
        complete_headers(datasets, Volume.from_datasets(datasets))


def test_thickness_is_the_median_plane_distance() -> None:
    datasets = rsna_like(4)
    datasets[3].ImagePositionPatient = [-32.0, -32.0, 16.0]  # one 1 mm shorter step: the median is 5 mm
    volume = Volume.from_datasets(datasets)
    assert np.isclose(float(complete_headers(datasets, volume)[0].SliceThickness), 5.0)
