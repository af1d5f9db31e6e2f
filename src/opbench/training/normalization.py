"""Per-channel scalar normalization of model inputs and outputs, fitted on the training set.

Statistics are one mean and one standard deviation per channel, pooled over samples and grid
points. Per-grid-point statistics (as some FNO scripts use) would tie the normalizer to the
training grid: they cannot be applied at another resolution without interpolating them, which
would quietly change the model being evaluated. Scalars transfer to every grid unchanged.
"""

from __future__ import annotations

import numpy as np
import torch

_KEYS = ("in_mean", "in_std", "out_mean", "out_std")


def _channel_stats(x: np.ndarray, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    if x.ndim < 3:
        raise ValueError(f"expected an array (N, C, *grid), got shape {x.shape}")
    axes = tuple(i for i in range(x.ndim) if i != 1)
    x64 = np.asarray(x, dtype=np.float64)
    mean = x64.mean(axis=axes)
    std = np.maximum(x64.std(axis=axes), eps)  # a constant channel must not divide by zero
    return torch.from_numpy(mean).float(), torch.from_numpy(std).float()


class Normalizer:
    """``encode`` maps physical inputs to model units; ``decode`` maps model outputs to physical units."""

    def __init__(self, in_mean, in_std, out_mean, out_std) -> None:
        self.in_mean, self.in_std, self.out_mean, self.out_std = (
            torch.as_tensor(t, dtype=torch.float32).reshape(-1) for t in (in_mean, in_std, out_mean, out_std)
        )

    @classmethod
    def fit(cls, a: np.ndarray, u: np.ndarray, eps: float = 1e-8) -> Normalizer:
        """Fit channel statistics of inputs ``a`` and outputs ``u`` (both (N, C, *grid))."""
        return cls(*_channel_stats(a, eps), *_channel_stats(u, eps))

    @staticmethod
    def _shape(t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if x.ndim < 2 or x.shape[1] != t.numel():
            raise ValueError(f"normalizer has {t.numel()} channels, tensor has shape {tuple(x.shape)}")
        return t.to(device=x.device, dtype=x.dtype).reshape(1, -1, *([1] * (x.ndim - 2)))

    def encode(self, a: torch.Tensor) -> torch.Tensor:
        """Normalize a physical input batch (batch, C_in, *grid)."""
        return (a - self._shape(self.in_mean, a)) / self._shape(self.in_std, a)

    def encode_output(self, u: torch.Tensor) -> torch.Tensor:
        """Normalize a physical output batch (batch, C_out, *grid), e.g. for inspection."""
        return (u - self._shape(self.out_mean, u)) / self._shape(self.out_std, u)

    def decode(self, y: torch.Tensor) -> torch.Tensor:
        """Map a model output batch back to physical units."""
        return y * self._shape(self.out_std, y) + self._shape(self.out_mean, y)

    def state(self) -> dict[str, torch.Tensor]:
        """The statistics as a dict of tensors (what checkpoints store)."""
        return {k: getattr(self, k).clone() for k in _KEYS}

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor]) -> Normalizer:
        """Rebuild from ``state()``; raises ValueError when a statistic is missing."""
        missing = [k for k in _KEYS if k not in state]
        if missing:
            raise ValueError(f"normalizer state lacks {', '.join(missing)}")
        return cls(*(state[k] for k in _KEYS))
