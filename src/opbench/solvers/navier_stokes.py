"""2D incompressible Navier-Stokes on the unit torus in vorticity form (the FNO benchmark).

    w_t + u . grad w = nu Lap w + f,   u = (psi_y, -psi_x),   -Lap psi = w,

with x along axis -2 and y along axis -1 of every array, f = A (sin 2 pi (x+y) + cos 2 pi (x+y)).

Scheme (the FNO anchor's): pseudo-spectral in space, the product u . grad w formed on the grid and
its modes above |k| = n/3 per axis removed (2/3 rule); in time Heun's method on advection and
forcing with Crank-Nicolson on viscosity,

    w* = [(1 - dt L/2) w^k + dt (f - N(w^k))] / (1 + dt L/2),
    w^{k+1} = [(1 - dt L/2) w^k + dt (f - (N(w^k) + N(w*)) / 2)] / (1 + dt L/2),   L = nu |2 pi k|^2,

second order, 10 FFTs a step (each N: 4 inverse for u, v, w_x, w_y and 1 forward of the product).

Time step: fixed (``solver.dt``), never adapted, so a sample's result depends on nothing but its
own input. Stability is checked per sample: the running maximum of CFL = max|u| dt / dx (|u| the
Euclidean speed, dx = 1/n) is watched every ``check_every`` steps and at each snapshot; a CFL over
``cfl_limit`` or a NaN/inf raises ``SolverInstabilityError`` naming the sample, nu, dt and n.

Choosing dt (measured, one sample, FNO forcing, T = 50/30/20 at 64^2): max|u| stays below about
0.25 (nu=1e-3) and 0.45 (nu=1e-4, 1e-5); dt = 0.02 blew up for nu <= 1e-4 (CFL 0.57) while CFL
<= 0.3 stayed stable, so keep CFL near 0.15: dt = 1e-2 / 5e-3 / 5e-3 at 64^2 and, scaling by
dx, 2e-3 / 1e-3 / 1e-3 at 256^2 (the FNO anchor's 1e-4 is 10-20x smaller than needed).

The stepper is written once over ``backend.Backend`` (numpy + scipy.fft, or torch on CPU/CUDA),
all in float64.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from opbench.solvers.backend import Backend
from opbench.solvers.base import PDE, Grid, SolverCheckError, SolverInstabilityError
from opbench.solvers.grf import periodic_grf
from opbench.solvers.spectral import fourier_resample, wavenumbers

GRID = Grid("periodic")
TWO_PI = 2.0 * np.pi

DEFAULT_PARAMS: dict[str, float] = {"nu": 1e-3, "T": 50.0, "snapshot_dt": 1.0, "forcing_amplitude": 0.1}
DEFAULT_GRF: dict[str, float] = {"alpha": 2.5, "tau": 7.0, "sigma": 7.0**1.5}
DEFAULT_SOLVER: dict[str, Any] = {
    "dt": 1e-4,
    "backend": "numpy",
    "device": "cpu",
    "workers": 1,  # scipy.fft threads
    "fft_per_sample": True,  # torch: one FFT call per sample, for bitwise batch independence
    "cfl_limit": 0.4,  # Heun is weakly unstable for pure advection: 64^2, nu=1e-4 blew up at CFL 0.57
    "check_every": 50,  # steps between stability checks (a device sync on GPUs)
    "check_T": None,  # verify horizon; None: min(T, 200 dt)
    "check_tol": 1e-3,  # refinement (dt/2, 2n) relative difference at check_T
    "exact_tol": 1e-6,  # Taylor-Green (wavenumber 1) and forced single-mode exact solutions
    "shell_tol": 1e-4,  # |k|^2 = 25 shell: Crank-Nicolson's error grows as (nu K2)^3 dt^2 t
}


def _merged(cfg: dict[str, Any], key: str, defaults: dict[str, Any]) -> dict[str, Any]:
    return {**defaults, **(cfg.get(key) or {})}


def forcing(n: int, amplitude: float) -> np.ndarray:
    """The FNO forcing A (sin 2 pi (x+y) + cos 2 pi (x+y)) on the n x n periodic grid."""
    x = GRID.coords(n)
    s = x[:, None] + x[None, :]
    return amplitude * (np.sin(TWO_PI * s) + np.cos(TWO_PI * s))


class Stepper:
    """Spectral operators of one (n, nu, dt, forcing) on one backend, and the Heun-CN step."""

    def __init__(self, n: int, nu: float, dt: float, forcing_amplitude: float, backend: Backend) -> None:
        if n < 4:
            raise ValueError(f"navier_stokes needs n >= 4, got {n}")
        self.n, self.nu, self.dt, self.be = n, float(nu), float(dt), backend
        kx, ky = (k.astype(np.float64) for k in wavenumbers(n, 2))  # (n, 1), (1, n//2+1)
        k2 = TWO_PI**2 * (kx**2 + ky**2)
        inv_k2 = np.zeros_like(k2)
        inv_k2[k2 > 0] = 1.0 / k2[k2 > 0]
        # first derivatives drop the Nyquist mode of an even grid (its derivative is not real)
        nyq = n // 2 if n % 2 == 0 else None
        dkx = np.where(np.abs(kx) == nyq, 0.0, kx) if nyq else kx
        dky = np.where(ky == nyq, 0.0, ky) if nyq else ky
        mask = (np.abs(kx) <= n / 3.0) & (ky <= n / 3.0)
        half = 0.5 * self.dt * self.nu * k2
        self.d_x = be_c(backend, 1j * TWO_PI * dkx)
        self.d_y = be_c(backend, 1j * TWO_PI * dky)
        self.inv_k2 = backend.asarray(inv_k2)
        self.mask = backend.asarray(mask.astype(np.float64))
        self.cn_a = backend.asarray((1.0 - half) / (1.0 + half))
        self.cn_b = backend.asarray(self.dt / (1.0 + half))
        self.f_hat = backend.rfft2(backend.asarray(forcing(n, forcing_amplitude)))

    def nonlinear(self, w_hat: Any) -> tuple[Any, Any]:
        """Dealiased u . grad w in Fourier space, and the per-sample max of |u|^2."""
        be, n = self.be, self.n
        psi_hat = w_hat * self.inv_k2
        u = be.irfft2(self.d_y * psi_hat, n)
        v = be.irfft2(-(self.d_x * psi_hat), n)
        w_x = be.irfft2(self.d_x * w_hat, n)
        w_y = be.irfft2(self.d_y * w_hat, n)
        n_hat = be.rfft2(u * w_x + v * w_y) * self.mask
        return n_hat, be.max2(u * u + v * v)

    def step(self, w_hat: Any) -> tuple[Any, Any]:
        """One Heun / Crank-Nicolson step; returns the new state and max |u|^2 at its start."""
        n0, speed2 = self.nonlinear(w_hat)
        w_pred = self.cn_a * w_hat + self.cn_b * (self.f_hat - n0)
        n1, _ = self.nonlinear(w_pred)
        return self.cn_a * w_hat + self.cn_b * (self.f_hat - 0.5 * (n0 + n1)), speed2


def be_c(backend: Backend, x: np.ndarray) -> Any:
    """A complex128 backend array."""
    return backend.asarray(np.asarray(x, dtype=np.complex128))


def integrate(
    w0: np.ndarray,
    *,
    nu: float,
    dt: float,
    steps_per_out: int,
    n_out: int,
    forcing_amplitude: float,
    backend: Backend | None = None,
    cfl_limit: float = 0.4,
    check_every: int = 50,
    sample_ids: Sequence[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """March ``w0`` (B, n, n) for ``n_out`` outputs ``steps_per_out`` steps apart.

    Returns the vorticity at the outputs (B, n_out, n, n) and each sample's largest CFL number.
    """
    be = backend or Backend()
    w0 = np.asarray(w0, dtype=np.float64)
    if w0.ndim != 3 or w0.shape[-1] != w0.shape[-2]:
        raise ValueError(f"w0 must be (B, n, n), got {w0.shape}")
    batch, n = w0.shape[0], w0.shape[-1]
    stepper = Stepper(n, nu, dt, forcing_amplitude, be)
    out = np.empty((batch, n_out, n, n))
    w_hat = be.rfft2(be.asarray(w0))
    speed2 = be.asarray(np.zeros(batch))
    step = 0
    with np.errstate(over="ignore", invalid="ignore"):  # a blow-up is reported by the checks below
        for j in range(n_out):
            for _ in range(steps_per_out):
                w_hat, s2 = stepper.step(w_hat)
                speed2 = be.maximum(speed2, s2)
                step += 1
                if step % check_every == 0:
                    _check_stability(be.to_numpy(speed2), step * dt, nu, dt, n, cfl_limit, sample_ids)
            out[:, j] = be.to_numpy(be.irfft2(w_hat, n))
            _check_stability(be.to_numpy(speed2), step * dt, nu, dt, n, cfl_limit, sample_ids, out[:, j])
    return out, np.sqrt(be.to_numpy(speed2)) * dt * n


def _check_stability(
    speed2: np.ndarray,
    t: float,
    nu: float,
    dt: float,
    n: int,
    cfl_limit: float,
    sample_ids: Sequence[int] | None,
    w: np.ndarray | None = None,
) -> None:
    """Raise ``SolverInstabilityError`` for the first sample with NaN/inf or CFL above the limit."""
    cfl = np.sqrt(speed2) * dt * n
    finite = np.isfinite(cfl)
    if w is not None:
        finite &= np.isfinite(w.reshape(w.shape[0], -1)).all(axis=1)
    where = f"at t={t:.6g} (nu={nu:g}, dt={dt:g}, n={n})"
    if not finite.all():
        i = int(np.argmin(finite))
        label = sample_ids[i] if sample_ids is not None else i
        raise SolverInstabilityError(f"navier_stokes: sample {label} became NaN/inf {where}", sample=i)
    over = cfl > cfl_limit
    if over.any():
        i = int(np.argmax(over))
        label = sample_ids[i] if sample_ids is not None else i
        raise SolverInstabilityError(
            f"navier_stokes: sample {label} reached CFL {cfl[i]:.3g} > cfl_limit {cfl_limit:g} {where}",
            sample=i,
        )


def _steps(interval: float, dt: float, what: str) -> int:
    k = int(round(interval / dt))
    if k < 1 or abs(k * dt - interval) > 1e-9 * max(interval, 1.0):
        raise ValueError(f"navier_stokes: {what}={interval:g} is not a whole number of steps dt={dt:g}")
    return k


_SOLVER = {"section": "solver"}


@dataclass(frozen=True)
class NavierStokesParams:
    """Viscosity, horizon, snapshot spacing and forcing (config ``params``); time step, array
    backend and stability watch (config ``solver``). The self-check's tolerances stay in ``solver``."""

    nu: float = DEFAULT_PARAMS["nu"]
    T: float = DEFAULT_PARAMS["T"]
    snapshot_dt: float = DEFAULT_PARAMS["snapshot_dt"]
    forcing_amplitude: float = DEFAULT_PARAMS["forcing_amplitude"]
    dt: float = field(default=DEFAULT_SOLVER["dt"], metadata=_SOLVER)
    backend: str = field(default=DEFAULT_SOLVER["backend"], metadata=_SOLVER)
    device: str = field(default=DEFAULT_SOLVER["device"], metadata=_SOLVER)
    workers: int = field(default=DEFAULT_SOLVER["workers"], metadata=_SOLVER)
    fft_per_sample: bool = field(default=DEFAULT_SOLVER["fft_per_sample"], metadata=_SOLVER)
    cfl_limit: float = field(default=DEFAULT_SOLVER["cfl_limit"], metadata=_SOLVER)
    check_every: int = field(default=DEFAULT_SOLVER["check_every"], metadata=_SOLVER)

    def __post_init__(self) -> None:
        if not (self.nu > 0 and self.T > 0 and self.snapshot_dt > 0 and self.dt > 0):
            raise ValueError(f"navier_stokes needs nu, T, snapshot_dt, dt > 0, got nu={self.nu}, T={self.T}, "
                             f"snapshot_dt={self.snapshot_dt}, dt={self.dt}")

    def backend_of(self) -> Backend:
        return Backend(self.backend, self.device, self.workers, self.fft_per_sample)


