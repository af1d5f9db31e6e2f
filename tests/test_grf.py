"""Gaussian random fields: prescribed spectrum, zero mean, per-sample determinism, Neumann basis."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft as sfft

from opbench.seeding import stream
from opbench.solvers.grf import neumann_grf_2d, periodic_eigenvalues, periodic_grf
from opbench.solvers.spectral import wavenumbers


def _rngs(tag: str, count: int, start: int = 0) -> list[np.random.Generator]:
    return [stream(7, "test-grf", tag, i) for i in range(start, start + count)]


@pytest.mark.parametrize(
    ("ndim", "n", "samples", "alpha", "tau", "sigma"),
    [(1, 64, 4000, 2.0, 5.0, 25.0), (2, 32, 800, 2.5, 7.0, 7.0**1.5)],
)
def test_periodic_spectrum(ndim: int, n: int, samples: int, alpha: float, tau: float, sigma: float) -> None:
    u = periodic_grf(_rngs(f"spec{ndim}", samples), n, alpha=alpha, tau=tau, sigma=sigma, ndim=ndim)
    assert u.shape == (samples, *(n,) * ndim)
    axes = tuple(range(1, ndim + 1))
    power = np.mean(np.abs(sfft.rfftn(u, axes=axes, norm="forward")) ** 2, axis=0)
    lam = periodic_eigenvalues(n, ndim, alpha, tau, sigma)
    k2 = sum(k.astype(float) ** 2 for k in wavenumbers(n, ndim))
    keep = lam > 0
    ratio = power[keep] / lam[keep]
    # each |u_k|^2 is exponential (chi^2_1 for self-conjugate modes): relative sd <= sqrt(2 / samples)
    assert abs(ratio.mean() - 1.0) < 4 * np.sqrt(2.0 / samples / ratio.size)
    assert np.abs(ratio - 1.0).max() < 6 * np.sqrt(2.0 / samples)
    # log power = log sigma^2 - alpha log((2 pi k)^2 + tau^2): fit slope and intercept
    x = np.log((2 * np.pi) ** 2 * k2[keep] + tau**2)
    slope, intercept = np.polyfit(x, np.log(power[keep]), 1)
    print(
        f"\nGRF {ndim}D spectrum: fitted slope {slope:.4f} (expected {-alpha}), "
        f"intercept {intercept:.3f} (expected {np.log(sigma**2):.3f})"
    )
    assert slope == pytest.approx(-alpha, abs=0.03)
    assert intercept == pytest.approx(np.log(sigma**2), abs=0.25)
    assert power.flat[0] < 1e-28 * sigma**2  # constant mode removed


@pytest.mark.parametrize("ndim", [1, 2])
def test_zero_mean_per_sample(ndim: int) -> None:
    u = periodic_grf(_rngs(f"mean{ndim}", 10), 48, alpha=2.0, tau=5.0, sigma=25.0, ndim=ndim)
    means = u.reshape(10, -1).mean(axis=1)
    assert np.abs(means).max() < 1e-14 * np.abs(u).max()


def test_sample_independent_of_batch() -> None:
    kw = {"alpha": 2.0, "tau": 5.0, "sigma": 25.0}
    for ndim in (1, 2):
        big = periodic_grf(_rngs("batch", 6), 64, ndim=ndim, **kw)
        alone = periodic_grf(_rngs("batch", 1, start=3), 64, ndim=ndim, **kw)
        mid = periodic_grf(_rngs("batch", 3, start=2), 64, ndim=ndim, **kw)
        assert np.array_equal(big[3], alone[0])
        assert np.array_equal(big[2:5], mid)
    big = neumann_grf_2d(_rngs("nbatch", 5), 33, alpha=2.0, tau=3.0, sigma=1.0)
    alone = neumann_grf_2d(_rngs("nbatch", 1, start=4), 33, alpha=2.0, tau=3.0, sigma=1.0)
    assert np.array_equal(big[4], alone[0])


def _cosine_matrix(n: int) -> np.ndarray:
    """C[j, k] = cos(pi k j / (n - 1)): the Neumann basis at the vertex grid, built directly."""
    j = np.arange(n)
    return np.cos(np.pi * np.outer(j, j) / (n - 1))


def test_neumann_coefficients_follow_eigenvalues() -> None:
    """Cosine coefficients recovered by a direct solve have variance lam_kl c_k^2 c_l^2."""
    n, samples, alpha, tau, sigma = 17, 3000, 2.0, 3.0, 1.0
    f = neumann_grf_2d(_rngs("neumann", samples), n, alpha=alpha, tau=tau, sigma=sigma)
    c = _cosine_matrix(n)
    cinv = np.linalg.inv(c)
    coef = np.einsum("kj,sjl,ml->skm", cinv, f, cinv)  # f = C coef C^T
    assert np.allclose(np.einsum("jk,skl,ml->sjm", c, coef, c), f, atol=1e-12)
    k = np.arange(n, dtype=float)
    lam = sigma**2 * (np.pi**2 * (k[:, None] ** 2 + k[None, :] ** 2) + tau**2) ** (-alpha)
    norm2 = np.where(k == 0, 1.0, 2.0)
    expected = lam * norm2[:, None] * norm2[None, :]
    expected[0, 0] = 0.0
    var = np.mean(coef**2, axis=0)
    assert var[0, 0] < 1e-25  # constant mode dropped
    ratio = var.ravel()[1:] / expected.ravel()[1:]
    assert abs(ratio.mean() - 1.0) < 4 * np.sqrt(2.0 / samples / ratio.size)
    assert np.abs(ratio - 1.0).max() < 6 * np.sqrt(2.0 / samples)


def test_neumann_zero_normal_derivative() -> None:
    """The field's cosine series is even about each boundary: a point just outside the square
    equals its mirror image inside, and the one-sided boundary slope vanishes as the grid is
    refined (first differences at the wall are much smaller than in the interior)."""
    n = 65
    f = neumann_grf_2d(_rngs("wall", 200), n, alpha=4.0, tau=3.0, sigma=1.0)
    c = _cosine_matrix(n)
    coef = np.linalg.solve(c, np.linalg.solve(c, f).transpose(0, 2, 1)).transpose(0, 2, 1)
    k = np.arange(n)
    h = 0.37 / (n - 1)
    for wall in (0.0, 1.0):
        outside = np.cos(np.pi * k * (wall - h if wall == 0 else wall + h))
        inside = np.cos(np.pi * k * (wall + h if wall == 0 else wall - h))
        # evaluate along x (first axis) at all grid y
        f_out = np.einsum("k,skl,jl->sj", outside, coef, c)
        f_in = np.einsum("k,skl,jl->sj", inside, coef, c)
        assert np.allclose(f_out, f_in, rtol=0, atol=1e-10 * np.abs(f).max())
    d = np.abs(np.diff(f, axis=1)).mean(axis=(0, 2))  # mean |first difference| in x by position
    assert d[0] < 0.5 * d[n // 2] and d[-1] < 0.5 * d[n // 2]
