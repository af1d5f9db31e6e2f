"""Viscous Burgers u_t + (u^2/2)_x = nu u_xx on periodic [0, 1): pseudo-spectral ETDRK4.

The FNO paper's dataset maps u(., 0) ~ GRF to u(., T) with nu = 0.1, T = 1 at s = 8192.

Method: the real-FFT coefficients ``v_k`` of u evolve as ``v' = L v + N(v)`` with the stiff
diagonal ``L_k = -nu (2 pi k)^2`` and ``N(v) = -(i 2 pi k / 2) F[(F^-1 v)^2]``, the product formed
on the grid and dealiased with the 2/3 rule (modes with 3k >= n get no nonlinear term). The linear
part is integrated exactly by ETDRK4 (Cox & Matthews; the form of Kassam & Trefethen 2005), with
fixed steps ``h = T / ceil(T / dt)`` so the last step lands exactly on T.

The phi-function coefficients are evaluated without cancellation: a Taylor series for
``|L h| < 2`` and Kassam-Trefethen's closed forms (whose numerators do not cancel there) above.

Determinism: every operation is per sample (elementwise with per-mode coefficients, row-wise
FFTs, row-wise maxima), so a sample's result does not depend on the batch it is solved in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.fft as sfft

from opbench.solvers.base import PDE, Grid, SolverCheckError, SolverInstabilityError, check_finite
from opbench.solvers.grf import periodic_grf
from opbench.solvers.spectral import fourier_resample

DEFAULT_CHECK_TOL = 1e-6
# max|u| dt / dx above which a run is refused. Measured with this solver: the FNO setting
# (nu = 0.1, s = 8192, |u0| <= ~2.7) stays stable beyond 4000, while nu = 1e-3 or 10x larger
# inputs blow up from about 3-7. A runaway grows max|u| past any fixed limit within a few steps,
# so 50 stops blow-ups early and admits the FNO setting up to dt ~ 2e-3 at s = 8192.
DEFAULT_CFL_LIMIT = 50.0
_TAYLOR_RADIUS = 1.0
_TAYLOR_TERMS = 30


def phi_coefficients(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ETDRK4 weights for real ``z = L h`` (divide out h): ``(Q, f1, f2, f3)``.

    ``Q = (e^{z/2} - 1) / z``, ``f1 = (-4 - z + e^z (4 - 3z + z^2)) / z^3``,
    ``f2 = (2 + z + e^z (z - 2)) / z^3``, ``f3 = (-4 - 3z - z^2 + e^z (4 - z)) / z^3``;
    at z = 0 they are 1/2, 1/6, 1/6, 1/6 (classical RK4). Near 0 the closed forms cancel
    catastrophically, so ``|z| < 1`` sums their Taylor series instead. Both branches still lose up
    to ~2 digits near |z| = 1 (f1's numerator is ~1/50 of its terms), so everything is evaluated
    in extended precision (x86 long double, eps ~1e-19) and rounded once: the weights come out
    correct to about an ulp for every z (checked against mpmath in the tests).
    """
    z = np.asarray(z, dtype=np.longdouble)
    small = np.abs(z) < _TAYLOR_RADIUS
    zs = np.where(small, z, 0)
    zl = np.where(small, 1, z)  # placeholders keep the unused branch finite
    inv_fact = [np.longdouble(1) / math.factorial(m) for m in range(_TAYLOR_TERMS + 4)]
    q_t, f1_t, f2_t, f3_t = (np.zeros_like(z) for _ in range(4))
    for m in reversed(range(_TAYLOR_TERMS)):  # Horner, smallest terms first
        q_t = q_t * zs + inv_fact[m + 1] / 2 ** (m + 1)
        f1_t = f1_t * zs + (inv_fact[m + 1] - 3 * inv_fact[m + 2] + 4 * inv_fact[m + 3])
        f2_t = f2_t * zs + (inv_fact[m + 2] - 2 * inv_fact[m + 3])
        f3_t = f3_t * zs + (-inv_fact[m + 2] + 4 * inv_fact[m + 3])
    ez = np.exp(zl)
    z3 = zl**3
    q_c = np.expm1(zl / 2) / zl
    f1_c = (-4 - zl + ez * (4 - 3 * zl + zl**2)) / z3
    f2_c = (2 + zl + ez * (zl - 2)) / z3
    f3_c = (-4 - 3 * zl - zl**2 + ez * (4 - zl)) / z3
    q, f1, f2, f3 = (
        np.where(small, t, c).astype(np.float64) for t, c in ((q_t, q_c), (f1_t, f1_c), (f2_t, f2_c), (f3_t, f3_c))
    )
    return q, f1, f2, f3


