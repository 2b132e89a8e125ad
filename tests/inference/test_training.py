"""Losses, augmentation and a few steps of each training stage on tiny phantoms."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from inference.checkpoint import load_checkpoint, state_hash
from inference.evaluation import metrics
from inference.network import HemorrhageNet, ModelConfig
from inference.training.augment import AugmentConfig, augment_series
from inference.training.losses import weighted_log_loss
from inference.training.run import train_and_save
from inference.training.sources import PhantomSource
from inference.training.trainer import StageConfig, TrainConfig, Trainer, dense_loss, lesion_channels
from tests.inference.training_fixtures import write_png_folder

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
    a, _ = augment_series(hu, np.random.default_rng(5))
    b, _ = augment_series(hu, np.random.default_rng(5))
    assert a.shape == hu.shape and torch.equal(a, b)
    assert torch.equal(augment_series(hu, np.random.default_rng(5), AugmentConfig(enabled=False))[0], hu)
    windowed, _ = augment_series(hu, np.random.default_rng(0), AugmentConfig(prewindowed=1.0))
    assert 0.0 <= float(windowed.min()) and float(windowed.max()) <= 80.0


def test_phantom_samples_carry_lesion_masks_that_agree_with_the_slice_labels(tmp_path: Path) -> None:
    source = PhantomSource([3], size=64, n_slices=12, cache_dir=tmp_path, input_size=64)
    fresh, cached = source[0], source[0]
    assert np.array_equal(fresh.lesion_mask, cached.lesion_mask) and fresh.lesion_mask.shape == fresh.hu.shape
    channels = lesion_channels(cached.lesion_mask)
    assert channels.shape == (12, 6, 64, 64)
    has_blood = channels.flatten(2).amax(dim=2).numpy()
    # every labelled slice has blood of that class in its mask (a few pixels can lie under the label's area floor)
    assert np.all(has_blood[cached.slice_labels > 0] == 1)
    assert torch.equal(channels[:, 0] > 0, torch.from_numpy(cached.lesion_mask != 0))


def test_lesion_channels_split_the_bits_in_label_order() -> None:
    mask = np.array([[[0, 1], [2, 16]]], dtype=np.uint8)  # epidural, intraparenchymal, subdural
    channels = lesion_channels(mask)[0]
    assert channels[0].tolist() == [[0, 1], [1, 1]]
    assert channels[1].tolist() == [[0, 1], [0, 0]] and channels[2].tolist() == [[0, 0], [1, 0]]
    assert channels[5].tolist() == [[0, 0], [0, 1]] and float(channels[3:5].sum()) == 0.0


def test_dense_loss_marks_a_cell_positive_when_any_pixel_under_it_is_blood() -> None:
    masks = torch.zeros(1, 6, 8, 8)
    masks[0, 0, 1, 1] = 1.0  # one pixel in the top-left 4x4 cell
    right = torch.full((1, 6, 2, 2), -9.0)
    right[0, 0, 0, 0] = 9.0
    wrong = torch.full((1, 6, 2, 2), -9.0)
    assert float(dense_loss(right, masks)) < 0.01 < float(dense_loss(wrong, masks))


def test_augment_moves_the_masks_with_the_image() -> None:
    hu = torch.full((1, 32, 32), 20.0)
    hu[0, 4:12, 2:10] = 70.0
    masks = torch.zeros(1, 6, 32, 32)
    masks[0, :, 4:12, 2:10] = 1.0
    config = AugmentConfig(flip=1.0, rotate_degrees=0.0, zoom=(1.0, 1.0), shift=0.0, hu_offset=0.0, hu_gain=0.0,
                           blur=0.0, noise=0.0, prewindowed=0.0)
    moved, moved_masks = augment_series(hu, np.random.default_rng(0), config, masks)
    inside = moved_masks[0, 0] > 0
    assert int(inside.sum()) == 64 and bool(inside[4:12, 22:30].all())
    assert torch.allclose(moved[0][inside], torch.tensor(70.0), atol=1e-3)


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


def test_the_dense_head_learns_in_the_encoder_stage_and_stays_out_of_the_weights(tiny_data, tmp_path: Path) -> None:
    train, val = tiny_data
    config = tiny_config(sequence=StageConfig(0, 1e-3), end_to_end=StageConfig(0, 1e-4))
    trainer = Trainer(config, train, val, tmp_path)
    before = trainer.dense_head.weight.detach().clone()
    trainer.stage_encoder()
    assert not torch.equal(before, trainer.dense_head.weight)
    assert not any(key.startswith("dense") for key in trainer.net.state_dict())
    off = Trainer(tiny_config(dense_weight=0.0, sequence=StageConfig(0, 1e-3), end_to_end=StageConfig(0, 1e-4)),
                  train, val, tmp_path / "off")
    off_before = off.dense_head.weight.detach().clone()
    off.stage_encoder()
    assert torch.equal(off_before, off.dense_head.weight)


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
    from inference.training.sources import PngSource

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
    ])
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "run" / "hemorrhage.json").read_text())
    assert meta["version"] == "cli" and meta["config"]["encoder_width"] == 4
    assert meta["training"]["command"].startswith("dicomnode train") and meta["training"]["data"]["train"] == 2


def test_train_command_needs_data_for_files(tmp_path: Path) -> None:
    from dicomnode.cli import main

    result = CliRunner().invoke(main, ["train", "--source", "png", "--out", str(tmp_path)])
    assert result.exit_code != 0 and "--data" in result.output
