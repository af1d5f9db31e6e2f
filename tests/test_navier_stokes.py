"""Navier-Stokes solver: exact decay, invariants, backend agreement, instability, batch independence."""

from __future__ import annotations

import numpy as np
import pytest

from opbench.seeding import sample_streams
from opbench.solvers import SolverInstabilityError, get_pde
from opbench.solvers import navier_stokes as ns
from opbench.solvers.backend import Backend

SMALL = {"params": {"T": 0.04, "snapshot_dt": 0.02}, "solver": {"dt": 2e-3}}


def _rngs(k: int, split: str = "train") -> list[np.random.Generator]:
    return sample_streams(11, "navier_stokes", split, range(k))


def test_taylor_green_and_shell_vortices_decay_exactly() -> None:
    nu, dt, steps = 1e-2, 1e-3, 500
    w0, k2 = ns.shell_vortices(32)
    out, _ = ns.integrate(w0, nu=nu, dt=dt, steps_per_out=steps, n_out=1, forcing_amplitude=0.0)
    decay = np.exp(-nu * (2 * np.pi) ** 2 * k2 * steps * dt)
    assert decay[0] < 0.7 and decay[1] < 0.01  # a real decay, not a near-identity
    err = ns.relative_l2(out[:, 0], w0 * decay[:, None, None])
    assert err[0] < 1e-6  # Taylor-Green, wavenumber 1
    assert err[1] < 1e-4  # |k|^2 = 25: Crank-Nicolson's (nu K2 dt)^3 error shows


def test_unforced_mean_stays_zero_and_enstrophy_decays() -> None:
    w0 = ns.initial_vorticity(_rngs(2), 32, {})
    out, _ = ns.integrate(w0, nu=1e-3, dt=2e-3, steps_per_out=5, n_out=20, forcing_amplitude=0.0)
    assert np.abs(out.mean(axis=(-2, -1))).max() < 1e-12
    enstrophy = np.concatenate([(w0**2).mean(axis=(-2, -1))[:, None], (out**2).mean(axis=(-2, -1))], axis=1)
    assert (np.diff(enstrophy, axis=1) < 0).all()


def test_torch_backend_matches_numpy_backend() -> None:
    pytest.importorskip("torch")
    w0 = ns.initial_vorticity(_rngs(2), 32, {})
    kw = {"nu": 1e-3, "dt": 2e-3, "steps_per_out": 10, "n_out": 2, "forcing_amplitude": 0.1}
    a, cfl_a = ns.integrate(w0, backend=Backend("numpy"), **kw)
    b, cfl_b = ns.integrate(w0, backend=Backend("torch", "cpu"), **kw)
    assert np.abs(a - b).max() <= 1e-12 * np.abs(a).max()
    np.testing.assert_allclose(cfl_a, cfl_b, rtol=1e-12)


def test_blow_up_names_the_sample_and_the_setup() -> None:
    w0 = ns.initial_vorticity(_rngs(3), 32, {})
    w0[1] *= 1e4
    with pytest.raises(SolverInstabilityError, match=r"sample 1 .*nu=0\.001, dt=0\.05, n=32"):
        ns.integrate(w0, nu=1e-3, dt=0.05, steps_per_out=20, n_out=1, forcing_amplitude=0.1)
    # an absurd dt with no CFL guard at all still ends in the NaN/inf check
    with pytest.raises(SolverInstabilityError, match="sample 1 became NaN/inf"):
        ns.integrate(w0, nu=1e-3, dt=0.05, steps_per_out=400, n_out=1, forcing_amplitude=0.1, cfl_limit=np.inf)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_sample_independent_of_batch_composition(backend: str) -> None:
    if backend == "torch":
        pytest.importorskip("torch")
    cfg = {**SMALL, "solver": {**SMALL["solver"], "backend": backend}}
    batch = ns.generate(_rngs(4), 32, cfg)
    alone = ns.generate(_rngs(4)[1:2], 32, cfg)
    pair = ns.generate(_rngs(4)[1:3], 32, cfg)
    assert np.array_equal(batch["a"][1], alone["a"][0])
    assert np.array_equal(batch["u"][1], alone["u"][0])
    assert np.array_equal(batch["u"][1], pair["u"][0])


def test_generate_shapes_and_times() -> None:
    out = ns.generate(_rngs(2), 16, SMALL)
    assert out["a"].shape == (2, 16, 16)
    assert out["u"].shape == (2, 2, 16, 16)
    np.testing.assert_allclose(out["t"], [0.02, 0.04])
    with pytest.raises(ValueError, match="whole number"):
        ns.generate(_rngs(1), 16, {"params": {"T": 0.04, "snapshot_dt": 0.02}, "solver": {"dt": 3e-3}})


def test_refined_input_keeps_every_mode() -> None:
    w0 = ns.initial_vorticity(_rngs(1), 16, {})
    fine = ns.refine_input(w0, 32)
    assert np.abs(fine[:, ::2, ::2] - w0).max() < 1e-14
    # the fine field is band-limited to the coarse modes: nothing above |k| = 8 per axis
    spec = np.abs(np.fft.fft2(fine[0])) / np.abs(np.fft.fft2(fine[0])).max()
    assert spec[9:24, :].max() < 1e-14 and spec[:, 9:24].max() < 1e-14


def test_verify_records_exact_and_refinement_errors() -> None:
    pde = get_pde("navier_stokes")
    assert pde is ns.PDE_SPEC and pde.time_dependent and pde.grid.kind == "periodic"
    out = pde.verify(_rngs(1), 32, {**SMALL, "solver": {"dt": 2e-3, "check_T": 0.02}})
    assert all(k.startswith("check_") for k in out)
    assert float(out["check_tg_error"]) < 1e-6
    assert float(out["check_forced_error"]) < 1e-6
    assert float(out["check_refine_rel_diff"]) < 1e-3
