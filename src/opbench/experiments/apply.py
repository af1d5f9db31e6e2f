"""Apply a trained checkpoint to a test set on a grid or on arbitrary points, and score it.

Models that take coordinates (``galerkin_transformer``, ``deeponet``) run on non-uniform points
directly. Grid models (FNO, Transformer, MLP, U-Net) cannot: their input is linearly interpolated
from the points onto the uniform training grid and their output interpolated back to the points
(``POINT_MODELS`` tells which is which, and the report says so).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from opbench.data.netcdf import read_pair
from opbench.evaluation.bands import band_errors
from opbench.evaluation.inference import predict
from opbench.evaluation.metrics import rel_l2
from opbench.models.point_utils import grid_points, interpolate_points_1d
from opbench.training.checkpoint import read_checkpoint

POINT_MODELS = ("galerkin_transformer", "deeponet")


class Trained:
    """A checkpoint read once, with its registry name, training grid and normalizer."""

    def __init__(self, path: str | Path) -> None:
        ckpt = read_checkpoint(path)
        self.model, self.normalizer, self.meta = ckpt.model, ckpt.normalizer, ckpt.meta
        self.kind = ckpt.model_name
        self.grid = tuple(ckpt.kwargs["grid"])
        self.periodic = bool(ckpt.kwargs["periodic"])

    def predict(self, a: np.ndarray, x: np.ndarray | None = None, batch: int = 64) -> np.ndarray:
        """Predictions (N, *grid) for inputs a (N, *grid) on a uniform grid of the model's kind (periodic
        or vertex, 1D or 2D), or in 1D at points ``x`` (n,) if they are not such a grid; batches go
        through ``evaluation.inference.predict``, the one prediction path."""
        on_grid = x is None or _is_uniform(x, self.periodic)
        if not on_grid and a.ndim != 2:
            raise ValueError(f"point sets are 1D only: inputs of shape {a.shape} need the {self.kind} model's own "
                             f"kind of grid ({'periodic' if self.periodic else 'vertex'})")
        forward = None if on_grid else self._at_points(torch.as_tensor(x, dtype=torch.float32)[:, None])
        pred, _ = predict(self.model, self.normalizer, a[:, None], batch_size=batch, forward=forward)
        return pred[:, 0]

    def _at_points(self, coords: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        """The model on encoded inputs at points ``coords`` (n, 1): directly for point models, else
        interpolated onto the training grid and its output back to the points."""
        if self.kind in POINT_MODELS:
            return lambda t: self.model(t, coords)
        grid = grid_points(self.grid, self.periodic)

        def through_grid(t: torch.Tensor) -> torch.Tensor:
            y = self.model(interpolate_points_1d(t, coords, grid, self.periodic))
            return interpolate_points_1d(y, grid, coords, self.periodic)

        return through_grid


def _is_uniform(x: np.ndarray, periodic: bool = True) -> bool:
    """Whether ``x`` is the uniform grid of its size: i / n (periodic) or i / (n - 1) (vertex)."""
    n = len(x)
    return bool(np.allclose(x, np.arange(n) / (n if periodic else max(n - 1, 1)), atol=1e-9))


def score(trained: Trained, path: str | Path, scale: float = 1.0) -> dict[str, float]:
    """Mean relative L2 (and per DFT band on uniform grids, over every grid axis) of a model on one test
    file; inputs and truth scaled by ``scale`` (the heat operator is linear, so the truth scales with
    the input)."""
    a, u, ds = read_pair(path)
    x = ds["x"].values
    pred = trained.predict(a * scale, x)
    out = {"rel_l2": float(np.mean(rel_l2(pred, u * scale)))}
    if _is_uniform(x, getattr(trained, "periodic", True)):  # a model that does not say: a periodic grid
        bands = band_errors(pred, u * scale, ndim=a.ndim - 1)
        out.update({f"rel_l2_{k}": float(np.mean(v)) for k, v in bands.items()})
    return out


def equivariance_error(trained: Trained, path: str | Path, lam: float) -> float:
    """Mean over samples of ||M(lam a) - lam M(a)|| / ||lam M(a)||: zero for a linear (1-homogeneous) model."""
    a, _, ds = read_pair(path)
    base = trained.predict(a)
    return float(np.mean(rel_l2(trained.predict(lam * a), lam * base)))
