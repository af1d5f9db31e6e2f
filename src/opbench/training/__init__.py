"""Training: normalization, checkpoints and the shared training loop."""

from opbench.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from opbench.training.normalization import Normalizer
from opbench.training.resume import TrainingInterrupted
from opbench.training.trainer import TrainConfig, Trainer, TrainingDivergedError, train

__all__ = [
    "CheckpointError", "Normalizer", "TrainConfig", "Trainer", "TrainingDivergedError", "TrainingInterrupted",
    "load_checkpoint", "save_checkpoint", "train",
]
