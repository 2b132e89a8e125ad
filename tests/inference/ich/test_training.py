"""Losses, augmentation and a few steps of each training stage on tiny phantoms."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from inference.ich.checkpoint import load_checkpoint, state_hash
from inference.ich.evaluation import metrics
from inference.ich.network import HemorrhageNet, ModelConfig
from inference.ich.training.augment import AugmentConfig, augment_series
from inference.ich.training.losses import weighted_log_loss
from inference.ich.training.run import train_and_save
from inference.ich.training.sources import PhantomSource
from inference.ich.training.trainer import StageConfig, TrainConfig, Trainer
from tests.inference.ich.training_fixtures import write_png_folder

TINY = ModelConfig(encoder_width=4, lstm_hidden=8, input_size=32)


def tiny_config(**overrides: object) -> TrainConfig:
    values = dict(model=TINY, encoder=StageConfig(1, 1e-3, 2), sequence=StageConfig(2, 1e-3, 2),
                  end_to_end=StageConfig(1, 1e-4, 2), series_per_step=2, slices_per_series=3, extra_per_step=2,
                  max_window=4, threads=1, progress=False, val_slices_per_series=2)
    values.update(overrides)
    return TrainConfig(**values)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[PhantomSource, PhantomSource]:
    cache = tmp_path_factory.mktemp("phantoms")
    train = PhantomSource([1, 2, 3, 4], size=32, n_slices=6, cache_dir=cache, input_size=32)
    val = PhantomSource([11, 12, 13], size=32, n_slices=6, cache_dir=cache, input_size=32)
    return train, val


def test_loss_weights_any_twice() -> None:
    logits = torch.tensor([[2.0, -1.0, 0.0, 0.5, -0.5, 1.0]])
    targets = torch.tensor([[1.0, 0.0, 1.0, 0.0, 1.0, 0.0]])
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")[0]
    expected = (2 * bce[0] + bce[1:].sum()) / 7
    assert torch.isclose(weighted_log_loss(logits, targets), expected)
    numpy_value = metrics.weighted_log_loss(targets.numpy(), torch.sigmoid(logits).numpy())
    assert numpy_value == pytest.approx(float(expected), rel=1e-5)


def test_loss_ignores_unknown_classes() -> None:
    logits = torch.tensor([[3.0, -9.0, 9.0, 0.0, 0.0, 0.0], [0.0] * 6])
    targets = torch.tensor([[1.0, 1.0, 0.0, 1.0, 1.0, 1.0], [0.0] * 6])
    known = torch.tensor([[True, False, False, False, False, False], [False] * 6])
    only_any = torch.nn.functional.binary_cross_entropy_with_logits(logits[0, 0], targets[0, 0])
    assert torch.isclose(weighted_log_loss(logits, targets, known), only_any)
    assert weighted_log_loss(logits, targets, torch.zeros_like(known)).item() == 0.0


def test_augment_keeps_shape_and_repeats_with_the_seed() -> None:
    hu = torch.from_numpy(PhantomSource([7], size=32, n_slices=3, input_size=32)[0].hu)
    a = augment_series(hu, np.random.default_rng(5))
    b = augment_series(hu, np.random.default_rng(5))
    assert a.shape == hu.shape and torch.equal(a, b)
    assert torch.equal(augment_series(hu, np.random.default_rng(5), AugmentConfig(enabled=False)), hu)
    windowed = augment_series(hu, np.random.default_rng(0), AugmentConfig(prewindowed=1.0))
    assert 0.0 <= float(windowed.min()) and float(windowed.max()) <= 80.0


def test_stages_run_in_order_and_record_history(tiny_data, tmp_path: Path) -> None:
    train, val = tiny_data
    trainer = Trainer(tiny_config(), train, val, tmp_path)
    trainer.fit()
    stages = [record["stage"] for record in trainer.history]
    assert stages[0] == "encoder" and "sequence" in stages and stages[-1] == "end_to_end"
    assert all(np.isfinite(r["train_loss"]) and np.isfinite(r["val_loss"]) for r in trainer.history)
    assert [r["stage"] for r in json.loads((tmp_path / "history.json").read_text())] == stages
    assert json.loads((tmp_path / "train_config.json").read_text())["model"]["encoder_width"] == 4


def test_a_stage_that_does_not_beat_its_start_is_discarded(tiny_data, tmp_path: Path, monkeypatch) -> None:
    train, val = tiny_data
    config = tiny_config(encoder=StageConfig(2, 1e-2, 2), sequence=StageConfig(0, 1e-3), end_to_end=StageConfig(0, 1e-4))
    losses = iter([1.0, 1.5, 2.0])  # before training, after epoch 1, after epoch 2
    monkeypatch.setattr(Trainer, "_validate_encoder", lambda self, val: {"val_loss": next(losses)})
    trainer = Trainer(config, train, val, tmp_path)
    before = {k: v.clone() for k, v in trainer.net.state_dict().items()}
    trainer.fit()
    assert [r["val_loss"] for r in trainer.history] == [1.5, 2.0]
    after = trainer.net.state_dict()
    assert all(torch.equal(after[k], before[k]) for k in before)
    assert not (tmp_path / "stage-encoder.pt").exists()


def test_init_starts_from_a_checkpoint(tiny_data, tmp_path: Path) -> None:
    train, val = tiny_data
    source = HemorrhageNet(TINY)
    torch.save(source.state_dict(), tmp_path / "init.pt")
    config = tiny_config(encoder=StageConfig(0, 1e-3), sequence=StageConfig(0, 1e-3), end_to_end=StageConfig(0, 1e-4))
    trainer = Trainer(config, train, val, tmp_path / "run", init=tmp_path / "init.pt")
    assert state_hash(trainer.fit()) == state_hash(source.eval())


def test_sequence_stage_leaves_encoder_alone(tiny_data, tmp_path: Path) -> None:
    train, val = tiny_data
    trainer = Trainer(tiny_config(encoder=StageConfig(0, 1e-3), end_to_end=StageConfig(0, 1e-4)), train, val, tmp_path)
    before = {k: v.clone() for k, v in trainer.net.state_dict().items()}
    trainer.fit()
    after = trainer.net.state_dict()
    assert all(torch.equal(after[k], before[k]) for k in before if k.startswith(("encoder.", "cam_head.")))
    assert [r["stage"] for r in trainer.history] == ["sequence", "sequence"]


def test_training_is_deterministic(tiny_data, tmp_path: Path) -> None:
    train, val = tiny_data
    config = tiny_config(sequence=StageConfig(1, 1e-3, 2), end_to_end=StageConfig(0, 1e-4))
    hashes = [state_hash(Trainer(config, train, val, tmp_path / str(i)).fit()) for i in range(2)]
    assert hashes[0] == hashes[1]


def test_train_and_save_writes_loadable_weights_with_operating_point(tiny_data, tmp_path: Path) -> None:
    train, val = tiny_data
    png = write_png_folder(tmp_path / "png", n=10)
    from inference.ich.training.sources import PngSource

    weights = train_and_save(tiny_config(), train, val, tmp_path / "out", version="test",
                             extra=PngSource(png, "finetune", input_size=32),
                             extra_val=PngSource(png, "validation", input_size=32), command="pytest")
    net, info = load_checkpoint(weights)
    assert info.version == "test" and info.config == TINY and isinstance(net, HemorrhageNet)
    meta = json.loads(weights.with_suffix(".json").read_text())
    assert 0.0 < info.threshold < 1.0
    assert meta["threshold"] == meta["operating_points"]["study"]["thresholds"]["any"]
    assert meta["operating_points"]["extra_encoder"]["level"] == "encoder"
    assert meta["training"]["command"] == "pytest" and meta["training"]["history"]


def test_train_command(tmp_path: Path) -> None:
    from dicomnode.cli import main

    result = CliRunner().invoke(main, [
        "train", "--source", "phantoms", "--out", str(tmp_path / "run"), "--epochs", "1,1,1", "--steps", "1,1,1",
        "--train-seeds", "1-2", "--val-seeds", "11-12", "--phantom-size", "32", "--input-size", "32",
        "--width", "4", "--lstm-hidden", "8", "--threads", "1", "--no-progress", "--version", "cli",
        "--min-sensitivity", "0.99",
    ])
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "run" / "hemorrhage.json").read_text())
    assert meta["version"] == "cli" and meta["config"]["encoder_width"] == 4
    assert meta["operating_points"]["study"]["min_sensitivity"] == 0.99
    assert meta["training"]["command"].startswith("dicomnode train") and meta["training"]["data"]["train"] == 2
    assert meta["training"]["device"] == "cpu"


def test_train_command_fills_the_phantom_cache_with_workers(tmp_path: Path) -> None:
    from dicomnode.cli import main

    cache = tmp_path / "cache"
    result = CliRunner().invoke(main, [
        "train", "--source", "phantoms", "--out", str(tmp_path / "run"), "--epochs", "1,0,0", "--steps", "1,0,0",
        "--train-seeds", "1-3", "--val-seeds", "11-12", "--phantom-size", "32", "--input-size", "32",
        "--width", "4", "--lstm-hidden", "8", "--threads", "1", "--no-progress", "--cache", str(cache),
        "--workers", "2", "--series-per-step", "3", "--extra-per-step", "0",
    ])
    assert result.exit_code == 0, result.output
    assert len(list(cache.glob("phantom-s*.npz"))) == 5
    config = json.loads((tmp_path / "run" / "train_config.json").read_text())
    assert config["series_per_step"] == 3 and config["extra_per_step"] == 0


def test_train_command_workers_need_a_cache(tmp_path: Path) -> None:
    from dicomnode.cli import main

    result = CliRunner().invoke(main, ["train", "--out", str(tmp_path), "--workers", "2"])
    assert result.exit_code == 2 and "--cache" in result.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_train_command_refuses_cuda_without_a_gpu(tmp_path: Path) -> None:
    from dicomnode.cli import main

    result = CliRunner().invoke(main, ["train", "--out", str(tmp_path), "--device", "cuda"])
    assert result.exit_code == 2 and "sees no CUDA GPU" in result.output
    assert not (tmp_path / "train_config.json").exists()


def test_training_device_names() -> None:
    from inference.ich.training.trainer import training_device

    assert training_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="cpu or cuda"):
        training_device("meta")


def test_train_command_refuses_an_operating_point_below_095_sensitivity(tmp_path: Path) -> None:
    from dicomnode.cli import main

    result = CliRunner().invoke(main, ["train", "--out", str(tmp_path), "--min-sensitivity", "0.9"])
    assert result.exit_code == 2 and "--min-sensitivity" in result.output


def test_train_command_needs_data_for_files(tmp_path: Path) -> None:
    from dicomnode.cli import main

    result = CliRunner().invoke(main, ["train", "--source", "png", "--out", str(tmp_path)])
    assert result.exit_code != 0 and "--data" in result.output


def test_train_command_refuses_a_source_without_study_keys(tmp_path: Path) -> None:
    from dicomnode.cli import main
    from inference.ich.labels import LABELS

    slices = tmp_path / "slices"
    slices.mkdir()
    (slices / "labels.csv").write_text(",".join(["id", *LABELS]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["train", "--source", "rsna-slices", "--data", str(slices),
                                       "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "has no study keys" in result.output, result.output


def test_train_command_adds_enrichment_phantoms_to_training_only(tmp_path: Path) -> None:
    from dicomnode.cli import main

    cache = tmp_path / "cache"
    result = CliRunner().invoke(main, [
        "train", "--source", "phantoms", "--out", str(tmp_path / "run"), "--epochs", "1,0,0", "--steps", "1,0,0",
        "--train-seeds", "1-2", "--val-seeds", "11-12", "--enrich", "IPH:100-101", "--enrich", "any:102",
        "--phantom-size", "32", "--input-size", "32", "--width", "4", "--lstm-hidden", "8", "--threads", "1",
        "--no-progress", "--cache", str(cache), "--extra-per-step", "0",
    ])
    assert result.exit_code == 0, result.output
    assert len(list(cache.glob("phantom-s10[01]-rIPH-*.npz"))) == 2
    assert len(list(cache.glob("phantom-s102-rany-*.npz"))) == 1
    data = json.loads((tmp_path / "run" / "hemorrhage.json").read_text())["training"]["data"]
    assert data["train"] == 5 and data["train_natural_mix"] == 2 and data["val"] == 2
    assert data["enrich"] == {"IPH:100-101": 2, "any:102": 1}


@pytest.mark.parametrize(("options", "message"), [
    (["--enrich", "IPH:11"], "shares seeds with --val-seeds"),
    (["--enrich", "IPH:1"], "shares seeds with --train-seeds"),
    (["--enrich", "IPH:100-102", "--enrich", "any:102"], "shares seeds with --enrich IPH:100-102"),
    (["--enrich", "XYZ:100"], "expected REQUEST:SEEDS"),
    (["--enrich", "IPH:9-3"], "is empty"),
    (["--val-seeds", "2-3"], "--train-seeds and --val-seeds overlap"),
])
def test_train_command_refuses_phantom_seeds_used_twice_or_bad_requests(tmp_path: Path, options: list[str],
                                                                         message: str) -> None:
    from dicomnode.cli import main

    result = CliRunner().invoke(main, ["train", "--out", str(tmp_path), "--train-seeds", "1-2", "--val-seeds", "11",
                                       *options])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "train_config.json").exists()


def test_train_command_enrichment_needs_phantoms(tmp_path: Path) -> None:
    from dicomnode.cli import main

    png = write_png_folder(tmp_path / "png")
    result = CliRunner().invoke(main, ["train", "--source", "png", "--data", str(png), "--out", str(tmp_path / "run"),
                                       "--enrich", "IPH:100"])
    assert result.exit_code == 2 and "--enrich" in result.output


@pytest.mark.realdata
@pytest.mark.slow
def test_train_command_adds_real_volumes_by_split_and_rsna_slices_to_validation(tmp_path: Path) -> None:
    from dicomnode.cli import main

    data = Path(__file__).resolve().parents[3].parent / "shared" / "data"
    if not data.is_dir():
        pytest.skip(f"real data not found at {data}")
    result = CliRunner().invoke(main, [
        "train", "--source", "phantoms", "--out", str(tmp_path / "run"), "--epochs", "1,1,0", "--steps", "1,1,0",
        "--train-seeds", "1-2", "--val-seeds", "11-12", "--phantom-size", "64", "--input-size", "64",
        "--width", "4", "--lstm-hidden", "8", "--threads", "1", "--no-progress", "--version", "cli",
        "--real-ct", str(data / "real-ct"), "--real-seeds", "0-3", "--real-val-seeds", "0-1",
        "--rsna-slices", str(data / "rsna-slices" / "labelled"), "--cache", str(tmp_path / "cache"),
    ])
    assert result.exit_code == 0, result.output
    info = json.loads((tmp_path / "run" / "hemorrhage.json").read_text())["training"]["data"]
    assert info["train"] == 2 + 4 and info["val"] == 2 + 2 + 10
    assert info["real_train"]["volumes"] == ["stanford-cthead", "mricrogl-headct", "vtk-headsq"]
    assert info["real_val"]["volumes"] == ["ge-head-dcmqa"] and info["rsna_slices_val"] == 10
