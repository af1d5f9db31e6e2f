"""Training: normalization, checkpoints and the shared training loop."""

from opbench.training.checkpoint import load_checkpoint, save_checkpoint
from opbench.training.normalization import Normalizer
from opbench.training.trainer import TrainConfig, train

__all__ = ["Normalizer", "TrainConfig", "load_checkpoint", "save_checkpoint", "train"]
