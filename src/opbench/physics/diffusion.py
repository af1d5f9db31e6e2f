"""A small denoising diffusion probabilistic model (DDPM, variance preserving) for periodic 2D fields.

Forward noising q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I) with abar_t = prod_{s<=t} (1 - beta_s)
(linear or cosine beta schedule). A network eps_theta(x_t, t) predicts the noise (equivalently the
score: grad log q(x_t) = -eps / sqrt(1 - abar_t)); the ancestral sampler steps back with the posterior
mean  mu(x_t, eps) = (x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(alpha_t)  and the posterior variance
beta~_t = (1 - abar_{t-1}) / (1 - abar_t) beta_t (no noise at the last step).

Steps are indexed t = 0..T-1 in code (step t of the paper is index t - 1); abar_{-1} = 1.
Every random draw comes from an ``opbench.seeding.stream`` generator.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from opbench.seeding import stream
from opbench.training.steps import step_loop

EpsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Schedule:
    """betas (T,) in float64 and the derived alphas, abar and abar_prev (abar of the step before, 1 at t=0)."""

    betas: torch.Tensor

    @property
    def steps(self) -> int:
        return int(self.betas.shape[0])

    @property
    def alphas(self) -> torch.Tensor:
        return 1.0 - self.betas

    @property
    def abar(self) -> torch.Tensor:
        return torch.cumprod(self.alphas, 0)

    @property
    def abar_prev(self) -> torch.Tensor:
        return torch.cat([torch.ones(1, dtype=self.betas.dtype), self.abar[:-1]])

    def posterior_variance(self) -> torch.Tensor:
        """beta~_t = (1 - abar_{t-1}) / (1 - abar_t) beta_t, shape (T,)."""
        return (1.0 - self.abar_prev) / (1.0 - self.abar) * self.betas


def linear_schedule(steps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> Schedule:
    """Ho et al. (2020): betas linear from beta_start to beta_end."""
    if steps < 2 or not 0 < beta_start <= beta_end < 1:
        raise ValueError(f"need steps >= 2 and 0 < beta_start <= beta_end < 1, got {steps}, {beta_start}, {beta_end}")
    return Schedule(torch.linspace(beta_start, beta_end, steps, dtype=torch.float64))


def cosine_schedule(steps: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> Schedule:
    """Nichol & Dhariwal (2021): abar_t = f(t) / f(0), f(t) = cos^2((t / T + s) / (1 + s) pi / 2)."""
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    t = torch.arange(steps + 1, dtype=torch.float64) / steps
    f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    abar = f / f[0]
    return Schedule(torch.clamp(1 - abar[1:] / abar[:-1], max=max_beta))


def _per_sample(v: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """v[t] shaped to broadcast against a batch ``like`` (B, ...)."""
    return v[t].to(like.dtype).reshape(-1, *([1] * (like.ndim - 1)))


def q_sample(schedule: Schedule, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise (a draw of q(x_t | x_0))."""
    ab = _per_sample(schedule.abar, t, x0)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


def posterior_mean_from_x0(schedule: Schedule, x0: torch.Tensor, xt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Mean of q(x_{t-1} | x_t, x_0).

    beta_t sqrt(abar_{t-1}) / (1 - abar_t) x_0 + (1 - abar_{t-1}) sqrt(alpha_t) / (1 - abar_t) x_t.
    """
    ab, abp = _per_sample(schedule.abar, t, xt), _per_sample(schedule.abar_prev, t, xt)
    beta, alpha = _per_sample(schedule.betas, t, xt), _per_sample(schedule.alphas, t, xt)
    return beta * abp.sqrt() / (1 - ab) * x0 + (1 - abp) * alpha.sqrt() / (1 - ab) * xt


def posterior_mean_from_eps(schedule: Schedule, xt: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """The same mean with x_0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t) substituted: the sampler's step."""
    ab = _per_sample(schedule.abar, t, xt)
    beta, alpha = _per_sample(schedule.betas, t, xt), _per_sample(schedule.alphas, t, xt)
    return (xt - beta / (1 - ab).sqrt() * eps) / alpha.sqrt()


