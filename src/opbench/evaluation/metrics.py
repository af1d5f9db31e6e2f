"""Accuracy metrics on numpy arrays (the numbers the report quotes)."""

from __future__ import annotations

import numpy as np


def rel_l2(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Per-sample relative L2 error ||pred - true|| / ||true||, norms over every axis after the first.

    Computed in float64. A sample whose true field is identically zero gives inf (or nan when the
    prediction is zero too): relative error is undefined there and should not be silently hidden.
    """
    pred = np.asarray(pred, dtype=np.float64)
    true = np.asarray(true, dtype=np.float64)
    if pred.shape != true.shape:
        raise ValueError(f"shape mismatch: pred {pred.shape} vs true {true.shape}")
    if pred.ndim < 2:
        raise ValueError(f"expected (N, ...) arrays with at least one axis after the first, got {pred.shape}")
    diff = np.linalg.norm((pred - true).reshape(pred.shape[0], -1), axis=1)
    ref = np.linalg.norm(true.reshape(true.shape[0], -1), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return diff / ref