def time_steps(T: float, dt: float) -> tuple[int, float]:
    """``(steps, h)``: the fewest steps of at most ``dt`` (bar rounding) that land exactly on T."""
    if not (T > 0 and dt > 0):
        raise ValueError(f"need T > 0 and dt > 0, got T={T}, dt={dt}")
    steps = max(1, math.ceil(T / dt * (1.0 - 1e-12)))
    return steps, T / steps


def dealias_cutoff(n: int, dealias: bool = True) -> int:
    """Number of low modes ``k = 0..K-1`` that receive the nonlinear term.

    2/3 rule: a product of modes below K aliases onto a mode below K only if 3K > n, so keep
    ``3k < n``. The Nyquist mode of an even grid never gets a derivative (its sign is ambiguous).
    """
    if dealias:
        return (n - 1) // 3 + 1
    return (n + 1) // 2  # every mode except the even-grid Nyquist mode


@dataclass(frozen=True)
class ETDRK4Plan:
    """Everything a run at fixed (n, h, nu, dealias) reuses, as complex per-mode multipliers.

    ``e, e2`` (``exp(L h)``, ``exp(L h / 2)``) act on the first ``kw`` modes: above both the
    cutoff and the point where ``e2`` underflows to exactly 0 every stage value is exactly 0 after
    the first step, so those modes are skipped (at s = 8192, dt = 1e-3 that is 2/3 of them). The
    others fold in ``h`` and the derivative factor ``g_k = -i pi k`` and act on the first ``kc``
    modes only (above the cutoff they would multiply zeros). ``f2g`` holds the scheme's factor 2
    and ``q2g = 2 qg``.
    """

    n: int
    h: float
    nu: float
    kc: int
    kw: int
    e: np.ndarray
    e2: np.ndarray
    qg: np.ndarray
    q2g: np.ndarray
    f1g: np.ndarray
    f2g: np.ndarray
    f3g: np.ndarray


