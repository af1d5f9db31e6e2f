"""Discretization convergence of a trained model, after ReNO and Lanthaler-Stuart-Trautner.

A neural operator applied to the *same* input function sampled on grids of growing size n should
give outputs that converge to one limit function. Here (1D, periodic grids):

- ``sample_on_grid`` puts one function, given by its Fourier coefficients up to a band limit, on
  any grid exactly (point values of the same trigonometric polynomial), so only the model's own
  discretization changes with n;
- ``convergence_table`` measures, per n, the relative L2 distance of the output from the output on
  the finest grid (sampled at the coarse points) and from the output on the next finer grid;
- ``fit_rate`` fits the algebraic rate r of e(n) ~ C n^-r by least squares in log-log;
- ``aliasing_table`` measures the aliasing that the pointwise nonlinearities add: the output's
  Fourier coefficients computed on grid n against the finest grid's, on the modes grid n can hold.
  A model whose layers are all linear (or exactly band-limited) has none; a pointwise activation
  creates frequencies above n/2 that fold back onto the kept ones (the FNO is not alias-free).

``expected_rate`` gives the Sobolev regularity of the project's GRF inputs, the rate that the
discretization error of a Lipschitz operator is expected to follow when the inputs are not
band-limited below the coarsest grid.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

Apply = Callable[[np.ndarray], np.ndarray]  # (N, 1, n) -> (N, C, n)


def band_limit(a_fine: np.ndarray, band: int) -> np.ndarray:
    """Fourier coefficients (norm="forward") of the samples ``a_fine`` (N, n) up to frequency ``band``
    (inclusive); the rest dropped. Shape (N, band + 1), complex."""
    coeffs = np.fft.rfft(a_fine, axis=-1, norm="forward")
    if band + 1 > coeffs.shape[-1]:
        raise ValueError(f"band {band} exceeds the {coeffs.shape[-1] - 1} frequencies of the given samples")
    return coeffs[..., : band + 1]


def sample_on_grid(coeffs: np.ndarray, n: int) -> np.ndarray:
    """Point values at x_j = j / n of the real trigonometric polynomial with rfft coefficients ``coeffs``.

    Exact when n > 2 * band (the polynomial is resolved); on a smaller grid the frequencies above n/2
    alias, which is the input's own discretization error (what a non-band-limited input suffers).
    """
    pos = _fold(coeffs, n)  # c_k lands on index k mod n
    neg = np.conj(coeffs).copy()
    neg[..., 0] = 0  # the mean is counted once, in pos
    neg = _fold(neg, n)  # conj(c_k) lands on index -k mod n: reverse the folded array
    full = pos + np.roll(neg[..., ::-1], 1, axis=-1)
    return np.fft.ifft(full, axis=-1, norm="forward").real


def _fold(c: np.ndarray, n: int) -> np.ndarray:
    """Sum the coefficients c_k (k = 0..band) into n bins by k mod n."""
    m = -(-c.shape[-1] // n)
    padded = np.zeros((*c.shape[:-1], m * n), dtype=complex)
    padded[..., : c.shape[-1]] = c
    return padded.reshape(*c.shape[:-1], m, n).sum(axis=-2)


def outputs_on_grids(apply: Apply, coeffs: np.ndarray, grids: Sequence[int]) -> dict[int, np.ndarray]:
    """The model's output (N, C, n) for the same input function on every grid size n of ``grids``."""
    return {int(n): np.asarray(apply(sample_on_grid(coeffs, int(n))[:, None])) for n in sorted(grids)}


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over samples of ||a - b|| / ||b|| (norms over channels and points)."""
    a, b = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
    return float(np.mean(np.linalg.norm(a - b, axis=1) / np.maximum(np.linalg.norm(b, axis=1), 1e-300)))


def _restrict(y: np.ndarray, n: int) -> np.ndarray:
    step = y.shape[-1] // n
    if step * n != y.shape[-1]:
        raise ValueError(f"grid {n} does not divide grid {y.shape[-1]}: use nested grids (e.g. powers of 2)")
    return y[..., ::step]


def convergence_table(outputs: dict[int, np.ndarray]) -> pd.DataFrame:
    """Per grid n except the finest: distance to the finest output and to the next finer one.

    Columns n, err_to_finest (the discretization error, with the finest grid as the limit) and
    successive (||y_n - y_2n|| on grid n, which needs no limit and decays at the same rate).
    """
    ns = sorted(outputs)
    finest = outputs[ns[-1]]
    rows = []
    for n, m in zip(ns[:-1], ns[1:], strict=True):
        y = outputs[n]
        rows.append({"n": n, "err_to_finest": _rel(y, _restrict(finest, n)),
                     "successive": _rel(y, _restrict(outputs[m], n))})
    return pd.DataFrame(rows, columns=["n", "err_to_finest", "successive"])


def fit_rate(ns: Sequence[float], errors: Sequence[float], floor: float = 0.0) -> dict[str, float]:
    """Least-squares fit of log e = log C - r log n: rate r, constant C and the fit's R^2.

    Errors at or below ``floor`` (converged to rounding: ~1e-12 in float64) are left out, as they
    measure the arithmetic rather than the discretization; fewer than two points left give NaN.
    """
    n, e = np.asarray(ns, dtype=float), np.asarray(errors, dtype=float)
    keep = (e > max(floor, 0.0)) & np.isfinite(e)
    if keep.sum() < 2:
        return {"rate": float("nan"), "constant": float("nan"), "r2": float("nan"), "points": int(keep.sum())}
    x, y = np.log(n[keep]), np.log(e[keep])
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (slope * x + intercept)
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / total if total > 0 else 1.0
    return {"rate": float(-slope), "constant": float(np.exp(intercept)), "r2": r2, "points": int(keep.sum())}


def aliasing_table(outputs: dict[int, np.ndarray]) -> pd.DataFrame:
    """Per grid n except the finest: the aliasing of the output's resolved Fourier coefficients.

    aliasing = ||F_n y_n - F_N y_N|| / ||F_N y_N|| over frequencies 0 <= k < n / 2, with F_n the DFT
    (norm="forward") on n points and N the finest grid. It is zero (to rounding) for a map that
    commutes with sampling band-limited functions, and measures the frequencies above n/2 that a
    pointwise nonlinearity creates and folds back; ``high_band`` is the share of the finest output's
    energy at k >= n/2, which a grid of n points cannot represent at all.
    """
    ns = sorted(outputs)
    ref = np.fft.rfft(outputs[ns[-1]], axis=-1, norm="forward")
    rows = []
    for n in ns[:-1]:
        kept = n // 2  # frequencies 0..n/2-1: the Nyquist mode is left out (it is real-only on grid n)
        c_n = np.fft.rfft(outputs[n], axis=-1, norm="forward")[..., :kept]
        c_ref = ref[..., :kept]
        energy_all = np.sum(np.abs(ref) ** 2, axis=(-2, -1))
        energy_high = np.sum(np.abs(ref[..., kept:]) ** 2, axis=(-2, -1))
        rows.append({
            "n": n,
            "aliasing": _rel(c_n, c_ref),
            "high_band": float(np.mean(energy_high / np.maximum(energy_all, 1e-300))),
        })
    return pd.DataFrame(rows, columns=["n", "aliasing", "high_band"])


def kept_mode_rate(alpha: float) -> float:
    """Rate at which sampling aliases the Fourier modes a spectral layer keeps, for GRF inputs with
    covariance (-Delta + tau^2)^-alpha: mode k picks up c_{k + j n} ~ (j n)^-alpha, so n^-alpha.

    Pointwise maps of exact samples are exact, so an FNO whose only inexact step is the DFT of its
    kept modes converges at this rate, faster than the regularity bound ``expected_rate``.
    """
    return float(alpha)


def expected_rate(alpha: float, ndim: int = 1) -> float:
    """Sobolev regularity of GRF samples with covariance (-Delta + tau^2)^-alpha: H^s for s < alpha - d/2.

    Their Fourier coefficients decay like |k|^-alpha in amplitude, so sampling a function on n points
    aliases a relative L2 amount ~ n^-(alpha - d/2): the rate expected of a Lipschitz operator's
    discretization error when the inputs are not band-limited.
    """
    return float(alpha) - ndim / 2.0
