"""PINN: the autograd residual vanishes on exact solutions; a PINN fits the heat equation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from opbench.physics.pinn import FourierPINN, boundary_loss, fit_pinn, predict, residual
from opbench.solvers.heat import solve_heat

TWO_PI = 2.0 * math.pi
# Real Fourier coefficients (k, cos, sin) of the exact heat solution.
HEAT_MODES = [(0, 0.3, 0.0), (1, 1.0, -0.5), (3, 0.2, 0.4)]


def exact_heat(alpha: float):
    """u = sum_k exp(-alpha (2 pi k)^2 t) (a_k cos 2 pi k x + b_k sin 2 pi k x) as a torch function."""

    def u(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(x)
        for k, a, b in HEAT_MODES:
            d = torch.exp(-alpha * (TWO_PI * k) ** 2 * t)
            out = out + d * (a * torch.cos(TWO_PI * k * x) + b * torch.sin(TWO_PI * k * x))
        return out

    return u


def cole_hopf_burgers(nu: float):
    """u = -2 nu phi_x / phi with phi = 2 + e^{-nu 4pi^2 t} cos 2pi x + 0.5 e^{-nu 16pi^2 t} sin 4pi x (phi > 0).

    phi solves phi_t = nu phi_xx, so u solves u_t + u u_x = nu u_xx (Cole-Hopf); periodic on [0, 1).
    """

    def phi(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return (
            2.0
            + torch.exp(-nu * TWO_PI**2 * t) * torch.cos(TWO_PI * x)
            + 0.5 * torch.exp(-nu * (2 * TWO_PI) ** 2 * t) * torch.sin(2 * TWO_PI * x)
        )

    def u(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        x = x if x.requires_grad else x.clone().requires_grad_(True)
        p = phi(x, t)
        (p_x,) = torch.autograd.grad(p, x, torch.ones_like(p), create_graph=True)
        return -2.0 * nu * p_x / p

    return u


def _points(n: int = 500, T: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, generator=g, dtype=torch.float64), T * torch.rand(n, generator=g, dtype=torch.float64)


def test_residual_of_exact_heat_solution_is_zero() -> None:
    x, t = _points()
    r = residual(exact_heat(0.02), x, t, "heat", {"alpha": 0.02})
    assert r.abs().max() < 1e-10
    # the same function is not a solution with another diffusivity: the residual sees it
    assert residual(exact_heat(0.02), x, t, "heat", {"alpha": 0.03}).abs().max() > 1e-2


def test_residual_of_cole_hopf_burgers_solution_is_zero() -> None:
    x, t = _points()
    nu = 0.05
    r = residual(cole_hopf_burgers(nu), x, t, "burgers", {"nu": nu})
    assert r.abs().max() < 1e-10
    scale = cole_hopf_burgers(nu)(x, t).abs().max()
    assert scale > 1e-2  # a non-trivial solution
    # the heat residual of the same field is not zero (the nonlinear term matters)
    assert residual(cole_hopf_burgers(nu), x, t, "heat", {"alpha": nu}).abs().max() > 1e-3


def test_fourier_features_make_the_network_periodic() -> None:
    model = FourierPINN(modes=4, hidden=16, layers=2).double()
    t = torch.linspace(0.0, 1.0, 7, dtype=torch.float64)
    assert boundary_loss(model, t) < 1e-24


def test_bad_pde_is_refused() -> None:
    x, t = _points(4)
    with pytest.raises(ValueError, match="pde must be one of"):
        residual(exact_heat(0.1), x, t, "wave", {"alpha": 0.1})
    with pytest.raises(ValueError, match="need 'nu'"):
        fit_pinn(np.zeros(16), "burgers", {"alpha": 0.1}, 1.0, 1)


@pytest.mark.slow
def test_pinn_fits_the_heat_equation() -> None:
    """600 Adam steps (~2-4 s CPU) reach about 1.7 % relative L2 error at t = T; the test asserts < 5 %.

    Evaluated mesh-free on a grid finer than the one the initial values were given on.
    """
    n, alpha, T = 64, 0.01, 1.0
    x = np.arange(n) / n
    u0 = np.sin(TWO_PI * x) + 0.5 * np.cos(2 * TWO_PI * x) - 0.3 * np.sin(3 * TWO_PI * x)
    fit = fit_pinn(u0, "heat", {"alpha": alpha}, T, 600, collocation=256, hidden=32, layers=3, modes=4, seed=0)
    xf = np.arange(4 * n) / (4 * n)
    u0f = np.sin(TWO_PI * xf) + 0.5 * np.cos(2 * TWO_PI * xf) - 0.3 * np.sin(3 * TWO_PI * xf)
    exact = solve_heat(u0f[None], alpha, T)[0]
    err = np.linalg.norm(predict(fit.model, xf, T) - exact) / np.linalg.norm(exact)
    assert err < 0.05, err
    assert fit.history["loss"][-1] < 0.1 * fit.history["loss"][0]
    assert fit.seconds > 0
