"""2D Darcy flow ``-div(a grad u) = f`` on (0, 1)^2 with ``u = 0`` on the boundary.

Grid: the vertex grid x_i = i / (n - 1) (the FNO data's 421 points, restricted to 211/141/85).
Discretisation: the 5-point finite-difference stencil in flux form,

    (A u)_ij = [a_{i+1/2,j} (u_ij - u_{i+1,j}) + a_{i-1/2,j} (u_ij - u_{i-1,j})
                + a_{i,j+1/2} (u_ij - u_{i,j+1}) + a_{i,j-1/2} (u_ij - u_{i,j-1})] / h^2,

where each vertex carries the coefficient of its dual cell and a face value couples the two
cells it separates. The default face value is the harmonic mean (``solver.face_mean``): it is
the series conductance of two cells, so the flux stays continuous across the jumps of the
thresholded coefficient (the arithmetic mean over-weights the high-conductivity side); on smooth
coefficients both are second order. Axis -2 of every array is x, axis -1 is y.

The interior unknowns give a symmetric positive definite sparse matrix, assembled from its five
diagonals (vectorised) and solved by SuperLU (``splu``). Each sample has its own matrix, so there
is no factorisation to reuse across samples; the fill-reducing ordering matters instead:
``MMD_AT_PLUS_A`` (minimum degree on A + A^T, natural for a symmetric pattern) halves the fill of
SciPy's default ``COLAMD`` and was 1.1 s against 1.5 s at 421^2 (see benchmarks/bench_darcy.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from opbench.solvers.base import PDE, Grid, SolverCheckError, check_finite
from opbench.solvers.grf import neumann_grf_2d

GRID = Grid("vertex")

DEFAULT_PARAMS: dict[str, float] = {"f": 1.0, "a_high": 12.0, "a_low": 3.0}
DEFAULT_GRF: dict[str, float] = {"alpha": 2.0, "tau": 3.0, "sigma": 1.0}
DEFAULT_SOLVER: dict[str, Any] = {
    "face_mean": "harmonic",
    "permc_spec": "MMD_AT_PLUS_A",
    "residual_tol": 1e-8,  # relative ||A u - f|| of the real samples (a direct solve gives ~1e-12)
    "min_order": 1.8,  # manufactured-solution observed order below this fails the check
}


def _merged(cfg: dict[str, Any], key: str, defaults: dict[str, Any]) -> dict[str, Any]:
    return {**defaults, **(cfg.get(key) or {})}


def face_coefficients(a: np.ndarray, face_mean: str = "harmonic") -> tuple[np.ndarray, np.ndarray]:
    """Face values between neighbouring vertices: ``(ax, ay)`` of shapes (..., n-1, n), (..., n, n-1)."""
    if face_mean == "harmonic":

        def mean(p: np.ndarray, q: np.ndarray) -> np.ndarray:
            return 2.0 * p * q / (p + q)

    elif face_mean == "arithmetic":

        def mean(p: np.ndarray, q: np.ndarray) -> np.ndarray:
            return 0.5 * (p + q)

    else:
        raise ValueError(f"solver.face_mean must be 'harmonic' or 'arithmetic', got {face_mean!r}")
    return mean(a[..., 1:, :], a[..., :-1, :]), mean(a[..., :, 1:], a[..., :, :-1])


def assemble(a: np.ndarray, face_mean: str = "harmonic") -> sp.csc_matrix:
    """The SPD matrix of one coefficient field ``a`` (n, n) on the (n-2)^2 interior unknowns.

    Unknown (i, j), 1 <= i, j <= n-2, has row (i-1)(n-2) + (j-1); boundary values are zero and so
    drop out of the rows next to the boundary.
    """
    n = a.shape[-1]
    if a.shape != (n, n) or n < 3:
        raise ValueError(f"expected one square coefficient field with n >= 3, got shape {a.shape}")
    m = n - 2
    inv_h2 = float((n - 1) ** 2)
    ax, ay = face_coefficients(a, face_mean)
    diag = (ax[1:, 1:-1] + ax[:-1, 1:-1] + ay[1:-1, 1:] + ay[1:-1, :-1]).ravel()
    # y-neighbours (offset 1): faces between interior j and j+1; zero where a row of the grid ends
    off_y = np.zeros((m, m))
    off_y[:, :-1] = -ay[1:-1, 1:-1]
    off_y = off_y.ravel()[:-1]
    # x-neighbours (offset m): faces between interior i and i+1
    off_x = -ax[1:-1, 1:-1].ravel()
    mat = sp.diags_array(
        [diag * inv_h2, off_y * inv_h2, off_y * inv_h2, off_x * inv_h2, off_x * inv_h2],
        offsets=[0, 1, -1, m, -m],
        shape=(m * m, m * m),
        format="csc",
    )
    return mat


def apply_operator(a: np.ndarray, u: np.ndarray, face_mean: str = "harmonic") -> np.ndarray:
    """``-div(a grad u)`` on the interior points, matrix-free (independent of ``assemble``).

    ``a`` and ``u`` are (..., n, n) with ``u`` holding its boundary values; returns (..., n-2, n-2).
    """
    n = a.shape[-1]
    ax, ay = face_coefficients(a, face_mean)
    flux_x = ax * (u[..., 1:, :] - u[..., :-1, :])  # a_{i+1/2,j} (u_{i+1,j} - u_ij)
    flux_y = ay * (u[..., :, 1:] - u[..., :, :-1])
    div = (flux_x[..., 1:, 1:-1] - flux_x[..., :-1, 1:-1]) + (flux_y[..., 1:-1, 1:] - flux_y[..., 1:-1, :-1])
    return -div * float((n - 1) ** 2)


def solve_one(
    a: np.ndarray, f: np.ndarray | float, face_mean: str = "harmonic", permc_spec: str = "MMD_AT_PLUS_A"
) -> np.ndarray:
    """Solve one sample: ``u`` (n, n) with zero boundary for coefficient ``a`` (n, n)."""
    n = a.shape[-1]
    rhs = np.broadcast_to(np.asarray(f, dtype=np.float64), (n, n))[1:-1, 1:-1].ravel().copy()
    lu = spla.splu(assemble(a, face_mean), permc_spec=permc_spec)
    u = np.zeros((n, n))
    u[1:-1, 1:-1] = lu.solve(rhs).reshape(n - 2, n - 2)
    return u


def solve(
    a: np.ndarray, f: np.ndarray | float, face_mean: str = "harmonic", permc_spec: str = "MMD_AT_PLUS_A"
) -> np.ndarray:
    """Solve a batch ``a`` (B, n, n); each sample is factorised and solved on its own."""
    u = np.empty_like(a, dtype=np.float64)
    for b in range(a.shape[0]):
        fb = f[b] if np.ndim(f) == 3 else f
        u[b] = solve_one(a[b], fb, face_mean, permc_spec)
    return u


def threshold(field: np.ndarray, a_high: float, a_low: float) -> np.ndarray:
    """The FNO map psi: ``a_high`` where the field is >= 0, else ``a_low``."""
    return np.where(field >= 0.0, np.float64(a_high), np.float64(a_low))


def coefficients(rngs: Sequence[np.random.Generator], n: int, cfg: dict[str, Any]) -> np.ndarray:
    """The thresholded Neumann-GRF coefficient fields (B, n, n) of the samples."""
    params = PDE_SPEC.parameters(cfg)
    grf = _merged(cfg, "grf", DEFAULT_GRF)
    values = neumann_grf_2d(rngs, n, alpha=grf["alpha"], tau=grf["tau"], sigma=grf["sigma"])
    return threshold(values, params.a_high, params.a_low)


_SOLVER = {"section": "solver"}


@dataclass(frozen=True)
class DarcyParams:
    """Source ``f`` and the two coefficient values (config ``params``); face mean and SuperLU
    ordering (config ``solver``)."""

    f: float = DEFAULT_PARAMS["f"]
    a_high: float = DEFAULT_PARAMS["a_high"]
    a_low: float = DEFAULT_PARAMS["a_low"]
    face_mean: str = field(default=DEFAULT_SOLVER["face_mean"], metadata=_SOLVER)
    permc_spec: str = field(default=DEFAULT_SOLVER["permc_spec"], metadata=_SOLVER)

    def __post_init__(self) -> None:
        if not (self.a_high > 0 and self.a_low > 0):
            raise ValueError(f"darcy needs a_high, a_low > 0, got {self.a_high}, {self.a_low}")


def solve_given(a: np.ndarray, params: DarcyParams) -> np.ndarray:
    """The contract's ``solve``: pressure (B, n, n) of coefficient fields (B, n, n)."""
    return solve(a, params.f, params.face_mean, params.permc_spec)


