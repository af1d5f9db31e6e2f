"""Burgers ETDRK4 solver: exact solutions, convergence orders, invariants, determinism, failures."""

from __future__ import annotations

import numpy as np
import pytest

from opbench.seeding import sample_streams
from opbench.solvers import SolverCheckError, SolverInstabilityError, burgers, get_pde
from opbench.solvers.grf import periodic_grf

GRF = {"alpha": 2.0, "tau": 5.0, "sigma": 25.0}


def cole_hopf(x: np.ndarray, t: float, nu: float) -> np.ndarray:
    """u = -2 nu phi_x / phi with phi = 2 + cos(2 pi x) + sin(4 pi x) / 2 evolved exactly by the
    heat equation phi_t = nu phi_xx (each mode decays by exp(-nu (2 pi k)^2 t)); phi > 0."""
    d1, d2 = np.exp(-nu * (2 * np.pi) ** 2 * t), np.exp(-nu * (4 * np.pi) ** 2 * t)
    phi = 2.0 + d1 * np.cos(2 * np.pi * x) + 0.5 * d2 * np.sin(4 * np.pi * x)
    phi_x = -2 * np.pi * d1 * np.sin(2 * np.pi * x) + 2 * np.pi * d2 * np.cos(4 * np.pi * x)
    return -2.0 * nu * phi_x / phi


