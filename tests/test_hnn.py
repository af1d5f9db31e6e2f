"""HNN: divergence-free by construction; learns the mass-spring field; its rollouts keep energy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from opbench.physics.hnn import (
    HNN,
    DerivativeMLP,
    DerivativeTransformer,
    rollout,
    train_vector_field,
    vector_field_numpy,
)
from opbench.seeding import sample_streams
from opbench.solvers.hamiltonian import generate, get_system


def divergence(model: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    """sum_i d f_i / d z_i of the model's vector field at each point, by autograd."""
    z = z.detach().clone().requires_grad_(True)
    f = model(z)
    div = torch.zeros(z.shape[0], dtype=z.dtype)
    for i in range(z.shape[1]):
        (g,) = torch.autograd.grad(f[:, i].sum(), z, create_graph=True)
        div = div + g[:, i]
    return div


@pytest.mark.parametrize(("dim", "separable"), [(1, True), (1, False), (2, False)])
def test_hnn_vector_field_is_divergence_free(dim: int, separable: bool) -> None:
    torch.manual_seed(0)
    z = torch.randn(64, 2 * dim, dtype=torch.float64)
    hnn = HNN(dim, 32, 2, separable=separable).double()
    assert divergence(hnn, z).abs().max() < 1e-10
    # an unconstrained network is not: the check can fail
    mlp = DerivativeMLP(dim, 32, 2).double()
    assert divergence(mlp, z).abs().max() > 1e-3


def _pairs(data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    z = np.concatenate([data["q"], data["p"]], -1)
    dz = np.concatenate([data["dqdt"], data["dpdt"]], -1)
    return z.reshape(-1, z.shape[-1]), dz.reshape(-1, dz.shape[-1])


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.mark.slow
def test_hnn_learns_mass_spring_and_its_rollout_keeps_energy() -> None:
    """300 Adam steps on 32 trajectories (seed 0): measured vector-field errors HNN 0.016, MLP 0.033,
    Transformer 0.042 (asserted < 0.05 / 0.1 / 0.1). Rolled out 20 periods from 8 test states (HNN with its
    learned leapfrog, MLP with RK4 at the same dt = 0.1), the true energy drifts 0.2 % for the HNN
    against 41 % for the MLP (earlier data draw, seeds 0-2, 50 periods: HNN <= 0.8 %, MLP >= 8 %); asserted: HNN < 3 %
    and 3x below the MLP."""
    sys = get_system("mass_spring")
    z, dz = _pairs(generate(sys, sample_streams(0, "mass_spring", "train", range(32)), 0.1, 63))
    zt, dzt = _pairs(generate(sys, sample_streams(0, "mass_spring", "test", range(8)), 0.1, 63))
    builders = {
        "hnn": lambda: HNN(1, 32, 2),
        "mlp": lambda: DerivativeMLP(1, 32, 2),
        "transformer": lambda: DerivativeTransformer(1, 16, 2, 1),
    }
    models, errors = {}, {}
    for name, build in builders.items():
        torch.manual_seed(0)  # the same seed for each model's initialisation
        model = models[name] = build()
        hist = train_vector_field(model, z, dz, 300, lr=1e-2, seed=0)
        assert hist["loss"][-1] < 0.1 * hist["loss"][0]
        errors[name] = _rel(vector_field_numpy(model)(zt), dzt)
    assert errors["hnn"] < 0.05 and errors["mlp"] < 0.1 and errors["transformer"] < 0.1, errors

    steps = int(20 * sys.period / 0.1)
    z0 = zt[:8]
    drift = {}
    for name, method in (("hnn", "leapfrog"), ("mlp", "rk4")):
        traj = rollout(models[name], z0, 0.1, steps, method)
        h = sys.energy(traj[..., :1], traj[..., 1:])
        drift[name] = float(np.mean(np.abs(h[-1] - h[0]) / h[0]))
    assert drift["hnn"] < 0.03 and drift["hnn"] < drift["mlp"] / 3, drift


def test_leapfrog_rollout_needs_a_separable_hnn() -> None:
    with pytest.raises(ValueError, match="separable HNN"):
        rollout(DerivativeMLP(1), np.zeros((1, 2)), 0.1, 1, "leapfrog")
    with pytest.raises(ValueError, match="separable"):
        rollout(HNN(1, separable=False), np.zeros((1, 2)), 0.1, 1, "leapfrog")