def generate(rngs: Sequence[np.random.Generator], n: int, cfg: dict[str, Any]) -> dict[str, np.ndarray]:
    """Coefficient ``a`` and solution ``u``, both (B, n, n) on the vertex grid."""
    params = PDE_SPEC.parameters(cfg)
    a = coefficients(rngs, n, cfg)
    u = solve_given(a, params)
    check_finite(u, f"darcy n={n}")
    return {"a": a, "u": u}


# --- manufactured solution: u = sin(pi x) sin(2 pi y), a = 2 + sin(2 pi x) cos(3 pi y) in [1, 3] ---


def _manufactured(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(a, u, f)`` of the manufactured problem with f = -div(a grad u) computed analytically."""
    pi = np.pi
    u = np.sin(pi * x) * np.sin(2 * pi * y)
    u_x = pi * np.cos(pi * x) * np.sin(2 * pi * y)
    u_y = 2 * pi * np.sin(pi * x) * np.cos(2 * pi * y)
    lap_u = -5 * pi**2 * u
    a = 2.0 + np.sin(2 * pi * x) * np.cos(3 * pi * y)
    a_x = 2 * pi * np.cos(2 * pi * x) * np.cos(3 * pi * y)
    a_y = -3 * pi * np.sin(2 * pi * x) * np.sin(3 * pi * y)
    f = -(a_x * u_x + a_y * u_y + a * lap_u)
    return a, u, f


def manufactured_error(n: int, face_mean: str = "harmonic", permc_spec: str = "MMD_AT_PLUS_A") -> float:
    """Max-norm error of the discrete solution of the manufactured problem on n x n vertices."""
    x = GRID.coords(n)
    xx, yy = np.meshgrid(x, x, indexing="ij")
    a, u_exact, f = _manufactured(xx, yy)
    return float(np.abs(solve_one(a, f, face_mean, permc_spec) - u_exact).max())


def observed_order(ns: Sequence[int], errors: Sequence[float]) -> float:
    """Least-squares slope of log(error) against log(h), h = 1/(n-1)."""
    h = 1.0 / (np.asarray(ns, dtype=np.float64) - 1.0)
    return float(np.polyfit(np.log(h), np.log(np.asarray(errors)), 1)[0])


def check_resolutions(n: int, cfg: dict[str, Any]) -> list[int]:
    """Grids of the convergence check: ``solver.check_resolutions`` or ``resolutions`` if given,
    else ``n`` and two restrictions of it (strides 2 and 4, or the next divisors of n - 1)."""
    solver = cfg.get("solver") or {}
    given = solver.get("check_resolutions") or cfg.get("resolutions")
    if given:
        res = sorted({int(r) for r in given} | {n}, reverse=True)
    else:
        strides = [s for s in range(1, n) if (n - 1) % s == 0 and (n - 1) // s >= 8]
        preferred = [s for s in (1, 2, 4) if s in strides]
        chosen = preferred if len(preferred) == 3 else strides[:3]
        res = [(n - 1) // s + 1 for s in chosen]
    if len(res) < 2:
        raise SolverCheckError(f"darcy: n={n} leaves fewer than two grids for a convergence check")
    return res


def verify(rngs: Sequence[np.random.Generator], n: int, cfg: dict[str, Any]) -> dict[str, float | int | str]:
    """Manufactured-solution convergence on the data's grids, plus the residual of real samples."""
    params = PDE_SPEC.parameters(cfg)
    solver = _merged(cfg, "solver", DEFAULT_SOLVER)
    face_mean, permc = params.face_mean, params.permc_spec
    ns = check_resolutions(n, cfg)
    errors = [manufactured_error(r, face_mean, permc) for r in ns]
    order = observed_order(ns, errors)
    out: dict[str, float | int | str] = {
        "check_method": (
            "manufactured solution u=sin(pi x)sin(2 pi y), a=2+sin(2 pi x)cos(3 pi y), max-norm error at "
            "each grid, least-squares order; plus matrix-free relative residual ||A u - f||/||f|| of samples"
        ),
        "check_face_mean": face_mean,
        "check_resolutions": ",".join(str(r) for r in ns),
        "check_errors": ",".join(f"{e:.6e}" for e in errors),
        "check_observed_order": order,
        "check_min_order": float(solver["min_order"]),
    }
    for r, e in zip(ns, errors, strict=True):
        out[f"check_error_n{r}"] = e
    if not order >= solver["min_order"]:
        raise SolverCheckError(
            f"darcy: manufactured-solution order {order:.3f} < {solver['min_order']} (grids {ns}, errors {errors})"
        )
    # residual of the real samples, through the stencil applied independently of the sparse matrix
    data = generate(rngs, n, cfg)
    residual = _relative_residual(data["a"], data["u"], params.f, face_mean)
    worst = int(np.argmax(residual)) if residual.size else 0
    max_res = float(residual.max()) if residual.size else 0.0
    out.update(
        check_samples=int(residual.size),
        check_residual_max=max_res,
        check_residual_tol=float(solver["residual_tol"]),
        check_boundary_max=float(_boundary_max(data["u"])),
    )
    if not max_res <= solver["residual_tol"]:
        raise SolverCheckError(
            f"darcy: relative residual {max_res:.3e} of sample {worst} exceeds {solver['residual_tol']:.1e}"
        )
    if out["check_boundary_max"] != 0.0:
        raise SolverCheckError("darcy: solution is not zero on the boundary")
    return out


def _relative_residual(a: np.ndarray, u: np.ndarray, f: float, face_mean: str) -> np.ndarray:
    r = apply_operator(a, u, face_mean) - f
    f_norm = abs(f) * (a.shape[-1] - 2) if f != 0 else 1.0
    return np.sqrt((r**2).sum(axis=(-2, -1))) / f_norm


def _boundary_max(u: np.ndarray) -> float:
    if not u.size:
        return 0.0
    return float(max(np.abs(u[..., [0, -1], :]).max(), np.abs(u[..., :, [0, -1]]).max()))


PDE_SPEC = PDE(
    name="darcy",
    ndim=2,
    grid=GRID,
    generate=generate,
    verify=verify,
    description=(
        "2D Darcy flow -div(a grad u) = f, u = 0 on the boundary of (0,1)^2; a thresholded Neumann GRF; "
        "5-point finite differences with face-mean coefficients, sparse direct solve (SuperLU)"
    ),
    input_long_name="permeability coefficient a",
    output_long_name="pressure u",
    params_type=DarcyParams,
    solve_fn=solve_given,
)
