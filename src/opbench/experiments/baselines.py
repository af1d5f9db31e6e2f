"""Baselines that need no training run, set beside the learned models as oracles (issue 11).

* ``LinearMap``: the least-squares affine map between input and output vectors at one resolution
  (claim 3). On a linear operator such as heat it is the best finite-vector model there is, so it
  tells whether "operators beat finite vectors" is a property of the vectors or of the networks.
* ``zero`` and ``lowpass`` predictions (claim 6): what a model scores that knows nothing, or
  only the truth's large scales, per Fourier band.
"""

from __future__ import annotations

import numpy as np


class LinearMap:
    """u ~ a W + b fitted by least squares (minimum-norm when under-determined) on (N, *grid) fields,
    flattened to vectors of every grid point (1D or 2D)."""

    def __init__(self, a: np.ndarray, u: np.ndarray) -> None:
        a, u = np.asarray(a, np.float64), np.asarray(u, np.float64)
        self.out_shape = u.shape[1:]
        x = np.concatenate([a.reshape(a.shape[0], -1), np.ones((a.shape[0], 1))], axis=1)
        coef, *_ = np.linalg.lstsq(x, u.reshape(u.shape[0], -1), rcond=None)
        self.weight, self.bias = coef[:-1], coef[-1]

    def predict(self, a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, np.float64)
        return (a.reshape(a.shape[0], -1) @ self.weight + self.bias).reshape(a.shape[0], *self.out_shape)


def lowpass(u: np.ndarray, k_max: float) -> np.ndarray:
    """u (..., n, n) with every Fourier mode of |k| >= k_max removed (the large scales only)."""
    n = u.shape[-1]
    k = np.fft.fftfreq(n, 1.0 / n)
    keep = np.hypot(k[:, None], k[None, :]) < k_max
    return np.real(np.fft.ifft2(np.fft.fft2(u) * keep))
