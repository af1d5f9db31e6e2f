"""Hamiltonian systems data family (numpy only): mass-spring, pendulum and the planar two-body problem.

Each system has a separable Hamiltonian H(q, p) = T(p) + V(q), so the Stormer-Verlet (leapfrog)
scheme is explicit and symplectic: its energy error stays bounded over exponentially long times
instead of drifting. The 4th-order scheme is Yoshida's triple-jump composition of leapfrog steps.
RK4 (not symplectic) is there for comparison: its energy error grows linearly with time.

- ``mass_spring``  H = p^2 / (2 m) + k q^2 / 2                     (q, p scalars)
- ``pendulum``     H = p^2 / (2 m l^2) + m g l (1 - cos q)          (angle, angular momentum)
- ``two_body``     H = |p|^2 / 2 - mu / |q|                         (planar Kepler problem in relative
                   coordinates q = r1 - r2 with unit reduced mass: the two-body problem reduced)

Arrays are batched: q, p of shape (B, dim). Trajectories are (steps + 1, B, dim).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from opbench.solvers.base import SolverCheckError, check_finite

Array = np.ndarray
Grad = Callable[[Array], Array]
METHODS = ("leapfrog", "yoshida4", "rk4")


@dataclass(frozen=True)
class SeparableHamiltonian:
    """H(q, p) = kinetic(p) + potential(q) with the gradients the integrators need."""

    name: str
    dim: int
    kinetic: Callable[[Array], Array]
    potential: Callable[[Array], Array]
    grad_kinetic: Grad
    grad_potential: Grad
    period: float  # a typical period (exact for the oscillator, small-angle for the pendulum, circular orbit)

    def energy(self, q: Array, p: Array) -> Array:
        """H per state, shape q.shape[:-1]."""
        return self.kinetic(p) + self.potential(q)

    def vector_field(self, q: Array, p: Array) -> tuple[Array, Array]:
        """(dq/dt, dp/dt) = (dH/dp, -dH/dq)."""
        return self.grad_kinetic(p), -self.grad_potential(q)


def mass_spring(m: float = 1.0, k: float = 1.0) -> SeparableHamiltonian:
    return SeparableHamiltonian(
        "mass_spring",
        1,
        lambda p: (p**2).sum(-1) / (2 * m),
        lambda q: k * (q**2).sum(-1) / 2,
        lambda p: p / m,
        lambda q: k * q,
        2 * np.pi * np.sqrt(m / k),
    )


def pendulum(m: float = 1.0, length: float = 1.0, g: float = 1.0) -> SeparableHamiltonian:
    inertia = m * length**2
    return SeparableHamiltonian(
        "pendulum",
        1,
        lambda p: (p**2).sum(-1) / (2 * inertia),
        lambda q: m * g * length * (1 - np.cos(q)).sum(-1),
        lambda p: p / inertia,
        lambda q: m * g * length * np.sin(q),
        2 * np.pi * np.sqrt(length / g),
    )


def two_body(mu: float = 1.0) -> SeparableHamiltonian:
    def radius(q: Array) -> Array:
        return np.sqrt((q**2).sum(-1))

    return SeparableHamiltonian(
        "two_body",
        2,
        lambda p: (p**2).sum(-1) / 2,
        lambda q: -mu / radius(q),
        lambda p: p,
        lambda q: mu * q / radius(q)[..., None] ** 3,
        2 * np.pi / np.sqrt(mu),  # circular orbit of radius 1
    )


SYSTEMS: dict[str, Callable[..., SeparableHamiltonian]] = {
    "mass_spring": mass_spring,
    "pendulum": pendulum,
    "two_body": two_body,
}


def get_system(name: str, params: Mapping[str, float] | None = None) -> SeparableHamiltonian:
    """A system by name with its physical parameters (keyword arguments of its constructor)."""
    if name not in SYSTEMS:
        raise ValueError(f"system must be one of {sorted(SYSTEMS)}, got {name!r}")
    return SYSTEMS[name](**dict(params or {}))


def sample_initial(system: SeparableHamiltonian, rng: np.random.Generator, batch: int) -> tuple[Array, Array]:
    """Random initial states (B, dim) of bounded motion, from ``rng`` (an ``opbench.seeding.stream``).

    mass-spring: a point on a random phase circle of radius in [0.5, 1.5] (unit m, k scaling);
    pendulum: q in [-1.5, 1.5], p in [-1, 1] (below the separatrix for unit m, l, g);
    two-body: radius in [0.8, 1.2], tangential speed 0.8 - 1.1 of the circular one (bound
    ellipses, eccentricity <= ~0.36), rotated by a random angle.
    """
    if system.name == "mass_spring":
        r, th = rng.uniform(0.5, 1.5, batch), rng.uniform(0, 2 * np.pi, batch)
        return (r * np.cos(th))[:, None], (r * np.sin(th))[:, None]
    if system.name == "pendulum":
        return rng.uniform(-1.5, 1.5, (batch, 1)), rng.uniform(-1.0, 1.0, (batch, 1))
    if system.name == "two_body":
        r, f, th = rng.uniform(0.8, 1.2, batch), rng.uniform(0.8, 1.1, batch), rng.uniform(0, 2 * np.pi, batch)
        mu = -system.potential(np.array([[1.0, 0.0]]))[0]
        v = f * np.sqrt(mu / r)
        c, s = np.cos(th), np.sin(th)
        return np.stack([r * c, r * s], -1), np.stack([-v * s, v * c], -1)
    raise ValueError(f"no initial-condition sampler for system {system.name!r}")


def leapfrog_step(q: Array, p: Array, dt: float, grad_kinetic: Grad, grad_potential: Grad) -> tuple[Array, Array]:
    """One Stormer-Verlet step (kick-drift-kick): second order, symplectic, time-reversible."""
    p = p - 0.5 * dt * grad_potential(q)
    q = q + dt * grad_kinetic(p)
    p = p - 0.5 * dt * grad_potential(q)
    return q, p


_CBRT2 = 2.0 ** (1.0 / 3.0)
YOSHIDA_WEIGHTS = (1.0 / (2.0 - _CBRT2), -_CBRT2 / (2.0 - _CBRT2), 1.0 / (2.0 - _CBRT2))


def yoshida4_step(q: Array, p: Array, dt: float, grad_kinetic: Grad, grad_potential: Grad) -> tuple[Array, Array]:
    """Yoshida's 4th-order symplectic composition: leapfrog steps of w1 dt, w0 dt, w1 dt."""
    for w in YOSHIDA_WEIGHTS:
        q, p = leapfrog_step(q, p, w * dt, grad_kinetic, grad_potential)
    return q, p


