"""Model weights: loading, saving and the model's identity (:class:`ModelInfo`).

A checkpoint is a ``.pt`` file holding a torch state dict (read with ``weights_only=True``) and a JSON
sidecar with the same stem::

    {"name": "ich-vgg-bilstm", "version": "1.0.0", "threshold": 0.42,
     "config": {"encoder": "vgg", "lstm_hidden": 256, "lstm_layers": 2, "attention_heads": 0, "input_size": 256}}

Trained weights ship inside the package as ``inference/ich/weights/hemorrhage.pt`` (+ ``.json``). Until they
exist, :func:`load_model` builds the network with randomly initialised weights from a fixed seed and names
the version ``untrained-random-init``: its probabilities carry no clinical or diagnostic meaning.
A sidecar may carry ``calibration`` (per-label temperatures, :mod:`inference.ich.evaluation.calibration`), which
the engines apply; its thresholds are then on the calibrated scale.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from inference.errors import WeightsError
from inference.ich.evaluation.calibration import Calibration
from inference.ich.network import HemorrhageNet, ModelConfig

logger = logging.getLogger(__name__)

SHIPPED_WEIGHTS = Path(__file__).resolve().parent / "weights" / "hemorrhage.pt"
UNTRAINED_VERSION = "untrained-random-init"
RANDOM_INIT_SEED = 20190425
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class ModelInfo:
    """Identity of a loaded model, carried into every :class:`~inference.ich.prediction.Prediction`."""

    name: str
    version: str
    trained: bool
    threshold: float
    config: ModelConfig
    model_hash: str
    weights_path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    calibration: Calibration | None = None
    """Temperatures the engines apply to the probabilities (the sidecar's ``calibration``), or None."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "trained": self.trained,
            "threshold": self.threshold,
            "config": self.config.to_dict(),
            "model_hash": self.model_hash,
            "weights_path": self.weights_path,
            **({"extra": self.extra} if self.extra else {}),
            **({"calibration": dict(self.calibration.temperatures)} if self.calibration else {}),
        }


def default_name(config: ModelConfig) -> str:
    return f"ich-{config.encoder}-bilstm" + ("-attention" if config.attention_heads else "")


def state_hash(net: HemorrhageNet) -> str:
    """sha256 over the architecture and every parameter/buffer, in state-dict order."""
    digest = hashlib.sha256(json.dumps(net.config.to_dict(), sort_keys=True).encode())
    for key, tensor in net.state_dict().items():
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def random_model(config: ModelConfig | None = None, seed: int = RANDOM_INIT_SEED) -> tuple[HemorrhageNet, ModelInfo]:
    """A network with random weights from ``seed`` (the global RNG state is left untouched)."""
    config = config or ModelConfig()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = HemorrhageNet(config).eval()
    info = ModelInfo(
        name=default_name(config), version=UNTRAINED_VERSION, trained=False, threshold=DEFAULT_THRESHOLD,
        config=config, model_hash=state_hash(net), extra={"seed": seed},
    )
    logger.warning(
        "no trained weights: %s runs with randomly initialised weights (seed %d); outputs are meaningless",
        info.name, seed,
    )
    return net, info


def sidecar_path(weights: Path) -> Path:
    return weights.with_suffix(".json")


def load_checkpoint(weights: Path) -> tuple[HemorrhageNet, ModelInfo]:
    """Load a ``.pt`` state dict and its JSON sidecar."""
    sidecar = sidecar_path(weights)
    for path in (weights, sidecar):
        if not path.is_file():
            raise WeightsError(f"weights file {path} does not exist (a checkpoint is <name>.pt + <name>.json)")
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        config = ModelConfig.from_dict(meta.get("config", {}))
        threshold = float(meta.get("threshold", DEFAULT_THRESHOLD))
        calibration = Calibration.from_sidecar(meta)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise WeightsError(f"sidecar {sidecar} is not valid (config/threshold/calibration): {exc}") from exc
    if not 0.0 < threshold < 1.0:
        raise WeightsError(f"sidecar {sidecar}: threshold must lie in (0, 1), got {threshold}")
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state)
        net = HemorrhageNet(config)
        net.load_state_dict(state, strict=True)
    except Exception as exc:  # pickle, zip and key/shape mismatches
        raise WeightsError(f"weights {weights} cannot be loaded into {default_name(config)}: {exc}") from exc
    net.eval()
    info = ModelInfo(
        name=str(meta.get("name", default_name(config))), version=str(meta.get("version", "unversioned")),
        trained=bool(meta.get("trained", True)), threshold=threshold, config=config,
        model_hash=state_hash(net), weights_path=str(weights), calibration=calibration,
    )
    logger.info("loaded weights %s (%s %s)", weights, info.name, info.version)
    return net, info


def save_checkpoint(
    net: HemorrhageNet, weights: Path, version: str, threshold: float = DEFAULT_THRESHOLD,
    name: str | None = None, trained: bool = True,
) -> Path:
    """Write ``weights`` (.pt) and its JSON sidecar; return the weights path."""
    weights.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), weights)
    meta = {
        "name": name or default_name(net.config), "version": version, "threshold": threshold,
        "trained": trained, "config": net.config.to_dict(),
    }
    sidecar_path(weights).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return weights


def load_model(weights: Path | None = None, config: ModelConfig | None = None) -> tuple[HemorrhageNet, ModelInfo]:
    """The model to serve: ``weights`` if given, else the shipped weights, else a random init.

    ``config`` only shapes the random init; checkpoints carry their own architecture.
    """
    if weights is not None:
        return load_checkpoint(weights)
    if SHIPPED_WEIGHTS.is_file():
        return load_checkpoint(SHIPPED_WEIGHTS)
    return random_model(config)