def solve(a: np.ndarray, params: NavierStokesParams) -> np.ndarray:
    """The contract's ``solve``: vorticity snapshots (B, T_snap, n, n) at ``snapshot_dt, 2 snapshot_dt, .., T``
    from initial vorticities ``a`` (B, n, n)."""
    per = _steps(params.snapshot_dt, params.dt, "snapshot_dt")
    n_out = _steps(params.T, params.snapshot_dt, "T (in snapshots)")
    u, _ = integrate(
        a,
        nu=params.nu,
        dt=params.dt,
        steps_per_out=per,
        n_out=n_out,
        forcing_amplitude=params.forcing_amplitude,
        backend=params.backend_of(),
        cfl_limit=params.cfl_limit,
        check_every=params.check_every,
    )
    return u


def initial_vorticity(rngs: Sequence[np.random.Generator], n: int, cfg: dict[str, Any]) -> np.ndarray:
    """w0 ~ GRF sigma^2 (-Lap + tau^2)^-alpha, zero mean, (B, n, n)."""
    grf = _merged(cfg, "grf", DEFAULT_GRF)
    return periodic_grf(rngs, n, alpha=grf["alpha"], tau=grf["tau"], sigma=grf["sigma"], ndim=2)


def generate(rngs: Sequence[np.random.Generator], n: int, cfg: dict[str, Any]) -> dict[str, np.ndarray]:
    """``a`` = w0 (B, n, n), ``u`` = vorticity snapshots (B, T_snap, n, n) at ``t`` (T_snap,)."""
    p = PDE_SPEC.parameters(cfg)
    _steps(p.snapshot_dt, p.dt, "snapshot_dt")  # a bad spacing is refused before the draw
    n_out = _steps(p.T, p.snapshot_dt, "T (in snapshots)")
    w0 = initial_vorticity(rngs, n, cfg)
    u = solve(w0, p)
    t = p.snapshot_dt * np.arange(1, n_out + 1, dtype=np.float64)
    return {"a": w0, "u": u, "t": t}


