"""The solver contract: typed parameters, ``solve(a, params)`` and capability flags of every PDE."""

from __future__ import annotations

import numpy as np
import pytest

from opbench.seeding import sample_streams
from opbench.solvers import get_pde, pde_types, pde_types_with
from opbench.solvers.base import ParamsError
from opbench.solvers.grf import periodic_grf

ENTRIES = {
    "heat": {"params": {"alpha": 0.02, "T": 0.3}, "grf": {"alpha": 2.0, "tau": 5.0, "sigma": 1.0}},
    "burgers": {"params": {"nu": 0.1, "T": 0.5}, "grf": {"alpha": 2.0, "tau": 5.0, "sigma": 5.0},
                "solver": {"dt": 1e-2}},
}


def test_capabilities_answer_what_each_pde_is() -> None:
    assert get_pde("heat").linear and not get_pde("burgers").linear
    assert get_pde("navier_stokes").time_dependent and get_pde("navier_stokes").periodic
    assert not get_pde("darcy").periodic and not get_pde("darcy").time_dependent
    assert pde_types_with("static_1d_periodic") == ["burgers", "heat"]
    assert set(pde_types()) >= {"heat", "burgers", "darcy", "navier_stokes"}


@pytest.mark.parametrize("kind", ["heat", "burgers"])
def test_generate_is_solve_of_the_drawn_inputs(kind: str) -> None:
    """The data stage and ``solve`` are one solution operator: generate's u is solve(generate's a)."""
    pde, entry = get_pde(kind), ENTRIES[kind]
    data = pde.generate(sample_streams(1, kind, "train", range(3)), 32, entry)
    np.testing.assert_array_equal(pde.solve(data["a"], pde.parameters(entry)), data["u"])


def test_heat_solve_decays_a_mode_exactly() -> None:
    pde = get_pde("heat")
    x = np.arange(64) / 64
    a = np.sin(2 * np.pi * 3 * x)[None]
    p = pde.parameters(ENTRIES["heat"])
    expected = a * np.exp(-p.alpha * (2 * np.pi * 3) ** 2 * p.T)
    np.testing.assert_allclose(pde.solve(a, p), expected, atol=1e-14)
    # linear: the solution of a combination is the combination of the solutions
    b = periodic_grf(sample_streams(2, "heat", "test", range(2)), 64, alpha=2.0, tau=5.0, sigma=1.0)
    np.testing.assert_allclose(pde.solve(2 * b[:1] - b[1:], p), 2 * pde.solve(b[:1], p) - pde.solve(b[1:], p),
                               atol=1e-12)


def test_solve_needs_typed_parameters_and_refuses_bad_ones() -> None:
    pde = get_pde("heat")
    with pytest.raises(TypeError, match="HeatParams"):
        pde.solve(np.zeros((1, 8)), {"alpha": 0.1, "T": 1.0})
    with pytest.raises(ParamsError, match="pdes.h.params: missing key 'T'"):
        pde.parameters({"params": {"alpha": 0.1}}, where="pdes.h")
    with pytest.raises(ParamsError, match="alpha > 0"):
        pde.parameters({"params": {"alpha": -0.1, "T": 1.0}})
    with pytest.raises(ParamsError, match="T: 'x' is not a float"):
        pde.parameters({"params": {"alpha": 0.1, "T": "x"}})


def test_typed_defaults_match_the_modules_defaults() -> None:
    from opbench.solvers import darcy, navier_stokes

    ns = get_pde("navier_stokes").parameters({"params": {}})
    assert (ns.nu, ns.T, ns.dt, ns.cfl_limit) == (1e-3, 50.0, 1e-4, 0.4)
    assert ns.snapshot_dt == navier_stokes.DEFAULT_PARAMS["snapshot_dt"]
    d = get_pde("darcy").parameters({"params": {"a_low": 4}})
    assert (d.f, d.a_high, d.a_low, d.face_mean) == (1.0, 12.0, 4.0, darcy.DEFAULT_SOLVER["face_mean"])
