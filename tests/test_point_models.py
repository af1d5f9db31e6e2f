"""Galerkin Transformer and DeepONet: any point count, permutation, unseen coordinates, learning."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from opbench.models import build_model
from opbench.models.point_utils import grid_points, interpolate_points_1d, quadrature_weights

GALERKIN = {"d_model": 16, "heads": 2, "layers": 2, "harmonics": 3}
DEEPONET = {"width": 32, "basis": 16, "layers": 2, "harmonics": 3}


@pytest.mark.parametrize(("name", "hyper"), [("galerkin_transformer", GALERKIN), ("deeponet", DEEPONET)])
@pytest.mark.parametrize("n", [7, 16, 50, 128])
def test_shape_at_any_point_count(name: str, hyper: dict, n: int) -> None:
    torch.manual_seed(0)
    model = build_model(name, in_channels=2, out_channels=3, grid=(16,), **hyper)
    assert model(torch.randn(4, 2, n)).shape == (4, 3, n)
    coords = torch.rand(n, 1)
    assert model(torch.randn(4, 2, n), coords).shape == (4, 3, n)


@pytest.mark.parametrize(("name", "hyper"), [("galerkin_transformer", GALERKIN), ("deeponet", DEEPONET)])
def test_2d_grid_shapes(name: str, hyper: dict) -> None:
    model = build_model(name, in_channels=1, out_channels=2, grid=(8, 8), periodic=False, **hyper)
    assert model(torch.randn(2, 1, 12, 10)).shape == (2, 2, 12, 10)


def test_galerkin_permuting_points_permutes_the_output() -> None:
    torch.manual_seed(0)
    model = build_model("galerkin_transformer", in_channels=1, out_channels=1, grid=(32,), **GALERKIN).double()
    coords = torch.rand(40, 1, dtype=torch.float64)
    x = torch.randn(3, 1, 40, dtype=torch.float64)
    perm = torch.randperm(40)
    y = model(x, coords)
    y_perm = model(x[..., perm], coords[perm])
    torch.testing.assert_close(y_perm, y[..., perm], rtol=1e-10, atol=1e-10)
    # the standard Transformer is not: its learned positions are tied to token order
    tf = build_model("transformer", in_channels=1, out_channels=1, grid=(40,), d_model=16, heads=2, layers=1).double()
    assert not torch.allclose(tf(x[..., perm]), tf(x)[..., perm], atol=1e-6)


def test_galerkin_grid_call_equals_point_set_call_and_converges_with_refinement() -> None:
    torch.manual_seed(0)
    model = build_model("galerkin_transformer", in_channels=1, out_channels=1, grid=(32,), **GALERKIN).double()
    x = torch.sin(2 * math.pi * torch.arange(64, dtype=torch.float64) / 64)[None, None]
    torch.testing.assert_close(model(x), model(x, grid_points((64,), True, dtype=torch.float64)))
    # the same smooth function on 64 and 256 points: outputs at the shared points agree closely
    fine = torch.sin(2 * math.pi * torch.arange(256, dtype=torch.float64) / 256)[None, None]
    assert (model(fine)[..., ::4] - model(x)).abs().max() < 1e-6


def test_deeponet_evaluates_at_coordinates_it_never_saw() -> None:
    torch.manual_seed(0)
    model = build_model("deeponet", in_channels=1, out_channels=1, grid=(16,), **DEEPONET).double()
    x = torch.randn(2, 1, 16, dtype=torch.float64)
    unseen = torch.tensor([[0.013], [0.5 + 1 / 64], [0.977]], dtype=torch.float64)
    y = model(x, out_coords=unseen)
    assert y.shape == (2, 1, 3) and torch.isfinite(y).all()
    # at training points the grid call and the coordinate call agree; the trunk is continuous
    on_grid = model(x, out_coords=grid_points((16,), True, dtype=torch.float64))
    torch.testing.assert_close(on_grid, model(x))
    near = model(x, out_coords=torch.tensor([[3 / 16 + 1e-7]], dtype=torch.float64))
    torch.testing.assert_close(near[..., 0], model(x)[..., 3], rtol=1e-4, atol=1e-5)


def test_quadrature_weights_integrate_and_interpolation_wraps() -> None:
    x = torch.sort(torch.rand(200, 1, dtype=torch.float64), dim=0).values
    w = quadrature_weights(x, periodic=True)
    f = torch.cos(2 * math.pi * x[:, 0]) + 1.0
    assert abs(float((w * f).sum()) - 1.0) < 1e-2
    uniform = quadrature_weights(grid_points((10,), True, dtype=torch.float64), periodic=True)
    torch.testing.assert_close(uniform, torch.full((10,), 0.1, dtype=torch.float64))
    v = torch.tensor([[[1.0, 2.0, 3.0, 4.0]]], dtype=torch.float64)
    pts = grid_points((4,), True, dtype=torch.float64)
    out = interpolate_points_1d(v, pts, torch.tensor([[0.875], [0.125]], dtype=torch.float64), True)
    torch.testing.assert_close(out, torch.tensor([[[2.5, 1.5]]], dtype=torch.float64))


def _smoothing_problem(n_samples: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(0)
    k = np.arange(n // 2 + 1)
    spec = (rng.standard_normal((n_samples, k.size)) + 1j * rng.standard_normal((n_samples, k.size))) / (1 + k) ** 2
    spec[:, 0] = 0
    a = np.fft.irfft(spec, n=n, norm="forward")
    u = np.fft.irfft(spec * np.exp(-((k / 3) ** 2)), n=n, norm="forward")
    return torch.tensor(a[:, None], dtype=torch.float32), torch.tensor(u[:, None], dtype=torch.float32)


@pytest.mark.parametrize(("name", "hyper", "lr"), [
    ("galerkin_transformer", {"d_model": 16, "heads": 1, "layers": 1, "harmonics": 2}, 3e-3),
    ("deeponet", {"width": 32, "basis": 16, "layers": 2, "harmonics": 3}, 3e-3),
])
def test_point_models_learn_a_smoothing_operator(name: str, hyper: dict, lr: float) -> None:
    """Relative L2 falls at least 5x within 200 full-batch Adam steps."""
    a, u = _smoothing_problem(32, 16)
    torch.manual_seed(0)
    model = build_model(name, in_channels=1, out_channels=1, grid=(16,), **hyper)
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    def loss_fn() -> torch.Tensor:
        return ((model(a) - u).flatten(1).norm(dim=1) / u.flatten(1).norm(dim=1)).mean()

    first = loss_fn().item()
    for _ in range(200):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
    final = loss_fn().item()
    assert final < first / 5, f"{name}: rel L2 {first:.3g} -> {final:.3g}"
