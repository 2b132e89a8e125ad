"""The pipeline registry: lazy names, enabling by configuration, the produced SOP classes, ich_ct's selection."""

from __future__ import annotations

from pathlib import Path

import pytest

from dicomnode.config import Config, load_config
from dicomnode.errors import ConfigError
from dicomnode.pipelines import PIPELINES, enabled_pipelines, load_pipeline, produced_sop_classes
from dicomnode.pipelines.base import InputSet, NotApplicable, OtherSeries, Refusal
from dicomnode.pipelines.ich_ct.results import PRODUCED_SOP_CLASSES
from tests.factories import ct_series


class NoOtherSeries:
    def other_series(self) -> list[OtherSeries]:
        return []


NO_STUDY = NoOtherSeries()


def test_every_registered_pipeline_loads_under_its_own_name() -> None:
    assert "ich_ct" in PIPELINES
    for name in PIPELINES:
        assert load_pipeline(name).name == name


def test_an_unknown_name_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        load_pipeline("no_such_pipeline")


def test_every_pipeline_is_enabled_by_default_and_each_can_be_turned_off() -> None:
    assert [p.name for p in enabled_pipelines(Config())] == ["ich_ct", "cmb_swi"]
    off = Config(pipelines={"ich_ct": {"enabled": False}, "cmb_swi": {"enabled": False}})
    assert enabled_pipelines(off) == [] and produced_sop_classes(off) == ()
    ct_only = Config(pipelines={"cmb_swi": {"enabled": False}})
    assert [p.name for p in enabled_pipelines(ct_only)] == ["ich_ct"]


def test_a_section_naming_no_pipeline_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="pipelines.ich_mr: no such pipeline"):
        enabled_pipelines(Config(pipelines={"ich_mr": {}}))


def test_produced_sop_classes_are_the_union_of_the_pipelines_results() -> None:
    assert produced_sop_classes() == (*PRODUCED_SOP_CLASSES, "1.2.840.10008.5.1.4.1.1.88.34") == produced_sop_classes(
        Config())
    assert produced_sop_classes(Config(pipelines={"cmb_swi": {"enabled": False}})) == PRODUCED_SOP_CLASSES


def test_ich_ct_selection_takes_an_axial_ct_series_as_its_one_input() -> None:
    headers = ct_series(12, 32)
    verdict = load_pipeline("ich_ct").select(headers, Config(), NO_STUDY)
    assert isinstance(verdict, InputSet)
    assert verdict.series_uids == (str(headers[0].SeriesInstanceUID),) and verdict.facts["slices"] == 12


def test_ich_ct_refuses_with_the_selection_reasons() -> None:
    headers = ct_series(12, 32)
    headers[0].Modality = "MR"
    verdict = load_pipeline("ich_ct").select(headers, Config(), NO_STUDY)
    assert isinstance(verdict, Refusal) and "selection.modalities" in verdict.reason
    assert isinstance(load_pipeline("ich_ct").select([], Config(), NO_STUDY), Refusal)
    scout = load_pipeline("ich_ct").select(ct_series(3, 32), Config(), NO_STUDY)
    assert isinstance(scout, Refusal) and "min_slices" in scout.reason


def test_an_mr_series_is_not_for_ich_ct() -> None:
    headers = ct_series(12, 32)
    for ds in headers:
        ds.Modality = "MR"
    verdict = load_pipeline("ich_ct").select(headers, Config(), NO_STUDY)
    assert isinstance(verdict, NotApplicable) and "Modality MR is not one of CT" in verdict.reason


def test_pipelines_are_configured_in_the_file_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "node.toml"
    toml.write_text("[pipelines.ich_ct]\nenabled = false\n[pipelines.cmb_swi]\nmax_key_images = 2\n", encoding="utf-8")
    assert [p.name for p in enabled_pipelines(load_config(toml))] == ["cmb_swi"]
    assert load_pipeline("cmb_swi").settings(load_config(toml)).max_key_images == 2  # type: ignore[attr-defined]
    monkeypatch.setenv("DICOMNODE_PIPELINES__ICH_CT__ENABLED", "true")
    monkeypatch.setenv("DICOMNODE_PIPELINES__CMB_SWI__MAX_KEY_IMAGES", "4")
    assert [p.name for p in enabled_pipelines(load_config(toml))] == ["ich_ct", "cmb_swi"]
    assert load_pipeline("cmb_swi").settings(load_config(toml)).max_key_images == 4  # type: ignore[attr-defined]