def rk4_step(q: Array, p: Array, dt: float, grad_kinetic: Grad, grad_potential: Grad) -> tuple[Array, Array]:
    """Classical RK4 on (dq/dt, dp/dt) = (dT/dp, -dV/dq): 4th order but not symplectic (energy drifts)."""

    def f(q: Array, p: Array) -> tuple[Array, Array]:
        return grad_kinetic(p), -grad_potential(q)

    k1 = f(q, p)
    k2 = f(q + 0.5 * dt * k1[0], p + 0.5 * dt * k1[1])
    k3 = f(q + 0.5 * dt * k2[0], p + 0.5 * dt * k2[1])
    k4 = f(q + dt * k3[0], p + dt * k3[1])
    return (
        q + dt / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]),
        p + dt / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]),
    )


STEPS = {"leapfrog": leapfrog_step, "yoshida4": yoshida4_step, "rk4": rk4_step}


def integrate(
    grad_kinetic: Grad,
    grad_potential: Grad,
    q0: Array,
    p0: Array,
    dt: float,
    steps: int,
    method: str = "leapfrog",
    save_every: int = 1,
    progress: bool = False,
) -> tuple[Array, Array]:
    """Trajectories (steps // save_every + 1, B, dim) of q and p from (q0, p0), saved every ``save_every`` steps."""
    if method not in STEPS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    if not dt > 0 or steps < 1 or save_every < 1:
        raise ValueError(f"need dt > 0, steps >= 1, save_every >= 1; got {dt}, {steps}, {save_every}")
    step = STEPS[method]
    q, p = np.array(q0, dtype=np.float64), np.array(p0, dtype=np.float64)
    qs, ps = [q], [p]
    for i in tqdm(range(1, steps + 1), desc=f"{method}", disable=not progress):
        q, p = step(q, p, dt, grad_kinetic, grad_potential)
        if i % save_every == 0:
            qs.append(q)
            ps.append(p)
    return np.stack(qs), np.stack(ps)


def integrate_system(
    system: SeparableHamiltonian, q0: Array, p0: Array, dt: float, steps: int, **kw
) -> tuple[Array, Array]:
    """``integrate`` with the system's own gradients."""
    return integrate(system.grad_kinetic, system.grad_potential, q0, p0, dt, steps, **kw)


def relative_energy_error(system: SeparableHamiltonian, q: Array, p: Array) -> Array:
    """|H(t) - H(0)| / |H(0)| along trajectories (S, B, dim) -> (S, B)."""
    h = system.energy(q, p)
    return np.abs(h - h[:1]) / np.abs(h[:1])


def generate(
    system: SeparableHamiltonian,
    rngs: Sequence[np.random.Generator],
    dt: float,
    steps: int,
    *,
    save_every: int = 1,
    method: str = "yoshida4",
    energy_tol: float = 1e-4,
) -> dict[str, Array]:
    """One trajectory per generator in ``rngs`` (e.g. ``sample_streams``), energy checked.

    Each trajectory's initial state comes from its own generator, so the data never depends on the
    batch it was generated in.

    Returns q, p, dqdt, dpdt of shape (S, B, dim), energy (S, B) and t (S,). Raises
    ``SolverCheckError`` when the relative energy error anywhere exceeds ``energy_tol``.
    """
    if len(rngs) < 1:
        raise ValueError("generate needs at least one random generator (one per trajectory)")
    states = [sample_initial(system, rng, 1) for rng in rngs]
    q0 = np.concatenate([q for q, _ in states])
    p0 = np.concatenate([p for _, p in states])
    q, p = integrate_system(system, q0, p0, dt, steps, method=method, save_every=save_every)
    check_finite(np.moveaxis(q, 1, 0), system.name)
    worst = float(relative_energy_error(system, q, p).max())
    if worst > energy_tol:
        raise SolverCheckError(f"{system.name}: relative energy error {worst:.2e} exceeds energy_tol {energy_tol:.1e}")
    dq, dp = system.vector_field(q, p)
    t = dt * save_every * np.arange(q.shape[0])
    return {"q": q, "p": p, "dqdt": dq, "dpdt": dp, "energy": system.energy(q, p), "t": t}
