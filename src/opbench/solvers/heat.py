"""Periodic 1D heat equation u_t = alpha u_xx on [0, 1): solved exactly in Fourier space.

Each Fourier mode ``k`` of the input decays by ``exp(-alpha (2 pi k)^2 T)``. The self-check
evaluates the same exact solution independently, by direct summation of the trigonometric
series at the grid points (no FFT), so a wrong FFT convention or normalisation is caught.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.fft as sfft

from opbench.solvers.base import PDE, Grid, SolverCheckError, check_finite
from opbench.solvers.grf import periodic_grf

DEFAULT_CHECK_TOL = 1e-10


@dataclass(frozen=True)
class HeatParams:
    """Diffusivity ``alpha`` and final time ``T`` (config ``params``)."""

    alpha: float
    T: float

    def __post_init__(self) -> None:
        if not (self.alpha > 0 and self.T > 0):
            raise ValueError(f"heat needs alpha > 0 and T > 0, got alpha={self.alpha}, T={self.T}")


def decay_factors(n: int, alpha: float, T: float) -> np.ndarray:
    """``exp(-alpha (2 pi k)^2 T)`` for the real-FFT wavenumbers k = 0..n//2."""
    k = np.arange(n // 2 + 1, dtype=np.float64)
    return np.exp(-alpha * (2.0 * np.pi * k) ** 2 * T)


def solve_heat(a: np.ndarray, alpha: float, T: float) -> np.ndarray:
    """Exact solution at time ``T`` of samples ``a`` of shape ``(B, n)`` on x_i = i/n."""
    n = a.shape[-1]
    spec = sfft.rfft(a, axis=-1, workers=1)
    spec *= decay_factors(n, alpha, T)
    return sfft.irfft(spec, n, axis=-1, workers=1)


def heat_by_direct_sum(a: np.ndarray, alpha: float, T: float, chunk: int = 256) -> np.ndarray:
    """The same exact solution by explicit cosine/sine sums (O(n^2), for checks only).

    Coefficients ``A_k = (1/n) sum_j a_j cos(2 pi k j / n)`` (and ``B_k`` with sine) and the
    synthesis ``u_j = sum_k w_k d_k (A_k cos + B_k sin)`` (``w_k = 2`` except at k = 0 and the
    Nyquist mode) use a table of ``cos/sin(2 pi m / n)`` indexed by ``(k j) mod n`` in exact
    integer arithmetic, so the angles carry no rounding growth with k j. Modes whose decay factor
    underflows to exactly 0 are skipped (they contribute exactly 0).
    """
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    n = a.shape[-1]
    table = 2.0 * np.pi * np.arange(n, dtype=np.float64) / n
    cos_t, sin_t = np.cos(table), np.sin(table)
    j = np.arange(n, dtype=np.int64)
    decay = decay_factors(n, alpha, T)
    out = np.zeros_like(a)
    last = int(np.flatnonzero(decay)[-1]) + 1  # modes whose factor underflowed to 0 add exactly 0
    for start in range(0, last, chunk):
        k = np.arange(start, min(start + chunk, last), dtype=np.int64)
        idx = (k[:, None] * j[None, :]) % n  # (modes, points)
        c, s = cos_t[idx], sin_t[idx]
        weight = np.where((k == 0) | (2 * k == n), 1.0, 2.0) * decay[k] / n
        out += ((a @ c.T) * weight) @ c + ((a @ s.T) * weight) @ s
    return out


def solve(a: np.ndarray, params: HeatParams) -> np.ndarray:
    """The contract's ``solve``: the exact solution at ``T`` of inputs (B, n)."""
    return solve_heat(a, params.alpha, params.T)


def generate(rngs: Sequence[np.random.Generator], n: int, cfg: dict[str, Any]) -> dict[str, np.ndarray]:
    """GRF inputs on ``n`` points and their exact heat solution at ``T``."""
    p = PDE_SPEC.parameters(cfg)
    a = periodic_grf(rngs, n, **cfg["grf"])
    u = solve(a, p)
    check_finite(u, "heat")
    return {"a": a, "u": u}


def verify(rngs: Sequence[np.random.Generator], n: int, cfg: dict[str, Any]) -> dict[str, float | int | str]:
    """Compare the FFT solver against the direct trigonometric sum on the given samples."""
    p = PDE_SPEC.parameters(cfg)
    tol = float(cfg.get("solver", {}).get("check_tol", DEFAULT_CHECK_TOL))
    alpha, T = p.alpha, p.T
    a = periodic_grf(rngs, n, **cfg["grf"])
    u = solve_heat(a, alpha, T)
    ref = heat_by_direct_sum(a, alpha, T)
    rel = np.linalg.norm(u - ref, axis=-1) / np.maximum(np.linalg.norm(ref, axis=-1), np.finfo(float).tiny)
    worst = float(rel.max()) if rel.size else 0.0
    if not worst < tol:  # also catches NaN
        raise SolverCheckError(
            f"heat self-check failed: FFT solution differs from the direct trigonometric sum by "
            f"relative L2 {worst:.3e} (tolerance {tol:.1e}, n={n}, alpha={alpha}, T={T})"
        )
    return {
        "check_method": "exact Fourier decay vs direct trigonometric summation",
        "check_max_rel_error": worst,
        "check_tolerance": tol,
        "check_samples": len(rngs),
    }


PDE_SPEC = PDE(
    name="heat",
    ndim=1,
    grid=Grid("periodic"),
    generate=generate,
    verify=verify,
    description="1D periodic heat equation u_t = alpha u_xx, map u(., 0) -> u(., T), exact in Fourier space",
    input_long_name="initial temperature u(x, 0)",
    output_long_name="temperature u(x, T)",
    params_type=HeatParams,
    solve_fn=solve,
    linear=True,
    residual_terms=(("u_xx", "alpha", -1),),
)
