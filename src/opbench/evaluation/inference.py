"""Batched inference with a trained model, timed per sample."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from opbench.training.normalization import Normalizer


def predict(
    model: nn.Module, normalizer: Normalizer, a: np.ndarray, batch_size: int = 64, device: str = "cpu",
    forward: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> tuple[np.ndarray, float]:
    """Physical-unit predictions for inputs ``a`` (N, C, *grid) and the wall seconds per sample.

    Each batch is encoded, mapped by ``forward`` (default: the model itself; e.g. a model applied at
    given points) and decoded. The timing covers host-to-device copies, the forward passes and the
    copy back, i.e. what a user pays per sample at this batch size (CUDA is synchronised before the
    clock stops).
    """
    model = model.to(device).eval()
    forward = forward or model
    x = np.ascontiguousarray(a, dtype=np.float32)
    outputs = []
    start = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, x.shape[0], batch_size):
            batch = torch.from_numpy(x[i : i + batch_size]).to(device)
            outputs.append(normalizer.decode(forward(normalizer.encode(batch))).cpu())
        if str(device).startswith("cuda"):
            torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    pred = torch.cat(outputs).numpy() if outputs else np.empty((0,), dtype=np.float32)
    return pred, seconds / max(x.shape[0], 1)