@lru_cache(maxsize=32)
def etdrk4_plan(n: int, h: float, nu: float, dealias: bool = True) -> ETDRK4Plan:
    """The cached coefficients of one (n, h, nu, dealias) setting."""
    k = np.arange(n // 2 + 1, dtype=np.float64)
    z = -nu * (2.0 * np.pi * k) ** 2 * h
    kc = dealias_cutoff(n, dealias)
    q, f1, f2, f3 = (c[:kc] * h for c in phi_coefficients(z))
    g = -1j * np.pi * k[:kc]  # d/dx of u^2 / 2 in the forward-normalised-free rfft convention
    arrays = {
        "e": np.exp(z).astype(np.complex128),
        "e2": np.exp(z / 2.0).astype(np.complex128),
        "qg": q * g,
        "q2g": 2.0 * q * g,
        "f1g": f1 * g,
        "f2g": 2.0 * f2 * g,
        "f3g": f3 * g,
    }
    for a in arrays.values():
        a.flags.writeable = False
    kw = max(kc, int(np.count_nonzero(arrays["e2"])))  # e2 decreases with k
    return ETDRK4Plan(n=n, h=h, nu=nu, kc=kc, kw=kw, **arrays)


def solve_burgers(
    u0: np.ndarray,
    nu: float,
    T: float,
    dt: float,
    *,
    dealias: bool = True,
    cfl_limit: float = DEFAULT_CFL_LIMIT,
) -> np.ndarray:
    """u(., T) for initial values ``u0`` of shape ``(B, n)`` on x_i = i/n.

    Raises ``SolverInstabilityError`` naming the first sample (index within the batch) whose
    ``max|u| h / dx`` exceeds ``cfl_limit`` or that turns NaN/inf, checked at every step.
    """
    u0 = np.asarray(u0, dtype=np.float64)
    if u0.ndim != 2:
        raise ValueError(f"u0 must have shape (batch, n), got {u0.shape}")
    b, n = u0.shape
    steps, h = time_steps(float(T), float(dt))
    p = etdrk4_plan(n, h, float(nu), bool(dealias))
    kc = p.kc
    limit_sq = (cfl_limit / (h * n)) ** 2  # (max|u|)^2 allowed: cfl_limit * dx / h, squared

    def nonlin(spec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Grid square of a spectral state, returned as (u^2 on the grid, its rfft)."""
        sq = sfft.irfft(spec, n, axis=-1, workers=1)
        np.square(sq, out=sq)
        return sq, sfft.rfft(sq, axis=-1, workers=1)

    def check(sq: np.ndarray, step: int) -> None:
        peak = sq.max(axis=1)
        bad = ~(peak <= limit_sq)  # NaN compares False, so it is caught too
        if bad.any():
            i = int(np.argmax(bad))
            raise SolverInstabilityError(
                f"burgers: sample {i} of the batch went unstable at step {step}/{steps} "
                f"(max|u| = {math.sqrt(peak[i]) if peak[i] >= 0 else float('nan'):.4g}, "
                f"max|u| dt/dx limit {cfl_limit}; nu={nu}, dt={h:.6g}, n={n})",
                sample=i,
            )

    v = sfft.rfft(u0, axis=-1, workers=1)
    e2v = np.zeros_like(v)  # modes at and above kw stay exactly 0 in these buffers
    a = np.zeros_like(v)
    qnv, acc, tmp = (np.empty((b, kc), dtype=np.complex128) for _ in range(3))
    kw = p.kw
    e, e2 = p.e[:kw], p.e2[:kw]
    # Each nonlinear term is consumed as soon as it is computed (only its first kc modes are
    # used), so one FFT result is alive at a time: a small working set, few fresh allocations.
    with np.errstate(over="ignore", invalid="ignore"):  # a blow-up is reported by check()
        for step in range(steps):
            sq, nx = nonlin(v)
            check(sq, step)
            np.multiply(nx[:, :kc], p.qg, out=qnv)  # Q N(v), reused by stage c
            np.multiply(nx[:, :kc], p.f1g, out=acc)  # acc = f1 N(v) + 2 f2 (N(a) + N(b)) + f3 N(c)
            # a = e2 v + Q N(v)
            np.multiply(v[:, :kw], e2, out=e2v[:, :kw])
            np.add(e2v[:, :kc], qnv, out=a[:, :kc])
            a[:, kc:kw] = e2v[:, kc:kw]
            _, nx = nonlin(a)
            # b = e2 v + Q N(a), built in e2v's buffer
            np.multiply(nx[:, :kc], p.qg, out=tmp)
            e2v[:, :kc] += tmp
            np.multiply(nx[:, :kc], p.f2g, out=tmp)
            acc += tmp
            _, nx = nonlin(e2v)
            # c = e2 a + Q (2 N(b) - N(v)), built in a's buffer
            np.multiply(nx[:, :kc], p.q2g, out=tmp)
            tmp -= qnv
            a[:, :kw] *= e2
            a[:, :kc] += tmp
            np.multiply(nx[:, :kc], p.f2g, out=tmp)
            acc += tmp
            _, nx = nonlin(a)
            np.multiply(nx[:, :kc], p.f3g, out=tmp)
            acc += tmp
            # v <- e v + acc
            if step == 0:
                v[:, kw:] = 0.0  # e underflows to exactly 0 there: the same as multiplying
            v[:, :kw] *= e
            v[:, :kc] += acc
        u = sfft.irfft(v, n, axis=-1, workers=1)
        check(u * u, steps)
    return u


_SOLVER = {"section": "solver"}


@dataclass(frozen=True)
class BurgersParams:
    """Viscosity ``nu`` and final time ``T`` (config ``params``); time step, dealiasing and the
    stability limit (config ``solver``)."""

    nu: float
    T: float
    dt: float = field(metadata=_SOLVER)
    dealias: bool = field(default=True, metadata=_SOLVER)
    cfl_limit: float = field(default=DEFAULT_CFL_LIMIT, metadata=_SOLVER)

    def __post_init__(self) -> None:
        if not (self.nu > 0 and self.T > 0 and self.dt > 0):
            raise ValueError(f"burgers needs nu, T, dt > 0, got nu={self.nu}, T={self.T}, dt={self.dt}")


def solve(a: np.ndarray, params: BurgersParams) -> np.ndarray:
    """The contract's ``solve``: u(., T) of initial values (B, n)."""
    return solve_burgers(a, params.nu, params.T, params.dt, dealias=params.dealias, cfl_limit=params.cfl_limit)


def _solver_settings(cfg: dict[str, Any]) -> tuple[float, float, float, bool, float]:
    p = PDE_SPEC.parameters(cfg)
    return p.nu, p.T, p.dt, p.dealias, p.cfl_limit


def generate(rngs: Sequence[np.random.Generator], n: int, cfg: dict[str, Any]) -> dict[str, np.ndarray]:
    """GRF initial values on ``n`` points and the Burgers solution at ``T``."""
    p = PDE_SPEC.parameters(cfg)
    a = periodic_grf(rngs, n, **cfg["grf"])
    u = solve(a, p)
    check_finite(u, "burgers")
    return {"a": a, "u": u}


def verify(rngs: Sequence[np.random.Generator], n: int, cfg: dict[str, Any]) -> dict[str, float | int | str]:
    """Refinement check: solve again with dt/2 on 2n points and compare on the n-point grid.

    The input is put on the fine grid exactly (trigonometric interpolation), so the difference
    measures the discretisation error of the (n, dt) data (time and dealiasing truncation).
    """
    nu, T, dt, dealias, cfl = _solver_settings(cfg)
    tol = float(cfg.get("solver", {}).get("check_tol", DEFAULT_CHECK_TOL))
    a = periodic_grf(rngs, n, **cfg["grf"])
    coarse = solve_burgers(a, nu, T, dt, dealias=dealias, cfl_limit=cfl)
    fine = solve_burgers(fourier_resample(a, 2 * n), nu, T, dt / 2, dealias=dealias, cfl_limit=cfl)[:, ::2]
    rel = np.linalg.norm(coarse - fine, axis=-1) / np.maximum(np.linalg.norm(fine, axis=-1), 1e-300)
    worst = float(rel.max()) if rel.size else 0.0
    steps, h = time_steps(T, dt)
    steps_f, h_f = time_steps(T, dt / 2)
    if not worst < tol:  # also catches NaN
        raise SolverCheckError(
            f"burgers self-check failed: (n={n}, dt={h:.6g}) differs from (n={2 * n}, dt={h_f:.6g}) "
            f"by relative L2 {worst:.3e} > tolerance {tol:.1e} (nu={nu}, T={T}); lower solver.dt"
        )
    return {
        "check_method": "refinement: dt/2 on 2n points (input resampled exactly), relative L2",
        "check_max_rel_error": worst,
        "check_tolerance": tol,
        "check_samples": len(rngs),
        "check_dt": h,
        "check_steps": steps,
        "check_refined_dt": h_f,
        "check_refined_steps": steps_f,
        "check_refined_n": 2 * n,
    }


PDE_SPEC = PDE(
    name="burgers",
    ndim=1,
    grid=Grid("periodic"),
    generate=generate,
    verify=verify,
    description="1D viscous Burgers u_t + (u^2/2)_x = nu u_xx on periodic [0,1), map u(., 0) -> u(., T); "
    "pseudo-spectral ETDRK4 with 2/3 dealiasing",
    input_long_name="initial velocity u(x, 0)",
    output_long_name="velocity u(x, T)",
    params_type=BurgersParams,
    solve_fn=solve,
    residual_terms=(("u_ux", None, 1), ("u_xx", "nu", -1)),
)
