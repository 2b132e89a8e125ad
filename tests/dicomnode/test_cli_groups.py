"""Each model's tools are grouped (``dicomnode ich ...``, ``dicomnode cmb ...``); the old names keep working."""

from __future__ import annotations

import json

from click.testing import CliRunner

from dicomnode.cli import main


def test_ich_groups_the_hemorrhage_tools_and_model_keeps_working() -> None:
    runner = CliRunner()
    listed = runner.invoke(main, ["ich", "--help"])
    assert listed.exit_code == 0, listed.output
    for command in ("predict", "info", "export", "benchmark", "evaluate", "operating-point", "train"):
        assert command in listed.output
    via_ich = runner.invoke(main, ["ich", "info"])
    via_model = runner.invoke(main, ["model", "info"])
    assert via_ich.exit_code == via_model.exit_code == 0, via_ich.output + via_model.output
    assert json.loads(via_ich.stdout) == json.loads(via_model.stdout)


def test_cmb_groups_the_microbleed_tools() -> None:
    listed = CliRunner().invoke(main, ["cmb", "--help"])
    assert listed.exit_code == 0 and all(c in listed.output for c in ("dataset", "train", "evaluate", "predict"))
