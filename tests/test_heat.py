"""Heat equation: the FFT solver is the exact solution; the self-check catches a wrong solver."""

from __future__ import annotations

import numpy as np
import pytest

from opbench.seeding import sample_streams
from opbench.solvers import SolverCheckError, get_pde, heat

CFG = {
    "params": {"alpha": 0.01, "T": 1.0},
    "grf": {"alpha": 2.0, "tau": 5.0, "sigma": 25.0},
    "solver": {},
}


def _single_modes(x: np.ndarray, t: float, alpha: float) -> np.ndarray:
    """sin(2 pi 3 x) + 0.5 cos(2 pi 5 x) - 0.25 cos(2 pi 16 x) (Nyquist of n = 32) at time t."""
    d = [np.exp(-alpha * (2 * np.pi * k) ** 2 * t) for k in (3, 5, 16)]
    return (
        d[0] * np.sin(2 * np.pi * 3 * x)
        + 0.5 * d[1] * np.cos(2 * np.pi * 5 * x)
        - 0.25 * d[2] * np.cos(2 * np.pi * 16 * x)
    )


@pytest.mark.parametrize("solver", [heat.solve_heat, heat.heat_by_direct_sum])
def test_single_modes_exact(solver) -> None:
    n, alpha, T = 32, 0.003, 0.7
    x = np.arange(n) / n
    u = solver(_single_modes(x, 0.0, alpha)[None], alpha, T)
    exact = _single_modes(x, T, alpha)
    assert np.linalg.norm(u[0] - exact) / np.linalg.norm(exact) < 1e-13


@pytest.mark.parametrize("n", [64, 257, 1024])
def test_fft_solver_matches_direct_sum(n: int) -> None:
    data = heat.generate(sample_streams(3, "heat", "test", range(4)), n, CFG)
    assert data["a"].shape == data["u"].shape == (4, n)
    assert data["u"].dtype == np.float64
    ref = heat.heat_by_direct_sum(data["a"], 0.01, 1.0)
    rel = np.linalg.norm(data["u"] - ref, axis=1) / np.linalg.norm(ref, axis=1)
    assert rel.max() < 1e-10
    assert np.abs(data["u"]).max() < np.abs(data["a"]).max()  # diffusion only smooths


def test_verify_passes_and_reports() -> None:
    out = get_pde("heat").verify(sample_streams(3, "heat", "check", range(3)), 256, CFG)
    assert out["check_samples"] == 3
    assert out["check_tolerance"] == 1e-10
    assert 0 <= out["check_max_rel_error"] < 1e-12
    assert isinstance(out["check_method"], str)
    assert all(key.startswith("check_") for key in out)


def test_verify_rejects_absurd_tolerance() -> None:
    cfg = {**CFG, "solver": {"check_tol": 0.0}}
    with pytest.raises(SolverCheckError, match="heat self-check failed"):
        heat.verify(sample_streams(3, "heat", "check", range(2)), 128, cfg)


def test_verify_catches_broken_solver(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plausible bug (decay with 2 pi k replaced by k) must not pass the check."""
    correct = heat.solve_heat
    monkeypatch.setattr(heat, "solve_heat", lambda a, alpha, T: correct(a, alpha / (2 * np.pi) ** 2, T))
    with pytest.raises(SolverCheckError, match="relative L2"):
        heat.verify(sample_streams(3, "heat", "check", range(2)), 128, CFG)
