"""Evaluation: accuracy metrics and timed inference."""

from opbench.evaluation.inference import predict
from opbench.evaluation.metrics import rel_l2

__all__ = ["predict", "rel_l2"]
