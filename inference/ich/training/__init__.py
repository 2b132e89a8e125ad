"""Training of the hemorrhage model: data sources, augmentation, losses and the staged trainer."""

from inference.ich.training.sources import DataSource, PhantomSource, PngSource, Sample
from inference.ich.training.trainer import StageConfig, TrainConfig, Trainer

__all__ = ["DataSource", "PhantomSource", "PngSource", "Sample", "StageConfig", "TrainConfig", "Trainer"]
