"""What the conformance statement says of produced objects holds: their SOP classes and character set."""

from __future__ import annotations

from pathlib import Path

import pydicom

from dicomnode.pipelines.ich_ct.results import PRODUCED_SOP_CLASSES, build_results
from tests.dicomnode.pipelines.ich_ct.helpers import context_for, lesion_case


def test_produced_objects_use_the_listed_sop_classes_and_the_source_character_set(tmp_path: Path) -> None:
    series, prediction, _ = lesion_case(tmp_path, subtype="EDH", n_slices=6, size=64)
    for ds in series:
        ds.SpecificCharacterSet = "ISO_IR 192"
        ds.PatientName = "Yamada^Tarō=山田^太郎"
    results = build_results(prediction, series, context_for(series))

    assert {str(ds.SOPClassUID) for ds in results} == set(PRODUCED_SOP_CLASSES)
    for index, ds in enumerate(results):
        path = tmp_path / f"result{index}.dcm"
        ds.save_as(path)
        back = pydicom.dcmread(path)
        assert back.SpecificCharacterSet == "ISO_IR 192"
        assert str(back.PatientName) == "Yamada^Tarō=山田^太郎"
