"""Physics-informed neural network (PINN) for periodic 1D PDEs on [0, 1) (heat, viscous Burgers).

A coordinate network u_theta(x, t) is trained per instance on the PDE residual at random
collocation points plus the initial condition u(x, 0) = u0(x). Periodicity is built in: x enters
only through the Fourier features sin/cos(2 pi k x), k = 1..modes, so u_theta(0, t) = u_theta(1, t)
with every derivative, and the boundary loss is zero by construction (``boundary_loss`` measures
it; it is added for networks without built-in periodicity). The PINN is mesh-free: ``predict``
evaluates it on any grid at any time.

Residuals (autograd), from the terms each PDE declares (``PDE.residual_terms``):
                       heat     u_t - alpha u_xx
                       burgers  u_t + u u_x - nu u_xx
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from opbench.seeding import stream
from opbench.solvers import get_pde, pde_types
from opbench.training.steps import step_loop

CoordinateFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class FourierPINN(nn.Module):
    """u(x, t) from [sin/cos(2 pi k x)]_{k=1..modes} and t / T through a tanh MLP (periodic in x)."""

    def __init__(self, modes: int = 8, hidden: int = 64, layers: int = 3, T: float = 1.0) -> None:
        super().__init__()
        if modes < 1 or hidden < 1 or layers < 1:
            raise ValueError(f"modes, hidden and layers must be >= 1, got {modes}, {hidden}, {layers}")
        if not T > 0:
            raise ValueError(f"T must be > 0, got {T}")
        self.modes, self.T = modes, float(T)
        self.register_buffer("k", 2.0 * math.pi * torch.arange(1, modes + 1, dtype=torch.float64))
        sizes = [2 * modes + 1] + [hidden] * layers
        mods: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            mods += [nn.Linear(a, b), nn.Tanh()]
        mods.append(nn.Linear(hidden, 1))
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x, t of equal shape (N,) -> u of shape (N,)."""
        kx = x[:, None] * self.k.to(x.dtype)
        feats = torch.cat([torch.sin(kx), torch.cos(kx), (t / self.T)[:, None]], dim=1)
        return self.net(feats)[:, 0]


def pinn_pdes() -> list[str]:
    """PDE types a PINN can fit: static 1D periodic maps u(., 0) -> u(., T) that declare their residual."""
    return [k for k in pde_types() if get_pde(k).residual_terms and get_pde(k).static_1d_periodic]


def _check_pde(pde: str, params: Mapping[str, float]) -> list[tuple[str, float | None, int]]:
    """The PDE's residual terms as (term, coefficient or None, sign), coefficients read from ``params``."""
    allowed = pinn_pdes()
    if pde not in allowed:
        raise ValueError(f"pde must be one of {allowed}, got {pde!r}")
    terms = []
    for term, key, sign in get_pde(pde).residual_terms:
        if key is not None and key not in params:
            raise ValueError(f"params of {pde} need {key!r}, got {sorted(params)}")
        terms.append((term, float(params[key]) if key is not None else None, sign))
    return terms


def _grad(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.autograd.grad(y, x, torch.ones_like(y), create_graph=True)[0]


def residual(
    model: CoordinateFn, x: torch.Tensor, t: torch.Tensor, pde: str, params: Mapping[str, float]
) -> torch.Tensor:
    """PDE residual of ``model`` at points (x, t), shape (N,); differentiable w.r.t. its parameters."""
    terms = _check_pde(pde, params)
    x = x.detach().clone().requires_grad_(True)
    t = t.detach().clone().requires_grad_(True)
    u = model(x, t)
    u_t, u_x = _grad(u, t), _grad(u, x)
    u_xx = _grad(u_x, x)
    r = u_t
    for term, coef, sign in terms:
        value = u * u_x if term == "u_ux" else u_xx
        if coef is not None:
            value = coef * value
        r = r + value if sign > 0 else r - value
    return r


def boundary_loss(model: CoordinateFn, t: torch.Tensor) -> torch.Tensor:
    """Mean squared mismatch of u and u_x between x = 0 and x = 1 at times t (zero if built in)."""
    x0 = torch.zeros_like(t).requires_grad_(True)
    x1 = torch.ones_like(t).requires_grad_(True)
    u0, u1 = model(x0, t), model(x1, t)
    du = _grad(u0, x0) - _grad(u1, x1)
    return ((u0 - u1) ** 2).mean() + (du**2).mean()


@dataclass
class PinnResult:
    """A fitted PINN, the wall time of its fit and the per-step loss history (total, pde, ic)."""

    model: FourierPINN
    seconds: float
    history: dict[str, list[float]] = field(default_factory=dict)


def fit_pinn(
    u0: np.ndarray,
    pde: str,
    params: Mapping[str, float],
    T: float,
    steps: int = 2000,
    *,
    collocation: int = 1024,
    modes: int | None = None,
    hidden: int = 64,
    layers: int = 3,
    lr: float = 3e-3,
    ic_weight: float = 10.0,
    seed: int = 0,
    key: str | int = 0,
    dtype: torch.dtype = torch.float32,
    progress: bool = False,
) -> PinnResult:
    """Fit a PINN to one instance: initial values ``u0`` on x_i = i / n (periodic), up to time ``T``.

    Collocation points are fresh uniform draws in [0, 1) x [0, T] each step, from
    ``stream(seed, "pinn", key)``; Adam with a cosine-decayed learning rate, through the training step
    loop (``opbench.training.steps``).
    """
    _check_pde(pde, params)
    u0 = np.asarray(u0, dtype=np.float64)
    if u0.ndim != 1 or u0.size < 4:
        raise ValueError(f"u0 must be a 1D array of >= 4 grid values, got shape {u0.shape}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    n = u0.size
    modes = modes if modes is not None else max(1, min(16, n // 4))
    rng = stream(seed, "pinn", key)
    torch.manual_seed(int(rng.integers(2**31)))
    model = FourierPINN(modes, hidden, layers, T).to(dtype)
    x_ic = torch.arange(n, dtype=dtype) / n
    u_ic = torch.as_tensor(u0, dtype=dtype)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    history: dict[str, list[float]] = {"loss": [], "pde": [], "ic": []}

    def collocation_points() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for _ in range(steps):
            xc = torch.as_tensor(rng.random(collocation), dtype=dtype)
            yield xc, torch.as_tensor(rng.random(collocation) * T, dtype=dtype)

    parts: dict[str, torch.Tensor] = {}

    def loss(points: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        parts["pde"] = (residual(model, *points, pde, params) ** 2).mean()
        parts["ic"] = ((model(x_ic, torch.zeros_like(x_ic)) - u_ic) ** 2).mean()
        return parts["pde"] + ic_weight * parts["ic"]

    start = time.perf_counter()
    bar = tqdm(collocation_points(), total=steps, desc=f"pinn {pde}", disable=not progress)
    for _, total in step_loop(opt, loss, bar, scheduler=sched):
        for name, val in (("loss", total), ("pde", parts["pde"]), ("ic", parts["ic"])):
            history[name].append(float(val.detach()))
    return PinnResult(model, time.perf_counter() - start, history)


@torch.no_grad()
def predict(model: FourierPINN, x: np.ndarray, t: float) -> np.ndarray:
    """The PINN's u at points ``x`` (any grid: it is mesh-free) at time ``t``."""
    dtype = next(model.parameters()).dtype
    xt = torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=dtype).reshape(-1)
    return model(xt, torch.full_like(xt, float(t))).double().numpy().reshape(np.shape(x))