def rel_l2(u: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return np.linalg.norm(u - ref, axis=-1) / np.linalg.norm(ref, axis=-1)


def grf(n: int, count: int, tag: str = "t") -> np.ndarray:
    return periodic_grf(sample_streams(5, "burgers", tag, range(count)), n, **GRF)


def test_phi_coefficients_to_an_ulp() -> None:
    """Every weight, from z = -1e9 to 1e-10 and across the Taylor switch, against mpmath."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 120
    z = np.concatenate([-np.logspace(-10, 9, 60), [-1.0, -np.nextafter(1.0, 2.0), 0.0], np.logspace(-8, 1, 10)])
    got = burgers.phi_coefficients(z)
    for i, zi in enumerate(z):
        s = mp.mpf(zi)
        if s == 0:
            ref = [mp.mpf(1) / 2, mp.mpf(1) / 6, mp.mpf(1) / 6, mp.mpf(1) / 6]
        else:
            e = mp.exp(s)
            ref = [
                mp.expm1(s / 2) / s,
                (-4 - s + e * (4 - 3 * s + s**2)) / s**3,
                (2 + s + e * (s - 2)) / s**3,
                (-4 - 3 * s - s**2 + e * (4 - s)) / s**3,
            ]
        for g, r in zip(got, ref, strict=True):
            assert abs(g[i] - float(r)) <= 2 * np.finfo(float).eps * abs(float(r)), zi


def test_cole_hopf_exact() -> None:
    nu, T, n = 0.02, 0.5, 64
    x = np.arange(n) / n
    u = burgers.solve_burgers(cole_hopf(x, 0.0, nu)[None], nu, T, 1.25e-3)
    err = rel_l2(u[0], cole_hopf(x, T, nu))
    print(f"\nBurgers vs Cole-Hopf (n={n}, dt=1.25e-3): relative L2 {err:.2e}")
    assert err < 2e-12


def test_steps_land_on_T() -> None:
    """dt that does not divide T: the steps are shrunk to land exactly on T."""
    assert burgers.time_steps(0.3, 0.07) == (5, pytest.approx(0.06))
    assert burgers.time_steps(1.0, 1e-3)[0] == 1000
    nu, n = 0.02, 64
    x = np.arange(n) / n
    u = burgers.solve_burgers(cole_hopf(x, 0.0, nu)[None], nu, 0.3, 0.007)
    assert rel_l2(u[0], cole_hopf(x, 0.3, nu)) < 1e-8  # 5 steps of 0.06


def test_time_convergence_order() -> None:
    """ETDRK4 is fourth order: errors at dt, dt/2, dt/4 against a run at dt/16."""
    nu, T, n = 0.02, 1.0, 64
    x = np.arange(n) / n
    u0 = (np.sin(2 * np.pi * x) + 0.5 * np.cos(4 * np.pi * x + 1.0))[None]
    dts = [1e-2, 5e-3, 2.5e-3]
    ref = burgers.solve_burgers(u0, nu, T, dts[0] / 16)
    errs = np.array([rel_l2(burgers.solve_burgers(u0, nu, T, dt), ref)[0] for dt in dts])
    order = np.polyfit(np.log(dts), np.log(errs), 1)[0]
    print(f"\nBurgers time convergence: errors {errs} -> fitted order {order:.2f}")
    assert order >= 3.5
    # against the exact solution too, where rounding is not yet reached
    u_exact_0 = cole_hopf(x, 0.0, nu)[None]
    errs_ch = np.array([rel_l2(burgers.solve_burgers(u_exact_0, nu, T, dt), cole_hopf(x, T, nu))[0] for dt in dts])
    order_ch = np.polyfit(np.log(dts), np.log(errs_ch), 1)[0]
    print(f"Burgers time convergence (Cole-Hopf exact): errors {errs_ch} -> order {order_ch:.2f}")
    assert order_ch >= 3.5


def test_resolution_convergence_is_spectral() -> None:
    nu, T, dt = 0.02, 0.5, 2.5e-3
    errs = []
    ns = [16, 24, 32, 48]
    for n in ns:
        x = np.arange(n) / n
        errs.append(rel_l2(burgers.solve_burgers(cole_hopf(x, 0.0, nu)[None], nu, T, dt), cole_hopf(x, T, nu))[0])
    rates = np.log(np.array(errs[:-1]) / np.array(errs[1:])) / np.diff(ns)
    print(f"\nBurgers resolution convergence: n={ns} errors {np.array(errs)}; decay per added point {np.exp(-rates)}")
    assert all(e1 < e0 / 8 for e0, e1 in zip(errs, errs[1:], strict=False))  # geometric, not algebraic
    assert errs[-1] < 1e-8


def test_mean_conserved_and_energy_decreases() -> None:
    n, nu, dt = 256, 0.1, 1e-3
    u = grf(n, 3) + np.array([[0.0], [0.3], [-1.2]])
    means = u.mean(axis=1)
    energy = [np.sum(u**2, axis=1)]
    for _ in range(10):
        u = burgers.solve_burgers(u, nu, 0.05, dt)
        energy.append(np.sum(u**2, axis=1))
        assert np.abs(u.mean(axis=1) - means).max() < 1e-12
    fluct = np.array(energy) - n * means**2  # energy of u - mean, which viscosity drains
    assert np.all(np.diff(fluct, axis=0) < 0)


def test_sample_independent_of_batch() -> None:
    n, nu, T, dt = 512, 0.1, 0.05, 1e-3
    a = grf(n, 5, "batch")
    batch = burgers.solve_burgers(a, nu, T, dt)
    for i in range(5):
        assert np.array_equal(burgers.solve_burgers(a[i : i + 1], nu, T, dt)[0], batch[i])
    assert np.array_equal(burgers.solve_burgers(a[1:4], nu, T, dt), batch[1:4])


def test_generate_chunks_are_identical() -> None:
    cfg = {"params": {"nu": 0.1, "T": 0.05}, "grf": GRF, "solver": {"dt": 1e-3, "dealias": True}}
    pde = get_pde("burgers")
    whole = pde.generate(sample_streams(1, "burgers", "train", range(4)), 256, cfg)
    part = pde.generate(sample_streams(1, "burgers", "train", range(2, 4)), 256, cfg)
    assert whole["a"].shape == whole["u"].shape == (4, 256)
    assert np.array_equal(whole["u"][2:], part["u"]) and np.array_equal(whole["a"][2:], part["a"])


def test_blow_up_names_the_sample() -> None:
    n, nu = 64, 1e-3
    a = grf(n, 4, "blow")
    a[2] *= 1e3
    with pytest.raises(SolverInstabilityError, match=r"sample 2 .*nu=0\.001, dt=0\.01, n=64"):
        burgers.solve_burgers(a, nu, 1.0, 0.01)  # caught by the max|u| dt/dx limit
    with pytest.raises(SolverInstabilityError, match="sample 2 .*max\\|u\\| = nan"):
        burgers.solve_burgers(a, nu, 5.0, 0.01, cfl_limit=np.inf)  # left to run: NaN, caught too
    burgers.solve_burgers(a[[0, 1, 3]], nu, 0.2, 0.01)  # the others alone are fine


def test_verify_reports_and_fails() -> None:
    cfg = {"params": {"nu": 0.1, "T": 0.5}, "grf": GRF, "solver": {"dt": 1e-3, "dealias": True}}
    rngs = sample_streams(2, "burgers", "check", range(2))
    out = burgers.verify(rngs, 256, cfg)
    print(f"\nBurgers self-check n=256 dt=1e-3 T=0.5: {out['check_max_rel_error']:.2e}")
    assert out["check_max_rel_error"] < 1e-7
    assert out["check_refined_n"] == 512 and out["check_refined_dt"] == pytest.approx(5e-4)
    assert out["check_samples"] == 2 and out["check_tolerance"] == 1e-6
    assert all(key.startswith("check_") for key in out)
    bad = {**cfg, "solver": {**cfg["solver"], "dt": 0.1}}
    with pytest.raises(SolverCheckError, match="lower solver.dt"):
        burgers.verify(rngs, 256, bad)
