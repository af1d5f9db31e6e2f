"""Darcy solver: second-order convergence, an SPD system, sign and boundary, batch independence."""

from __future__ import annotations

import numpy as np
import pytest

from opbench.seeding import sample_streams
from opbench.solvers import SolverCheckError, darcy, get_pde


def _rngs(k: int, split: str = "train") -> list[np.random.Generator]:
    return sample_streams(7, "darcy", split, range(k))


@pytest.mark.parametrize("face_mean", ["harmonic", "arithmetic"])
def test_manufactured_solution_converges_at_second_order(face_mean: str) -> None:
    ns = [65, 33, 17]
    errors = [darcy.manufactured_error(n, face_mean) for n in ns]
    assert errors[0] < errors[1] < errors[2]
    assert 1.8 <= darcy.observed_order(ns, errors) <= 2.2
    assert errors[0] < 2e-3


def test_system_is_symmetric_positive_definite() -> None:
    a = darcy.coefficients(_rngs(1), 14, {})[0]
    mat = darcy.assemble(a).toarray()
    assert np.array_equal(mat, mat.T)
    assert np.linalg.eigvalsh(mat).min() > 0.0


def test_sparse_matrix_matches_the_matrix_free_stencil() -> None:
    rng = np.random.default_rng(0)
    n = 11
    a = rng.uniform(1.0, 5.0, (n, n))
    u = np.zeros((n, n))
    u[1:-1, 1:-1] = rng.standard_normal((n - 2, n - 2))
    for face_mean in ("harmonic", "arithmetic"):
        sparse = darcy.assemble(a, face_mean) @ u[1:-1, 1:-1].ravel()
        free = darcy.apply_operator(a, u, face_mean).ravel()
        np.testing.assert_allclose(sparse, free, rtol=1e-12, atol=1e-9)


def test_positive_inside_zero_on_boundary_for_positive_source() -> None:
    out = darcy.generate(_rngs(3), 33, {})
    u = out["u"]
    assert u.shape == out["a"].shape == (3, 33, 33)
    assert (u[:, 1:-1, 1:-1] > 0.0).all()
    for edge in (u[:, 0, :], u[:, -1, :], u[:, :, 0], u[:, :, -1]):
        assert not edge.any()


def test_coefficient_takes_exactly_the_two_configured_values() -> None:
    cfg = {"params": {"a_high": 5.5, "a_low": 0.25}}
    a = darcy.generate(_rngs(4), 29, cfg)["a"]
    assert set(np.unique(a).tolist()) == {5.5, 0.25}
    # both phases occur in a zero-mean field
    assert 0.1 < (a == 5.5).mean() < 0.9


def test_sample_alone_equals_sample_in_batch() -> None:
    rngs = _rngs(4, "test")
    batch = darcy.generate(rngs, 25, {})
    alone = darcy.generate(_rngs(4, "test")[2:3], 25, {})
    assert np.array_equal(batch["a"][2], alone["a"][0])
    assert np.array_equal(batch["u"][2], alone["u"][0])


def test_verify_reports_order_and_residual_and_fails_when_demanding_too_much() -> None:
    pde = get_pde("darcy")
    assert pde is darcy.PDE_SPEC and pde.ndim == 2 and pde.grid.kind == "vertex"
    out = pde.verify(_rngs(2), 33, {})
    assert all(k.startswith("check_") for k in out)
    assert out["check_resolutions"] == "33,17,9"
    assert 1.8 <= float(out["check_observed_order"]) <= 2.2
    assert float(out["check_residual_max"]) < 1e-10
    with pytest.raises(SolverCheckError, match="order"):
        pde.verify(_rngs(2), 33, {"solver": {"min_order": 2.5}})


def test_restricted_resolutions_are_used_when_configured() -> None:
    assert darcy.check_resolutions(421, {}) == [421, 211, 106]
    assert darcy.check_resolutions(421, {"resolutions": [85, 141, 211]}) == [421, 211, 141, 85]