@torch.no_grad()
def ancestral_sample(
    eps_fn: EpsFn,
    schedule: Schedule,
    shape: tuple[int, ...],
    rng: np.random.Generator,
    dtype: torch.dtype = torch.float32,
    progress: bool = False,
) -> torch.Tensor:
    """Draw samples of ``shape`` (B, ...) by the ancestral sampler from x_T ~ N(0, I)."""
    x = torch.as_tensor(rng.standard_normal(shape), dtype=dtype)
    sigma = schedule.posterior_variance().sqrt().tolist()
    # all samples share the step: scalar coefficients of ``posterior_mean_from_eps`` (no per-sample gathers)
    c_eps = (schedule.betas / (1 - schedule.abar).sqrt()).tolist()
    c_x = (1 / schedule.alphas.sqrt()).tolist()
    for i in tqdm(reversed(range(schedule.steps)), total=schedule.steps, desc="ddpm sample", disable=not progress):
        t = torch.full((shape[0],), i, dtype=torch.long)
        x = c_x[i] * (x - c_eps[i] * eps_fn(x, t))
        if i > 0:
            x = x + sigma[i] * torch.as_tensor(rng.standard_normal(shape), dtype=dtype)
    return x


class TimeEmbedding(nn.Module):
    """Sinusoidal embedding of the step index followed by a small MLP."""

    def __init__(self, width: int, steps: int) -> None:
        super().__init__()
        self.width, self.steps = width, steps
        self.mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.width // 2
        freqs = torch.exp(-math.log(1000.0) * torch.arange(half, dtype=torch.float32) / half)
        arg = (t.float() / self.steps * 1000.0)[:, None] * freqs[None] / 10.0
        return self.mlp(torch.cat([torch.sin(arg), torch.cos(arg)], dim=1))


class EpsNet2D(nn.Module):
    """eps_theta(x_t, t) for (B, n, n) periodic fields: circular-padded residual conv blocks with time shift."""

    def __init__(self, steps: int, width: int = 32, blocks: int = 4) -> None:
        super().__init__()
        self.time = TimeEmbedding(width, steps)
        self.lift = nn.Conv2d(1, width, 3, padding=1, padding_mode="circular")
        self.convs = nn.ModuleList(
            nn.Conv2d(width, width, 3, padding=2 ** (i % 3), dilation=2 ** (i % 3), padding_mode="circular")
            for i in range(blocks)
        )
        self.shifts = nn.ModuleList(nn.Linear(width, width) for _ in range(blocks))
        self.norms = nn.ModuleList(nn.GroupNorm(4, width) for _ in range(blocks))
        self.proj = nn.Conv2d(width, 1, 3, padding=1, padding_mode="circular")

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        emb = self.time(t)
        h = self.lift(x[:, None])
        for conv, shift, norm in zip(self.convs, self.shifts, self.norms, strict=True):
            h = h + conv(nn.functional.silu(norm(h) + shift(emb)[:, :, None, None]))
        return self.proj(nn.functional.silu(h))[:, 0]


def train_ddpm(
    model: nn.Module,
    data: np.ndarray,
    schedule: Schedule,
    steps: int = 1000,
    *,
    lr: float = 2e-3,
    batch: int = 32,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, list[float] | float]:
    """Denoising score matching: minimise ||eps - eps_theta(x_t, t)||^2 over random t, eps and data,
    with Adam (cosine decay) through the training step loop (``opbench.training.steps``).

    ``data`` (N, ...) should be standardised (roughly unit variance) so x_T ~ N(0, I) matches.
    Returns {"loss": per-step losses, "seconds": wall time}.
    """
    rng = stream(seed, "ddpm", "train")
    dtype = next(model.parameters()).dtype
    x_all = torch.as_tensor(np.asarray(data), dtype=dtype)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)

    def draws() -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """(x_0, t, noise) of each step, drawn in that order."""
        for _ in range(steps):
            x0 = x_all[torch.as_tensor(rng.integers(0, x_all.shape[0], min(batch, x_all.shape[0])))]
            t = torch.as_tensor(rng.integers(0, schedule.steps, x0.shape[0]))
            yield x0, t, torch.as_tensor(rng.standard_normal(tuple(x0.shape)), dtype=dtype)

    def loss(draw: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
        x0, t, noise = draw
        return ((model(q_sample(schedule, x0, t, noise), t) - noise) ** 2).mean()

    start = time.perf_counter()
    model.train()
    bar = tqdm(draws(), total=steps, desc="ddpm train", disable=not progress)
    losses = [float(value.detach()) for _, value in step_loop(opt, loss, bar, scheduler=sched)]
    model.eval()
    return {"loss": losses, "seconds": time.perf_counter() - start}
