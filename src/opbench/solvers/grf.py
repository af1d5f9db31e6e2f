"""Gaussian random fields: the input functions of every dataset.

Periodic fields on the unit torus have covariance ``sigma^2 (-Delta + tau^2 I)^(-alpha)`` with the
constant mode removed (zero mean). The FNO paper's inputs follow from the parameters:
Burgers ``sigma=25, tau=5, alpha=2`` (625 (-Delta + 25 I)^-2), Navier-Stokes
``sigma=7**1.5, tau=7, alpha=2.5``. Darcy uses the Neumann Laplacian on the unit square (cosine
basis) with ``sigma=1, tau=3, alpha=2`` before thresholding.

Each sample is drawn from its own generator (``opbench.seeding``) and nothing else, so a sample
is the same whatever batch it is computed in.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.fft as sfft

from opbench.solvers.spectral import wavenumbers


def periodic_eigenvalues(n: int, ndim: int, alpha: float, tau: float, sigma: float) -> np.ndarray:
    """Covariance eigenvalues on an ``rfftn`` layout, with the zero mode set to 0."""
    k2 = sum(k.astype(np.float64) ** 2 for k in wavenumbers(n, ndim))
    lam = sigma**2 * ((2.0 * np.pi) ** 2 * k2 + tau**2) ** (-alpha)
    lam.flat[0] = 0.0
    return lam


def periodic_grf(
    rngs: Sequence[np.random.Generator],
    n: int,
    *,
    alpha: float,
    tau: float,
    sigma: float,
    ndim: int = 1,
) -> np.ndarray:
    """Samples on ``n`` points per axis (x_i = i/n), shape ``(len(rngs), n[, n])``.

    White noise ``w`` on the grid is coloured in Fourier space: ``u = sqrt(N) F^-1 sqrt(lam) F w``
    with ``N = n**ndim`` and ``F`` the forward-normalised DFT. Since ``E|F w|^2 = 1/N`` per mode,
    each Fourier coefficient of ``u`` has variance ``lam_k`` in the L2-orthonormal basis,
    Hermitian symmetry (and so realness) holds exactly, and the pointwise variance is
    ``sum_k lam_k``.
    """
    shape = (n,) * ndim
    noise = np.stack([rng.standard_normal(shape) for rng in rngs]) if rngs else np.zeros((0, *shape))
    lam = periodic_eigenvalues(n, ndim, alpha, tau, sigma)
    axes = tuple(range(-ndim, 0))
    spec = sfft.rfftn(noise, axes=axes, norm="forward") * np.sqrt(lam)
    return sfft.irfftn(spec, s=shape, axes=axes, norm="forward") * np.sqrt(n**ndim)


def neumann_grf_2d(
    rngs: Sequence[np.random.Generator],
    n: int,
    *,
    alpha: float,
    tau: float,
    sigma: float,
) -> np.ndarray:
    """Samples on the vertex grid x_i = i/(n-1) of the unit square, shape ``(len(rngs), n, n)``.

    Expansion in the Neumann eigenfunctions ``c_k c_l cos(pi k x) cos(pi l y)`` (``c_0 = 1``,
    ``c_k = sqrt 2``), eigenvalues of ``-Delta`` ``pi^2 (k^2 + l^2)``, modes ``0..n-1`` per axis,
    the constant mode dropped. Evaluated exactly on the grid with a type-I DCT per axis.
    """
    k = np.arange(n, dtype=np.float64)
    lam = sigma**2 * (np.pi**2 * (k[:, None] ** 2 + k[None, :] ** 2) + tau**2) ** (-alpha)
    lam[0, 0] = 0.0
    norm = np.where(k == 0, 1.0, np.sqrt(2.0))
    scale = np.sqrt(lam) * norm[:, None] * norm[None, :]
    coef = np.stack([rng.standard_normal((n, n)) for rng in rngs]) if rngs else np.zeros((0, n, n))
    coef = coef * scale
    return _cosine_series(_cosine_series(coef, axis=-1), axis=-2)


def _cosine_series(c: np.ndarray, axis: int) -> np.ndarray:
    """f_j = sum_k c_k cos(pi k j / (n-1)) along ``axis``, through scipy's DCT-I convention."""
    x = np.moveaxis(c, axis, -1).copy()
    x[..., 1:-1] *= 0.5  # DCT-I doubles the interior terms
    return np.moveaxis(sfft.dct(x, type=1, axis=-1), -1, axis)
