"""Learnable models (torch): neural operators and the standard baselines they are compared with."""

from opbench.models.registry import MODELS, build_model, model_names

__all__ = ["MODELS", "build_model", "model_names"]