# --- exact solutions --------------------------------------------------------------------------


def shell_vortices(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Steady Euler flows (B=2): each has its modes on one circle |k|^2 = K2, so u . grad w = 0.

    Sample 0 is the Taylor-Green vortex of wavenumber 1, sin(2 pi x) sin(2 pi y) (K2 = 2); sample 1
    is cos 2pi(3x+4y) + sin 2pi(5x) + cos 2pi(4x-3y) (K2 = 25: three directions, so a wavenumber
    mixed up between the axes breaks it), or a copy of sample 0 when n < 12 cannot hold it.
    Unforced, each decays as exp(-nu (2 pi)^2 K2 t).
    """
    x = GRID.coords(n)
    xx, yy = np.meshgrid(x, x, indexing="ij")
    tg = np.sin(TWO_PI * xx) * np.sin(TWO_PI * yy)
    if n < 12:
        return np.stack([tg, tg]), np.array([2.0, 2.0])
    shell = np.cos(TWO_PI * (3 * xx + 4 * yy)) + np.sin(TWO_PI * 5 * xx) + np.cos(TWO_PI * (4 * xx - 3 * yy))
    return np.stack([tg, shell]), np.array([2.0, 25.0])


def refine_input(w: np.ndarray, m: int) -> np.ndarray:
    """Trigonometric interpolation of (B, n, n) periodic fields to (B, m, m): every mode of ``w``
    (the Nyquist rows included) survives and the coarse points keep their values."""
    return fourier_resample(w, m, ndim=2)


def relative_l2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-sample ||a - b|| / ||b|| over all but the first axis."""
    d = (a - b).reshape(a.shape[0], -1)
    r = b.reshape(b.shape[0], -1)
    return np.sqrt((d**2).sum(axis=1) / (r**2).sum(axis=1))


def verify(rngs: Sequence[np.random.Generator], n: int, cfg: dict[str, Any]) -> dict[str, float | int | str]:
    """Exact solutions at the run's (n, dt, nu) and a dt/2, 2n refinement of the given samples.

    The horizon is ``solver.check_T`` (default min(T, 200 dt)), not T, to keep it cheap; the
    refinement splits its difference into time (dt/2 on n) and space (2n vs n, both at dt/2).
    """
    p = PDE_SPEC.parameters(cfg)
    solver = _merged(cfg, "solver", DEFAULT_SOLVER)
    nu, dt, amp = p.nu, p.dt, p.forcing_amplitude
    check_t = float(solver["check_T"]) if solver["check_T"] is not None else min(p.T, 200 * dt)
    steps = _steps(check_t, dt, "check_T")
    common = {
        "backend": p.backend_of(),
        "cfl_limit": p.cfl_limit,
        "check_every": p.check_every,
    }

    def run(w0: np.ndarray, step: float, k: int, a: float) -> np.ndarray:
        return integrate(w0, nu=nu, dt=step, steps_per_out=k, n_out=1, forcing_amplitude=a, **common)[0][:, 0]

    # (i) Taylor-Green vortex (wavenumber 1) and a |k|^2 = 25 shell, unforced
    w_tg, k2 = shell_vortices(n)
    exact = w_tg * np.exp(-nu * TWO_PI**2 * k2 * steps * dt)[:, None, None]
    tg_err, shell_err = (float(e) for e in relative_l2(run(w_tg, dt, steps, 0.0), exact))
    # (i') forced single mode from rest: w = (A / lam) (1 - exp(-lam t)) (sin + cos) 2 pi (x+y)
    lam = nu * TWO_PI**2 * 2.0
    grow = -np.expm1(-lam * steps * dt) / lam if lam > 0 else steps * dt
    forced_exact = grow * forcing(n, amp)[None]
    forced_err = float(relative_l2(run(np.zeros((1, n, n)), dt, steps, amp), forced_exact)[0]) if amp else 0.0
    out: dict[str, float | int | str] = {
        "check_method": (
            "exact: unforced Taylor-Green (|k|^2=2) and |k|^2=25 shell vortices decaying as "
            "exp(-nu 4pi^2 |k|^2 t), forced single mode from rest; refinement: the samples at (dt, n) "
            "against (dt/2, 2n) from trigonometrically interpolated w0; relative L2 at check_T"
        ),
        "check_T": check_t,
        "check_dt": dt,
        "check_tg_error": tg_err,
        "check_shell25_error": shell_err,
        "check_shell25_tol": float(solver["shell_tol"]),
        "check_forced_error": forced_err,
        "check_exact_tol": float(solver["exact_tol"]),
    }
    if not (tg_err <= solver["exact_tol"] and forced_err <= solver["exact_tol"]):
        raise SolverCheckError(
            f"navier_stokes: exact-solution error (Taylor-Green {tg_err:.3e}, forced {forced_err:.3e}) "
            f"exceeds {solver['exact_tol']:.1e} at nu={nu:g}, dt={dt:g}, n={n}"
        )
    if not shell_err <= solver["shell_tol"]:
        raise SolverCheckError(
            f"navier_stokes: |k|^2=25 shell-vortex error {shell_err:.3e} exceeds {solver['shell_tol']:.1e} "
            f"at nu={nu:g}, dt={dt:g}, n={n}"
        )
    # (ii) refinement on the given samples
    w0 = initial_vorticity(rngs, n, cfg)
    base = run(w0, dt, steps, amp)
    half_dt = run(w0, dt / 2, 2 * steps, amp)
    fine = run(refine_input(w0, 2 * n), dt / 2, 2 * steps, amp)[:, ::2, ::2]
    total = relative_l2(base, fine)
    out.update(
        check_samples=int(w0.shape[0]),
        check_refine_rel_diff=float(total.max()) if total.size else 0.0,
        check_refine_time_rel_diff=float(relative_l2(base, half_dt).max()) if total.size else 0.0,
        check_refine_space_rel_diff=float(relative_l2(half_dt, fine).max()) if total.size else 0.0,
        check_tol=float(solver["check_tol"]),
    )
    if total.size and not total.max() <= solver["check_tol"]:
        i = int(np.argmax(total))
        raise SolverCheckError(
            f"navier_stokes: sample {i} differs by {total[i]:.3e} (> check_tol {solver['check_tol']:.1e}) "
            f"from its (dt/2, 2n) refinement at t={check_t:g} (nu={nu:g}, dt={dt:g}, n={n})"
        )
    return out


PDE_SPEC = PDE(
    name="navier_stokes",
    ndim=2,
    grid=GRID,
    generate=generate,
    verify=verify,
    description=(
        "2D incompressible Navier-Stokes, vorticity form on the unit torus with the FNO forcing; "
        "pseudo-spectral, 2/3 dealiasing, Heun (advection, forcing) + Crank-Nicolson (viscosity), fixed dt"
    ),
    input_long_name="initial vorticity w0",
    output_long_name="vorticity w",
    time_dependent=True,
    params_type=NavierStokesParams,
    solve_fn=solve,
)
