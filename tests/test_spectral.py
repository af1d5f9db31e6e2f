"""Trigonometric resampling: exact for band-limited functions, odd and even grids, 1D and 2D."""

from __future__ import annotations

import numpy as np
import pytest

from opbench.solvers.spectral import fourier_resample


def _field(n: int, ndim: int, top: int) -> np.ndarray:
    """A real trigonometric polynomial with modes up to ``top`` (cosine at ``top``) on n points."""
    axes = np.meshgrid(*([np.arange(n) / n] * ndim), indexing="ij")
    f = np.zeros((n,) * ndim)
    for i, x in enumerate(axes):
        f += np.cos(2 * np.pi * top * x) + (i + 1) * np.sin(2 * np.pi * (top - 1) * x + 0.3)
    if ndim == 2:
        f += np.cos(2 * np.pi * (2 * axes[0] - 3 * axes[1]))
    return f


@pytest.mark.parametrize(("n", "m"), [(8, 16), (9, 18), (8, 24), (16, 17)])
@pytest.mark.parametrize("ndim", [1, 2])
def test_upsampling_is_exact_and_round_trips(n: int, m: int, ndim: int) -> None:
    top = n // 2  # the coarse grid's Nyquist mode for even n, the highest mode for odd n
    coarse, fine = _field(n, ndim, top), _field(m, ndim, top)
    up = fourier_resample(coarse, m, ndim=ndim)
    np.testing.assert_allclose(up, fine, atol=1e-12)
    np.testing.assert_allclose(fourier_resample(up, n, ndim=ndim), coarse, atol=1e-12)


def test_batch_axes_are_left_alone() -> None:
    batch = np.stack([_field(8, 1, 3), 2 * _field(8, 1, 3)])
    up = fourier_resample(batch, 32)
    np.testing.assert_allclose(up[1], 2 * up[0], atol=1e-12)
