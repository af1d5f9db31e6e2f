"""Hamiltonian systems: symplectic integrators conserve energy without drift and have their order."""

from __future__ import annotations

import numpy as np
import pytest

from opbench.seeding import sample_streams, stream
from opbench.solvers import SolverCheckError
from opbench.solvers.hamiltonian import (
    generate,
    get_system,
    integrate_system,
    relative_energy_error,
    sample_initial,
)


@pytest.mark.parametrize(("method", "order"), [("leapfrog", 2), ("yoshida4", 4), ("rk4", 4)])
def test_order_against_the_exact_harmonic_oscillator(method: str, order: int) -> None:
    """q = cos t, p = -sin t; the error at t = 10 falls by 2^order when dt halves."""
    sys = get_system("mass_spring")
    T = 10.0
    errors = []
    for dt in (0.1, 0.05):
        q, p = integrate_system(sys, np.ones((1, 1)), np.zeros((1, 1)), dt, round(T / dt), method=method)
        errors.append(np.hypot(q[-1, 0, 0] - np.cos(T), p[-1, 0, 0] + np.sin(T)))
    assert np.log2(errors[0] / errors[1]) == pytest.approx(order, abs=0.15)


def _window_max(err: np.ndarray, frac: float = 0.1) -> tuple[float, float]:
    k = max(1, int(frac * err.shape[0]))
    return float(err[:k].max()), float(err[-k:].max())


def test_leapfrog_energy_error_stays_bounded_over_1000_pendulum_periods() -> None:
    """Leapfrog at dt = 0.1 over 1000 periods: the energy error of the last 100 periods is no larger
    than that of the first 100 (bounded oscillation, no drift), and below 1 % (the O(dt^2) leapfrog error).
    RK4, of higher order, drifts: its late error is several times its early error."""
    sys = get_system("pendulum")
    rng = stream(0, "test", "pendulum")
    q0, p0 = sample_initial(sys, rng, 4)
    dt, periods = 0.1, 1000
    steps = int(periods * 1.2 * sys.period / dt)  # amplitude-lengthened period <= 1.2 x small-angle one
    q, p = integrate_system(sys, q0, p0, dt, steps, method="leapfrog", save_every=10)
    early, late = _window_max(relative_energy_error(sys, q, p))
    assert late < 1.3 * early
    assert late < 0.01
    q, p = integrate_system(sys, q0, p0, dt, steps, method="rk4", save_every=10)
    early_rk, late_rk = _window_max(relative_energy_error(sys, q, p))
    assert late_rk > 3 * early_rk


def test_two_body_yoshida_conserves_energy_and_angular_momentum() -> None:
    sys = get_system("two_body")
    q0, p0 = sample_initial(sys, stream(0, "test", "kepler"), 8)
    q, p = integrate_system(sys, q0, p0, 0.01, int(50 * sys.period / 0.01), method="yoshida4", save_every=50)
    assert relative_energy_error(sys, q, p).max() < 1e-6
    ang = q[..., 0] * p[..., 1] - q[..., 1] * p[..., 0]  # exactly conserved by the splitting (central force)
    assert np.abs(ang - ang[:1]).max() < 1e-11
    assert (sys.energy(q0, p0) < 0).all()  # bound orbits


def test_generate_is_deterministic_and_energy_checked() -> None:
    sys = get_system("mass_spring", {"m": 2.0, "k": 0.5})
    a = generate(sys, sample_streams(3, "mass_spring", "train", range(5)), 0.1, 200, save_every=2)
    b = generate(sys, sample_streams(3, "mass_spring", "train", range(3, 7)), 0.1, 200, save_every=2)
    assert a["q"].shape == (101, 5, 1) and a["t"][-1] == pytest.approx(20.0)
    np.testing.assert_array_equal(a["q"][:, 3:], b["q"][:, :2])  # a trajectory does not depend on its batch
    np.testing.assert_allclose(a["dqdt"], a["p"] / 2.0)
    np.testing.assert_allclose(a["dpdt"], -0.5 * a["q"])
    with pytest.raises(SolverCheckError, match="energy error"):
        generate(sys, sample_streams(3, "h", "x", range(5)), 1.0, 200, method="leapfrog", energy_tol=1e-6)


def test_bad_names_are_refused() -> None:
    with pytest.raises(ValueError, match="system must be one of"):
        get_system("three_body")
    with pytest.raises(ValueError, match="method must be one of"):
        integrate_system(get_system("pendulum"), np.zeros((1, 1)), np.zeros((1, 1)), 0.1, 1, method="euler")
