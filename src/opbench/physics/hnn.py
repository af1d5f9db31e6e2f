"""Hamiltonian neural network (HNN) and the two baselines that predict the time derivative directly.

The HNN learns a scalar H_theta(q, p); its vector field (dH/dp, -dH/dq) comes from autograd, so it is
Hamiltonian by construction: divergence-free (volume preserving) and, along its exact flow,
conserving H_theta. With ``separable=True`` H_theta = T_theta(p) + V_theta(q), which lets the
explicit symplectic leapfrog integrate the learned system (``opbench.solvers.hamiltonian``).

Baselines: ``DerivativeMLP`` maps the state z = (q, p) to dz/dt; ``DerivativeTransformer`` treats each
coordinate of z as a token (value embedding + learned position) and reads dz/dt off the tokens.
Neither is constrained, so energy is free to drift in a rollout.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from opbench.seeding import stream
from opbench.solvers.hamiltonian import STEPS
from opbench.training.steps import step_loop


def _mlp(inp: int, hidden: int, layers: int, out: int) -> nn.Sequential:
    sizes = [inp] + [hidden] * layers
    mods: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        mods += [nn.Linear(a, b), nn.Tanh()]
    mods.append(nn.Linear(hidden, out))
    return nn.Sequential(*mods)


class HNN(nn.Module):
    """Learns H(q, p); ``forward(z)`` returns the Hamiltonian vector field (dH/dp, -dH/dq), z = (q, p)."""

    def __init__(self, dim: int, hidden: int = 64, layers: int = 2, separable: bool = True) -> None:
        super().__init__()
        self.dim, self.separable = dim, separable
        if separable:
            self.kinetic, self.potential = _mlp(dim, hidden, layers, 1), _mlp(dim, hidden, layers, 1)
        else:
            self.h = _mlp(2 * dim, hidden, layers, 1)

    def hamiltonian(self, z: torch.Tensor) -> torch.Tensor:
        """H_theta of states z (B, 2 dim) -> (B,)."""
        q, p = z[:, : self.dim], z[:, self.dim :]
        if self.separable:
            return (self.kinetic(p) + self.potential(q))[:, 0]
        return self.h(z)[:, 0]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            z = z if z.requires_grad else z.detach().requires_grad_(True)
            (dh,) = torch.autograd.grad(self.hamiltonian(z).sum(), z, create_graph=True)
        return torch.cat([dh[:, self.dim :], -dh[:, : self.dim]], dim=1)

    def gradients(self) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]:
        """numpy (dT/dp, dV/dq) of a separable HNN, for the leapfrog of ``opbench.solvers.hamiltonian``."""
        if not self.separable:
            raise ValueError("leapfrog needs a separable HNN (separable=True)")
        dtype = next(self.parameters()).dtype

        def grad_of(net: nn.Module) -> Callable[[np.ndarray], np.ndarray]:
            def g(x: np.ndarray) -> np.ndarray:
                xt = torch.as_tensor(x, dtype=dtype).requires_grad_(True)
                with torch.enable_grad():
                    (d,) = torch.autograd.grad(net(xt).sum(), xt)
                return d.detach().double().numpy()

            return g

        return grad_of(self.kinetic), grad_of(self.potential)


class DerivativeMLP(nn.Module):
    """Baseline: an MLP from z = (q, p) straight to dz/dt (no structure)."""

    def __init__(self, dim: int, hidden: int = 64, layers: int = 2) -> None:
        super().__init__()
        self.net = _mlp(2 * dim, hidden, layers, 2 * dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class DerivativeTransformer(nn.Module):
    """Baseline: a small Transformer encoder over the 2 dim coordinates of z as tokens, predicting dz/dt."""

    def __init__(self, dim: int, d_model: int = 32, heads: int = 2, layers: int = 2) -> None:
        super().__init__()
        self.embed = nn.Linear(1, d_model)
        self.position = nn.Parameter(0.02 * torch.randn(2 * dim, d_model))
        block = nn.TransformerEncoderLayer(d_model, heads, 2 * d_model, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        tokens = self.embed(z[:, :, None]) + self.position
        return self.head(self.encoder(tokens))[:, :, 0]


def train_vector_field(
    model: nn.Module,
    z: np.ndarray,
    dzdt: np.ndarray,
    steps: int = 500,
    *,
    lr: float = 3e-3,
    batch: int = 256,
    seed: int = 0,
    key: str | int = 0,
    progress: bool = False,
) -> dict[str, list[float] | float]:
    """Fit model(z) to dz/dt by mean squared error with Adam (cosine decay), through the training step
    loop (``opbench.training.steps``); minibatches from ``stream``.

    Returns {"loss": per-step losses, "seconds": wall time}.
    """
    if z.shape != dzdt.shape or z.ndim != 2:
        raise ValueError(f"z and dzdt must both be (N, 2 dim), got {z.shape} and {dzdt.shape}")
    rng = stream(seed, "vector_field", key)
    dtype = next(model.parameters()).dtype
    zt, dt = torch.as_tensor(z, dtype=dtype), torch.as_tensor(dzdt, dtype=dtype)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)

    def minibatches() -> Iterator[torch.Tensor]:
        for _ in range(steps):
            yield torch.as_tensor(rng.integers(0, z.shape[0], min(batch, z.shape[0])))

    def loss(idx: torch.Tensor) -> torch.Tensor:
        return ((model(zt[idx]) - dt[idx]) ** 2).mean()

    start = time.perf_counter()
    model.train()
    bar = tqdm(minibatches(), total=steps, desc=type(model).__name__, disable=not progress)
    losses = [float(value.detach()) for _, value in step_loop(opt, loss, bar, scheduler=sched)]
    model.eval()
    return {"loss": losses, "seconds": time.perf_counter() - start}


def vector_field_numpy(model: nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    """z (B, 2 dim) -> dz/dt as numpy, for integrators."""
    dtype = next(model.parameters()).dtype

    def f(z: np.ndarray) -> np.ndarray:
        return model(torch.as_tensor(z, dtype=dtype)).detach().double().numpy()

    return f


def rollout(model: nn.Module, z0: np.ndarray, dt: float, steps: int, method: str = "rk4") -> np.ndarray:
    """Integrate a learned model from z0 (B, 2 dim): trajectory (steps + 1, B, 2 dim).

    ``leapfrog`` / ``yoshida4`` need a separable HNN (its learned dT/dp and dV/dq drive the symplectic
    scheme); ``rk4`` integrates any model's vector field.
    """
    if method not in STEPS:
        raise ValueError(f"method must be one of {sorted(STEPS)}, got {method!r}")
    z0 = np.asarray(z0, dtype=np.float64)
    d = z0.shape[1] // 2
    if method == "rk4":
        f = vector_field_numpy(model)
        zs = [z0]
        z = z0
        for _ in range(steps):
            k1 = f(z)
            k2 = f(z + 0.5 * dt * k1)
            k3 = f(z + 0.5 * dt * k2)
            k4 = f(z + dt * k3)
            z = z + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            zs.append(z)
        return np.stack(zs)
    if not isinstance(model, HNN):
        raise ValueError(f"method {method!r} needs a separable HNN, got {type(model).__name__}")
    grad_t, grad_v = model.gradients()
    q, p = z0[:, :d], z0[:, d:]
    zs = [z0]
    for _ in range(steps):
        q, p = STEPS[method](q, p, dt, grad_t, grad_v)
        zs.append(np.concatenate([q, p], axis=1))
    return np.stack(zs)
