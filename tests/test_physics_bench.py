"""The experiment helpers behind the physics rules: break-even arithmetic, the Gaussian baseline,
the Hamiltonian dataset and a tiny HNN benchmark (two-body included)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from opbench.physics.diffusion_bench import gaussian_like, make_schedule, mean_spectrum
from opbench.physics.hnn_bench import final_drift, hamiltonian_dataset, hnn_benchmark
from opbench.physics.pinn_bench import amortization, break_even
from opbench.seeding import stream
from opbench.solvers.hamiltonian import get_system

TINY_HNN = {
    "systems": ["two_body"], "models": ["hnn", "mlp", "transformer"], "trajectories": {"train": 3, "test": 2},
    "train_periods": 0.5, "rollout_periods": 2, "points_per_period": 8, "substeps": 32, "hidden": 8, "layers": 1,
    "d_model": 8, "train_steps": 5, "batch": 16, "lr": 1e-3,
}


def test_break_even_is_the_first_instance_count_that_pays() -> None:
    n = break_even(10.0, 1.0, 0.0)
    assert n == 11 and 10.0 + n * 0.0 < n * 1.0 and not 10.0 < (n - 1) * 1.0
    assert break_even(10.0, 2.5, 0.5) == 6  # 10 / 2 = 5 instances only break even; the 6th pays
    assert math.isinf(break_even(10.0, 1.0, 1.0))
    assert math.isinf(break_even(10.0, 0.5, 1.0))


def test_amortization_counts_the_training_data_solves() -> None:
    rows = [
        {"pde": "heat", "method": "pinn", "instance": i, "eval_res": 64, "rel_l2": 0.1, "seconds": 2.0}
        for i in range(2)
    ] + [
        {"pde": "heat", "method": "solver", "instance": i, "eval_res": 64, "rel_l2": 0.0, "seconds": 0.5}
        for i in range(2)
    ] + [{"pde": "heat", "method": "fno", "instance": -1, "eval_res": 64, "rel_l2": 0.01, "seconds": 0.0,
          "train_seconds": 30.0}]
    out = amortization(pd.DataFrame(rows), "fno", {"heat": 20}).iloc[0]
    assert out["break_even_train"] == 16  # 30 s / 2 s per instance = 15 to tie
    assert out["break_even_with_data"] == 21  # plus 20 solves of 0.5 s: 40 s / 2 s = 20 to tie
    assert out["instances"] == 2 and out["operator_rel_l2"] == 0.01


def test_gaussian_baseline_has_the_training_spectrum_and_mean() -> None:
    rng = stream(0, "test", "fields")
    n = 16
    k = np.fft.fftfreq(n) * n
    decay = 1.0 / (1.0 + k[:, None] ** 2 + k[None, :] ** 2) ** 1.5
    train = np.fft.ifft2(np.fft.fft2(rng.standard_normal((200, n, n))) * decay).real + 0.3
    draws = gaussian_like(train, 2000, stream(0, "test", "draws"))
    assert abs(draws.mean() - 0.3) < 0.01
    e_train, e_draw = mean_spectrum(train), mean_spectrum(draws)
    assert np.abs(np.log(e_draw[1:]) - np.log(e_train[1:])).max() < 0.15


def test_linear_schedule_is_rescaled_to_end_in_noise() -> None:
    for steps in (10, 100, 1000):
        s = make_schedule("linear", steps)
        assert s.steps == steps and float(s.abar[-1]) < 1e-3
    with pytest.raises(ValueError, match="linear"):
        make_schedule("quadratic", 10)


def test_hamiltonian_dataset_is_deterministic_and_per_trajectory() -> None:
    a = hamiltonian_dataset("pendulum", "test", TINY_HNN, seed=3)
    more = dict(TINY_HNN, trajectories={"train": 3, "test": 5})
    b = hamiltonian_dataset("pendulum", "test", more, seed=3)
    np.testing.assert_array_equal(a["q"].values, b["q"].values[:, :2])  # adding trajectories changes none
    assert a.sizes["t"] == 2 * 8 + 1
    assert a["t"].values[-1] == pytest.approx(2 * get_system("pendulum").period)


def test_tiny_hnn_benchmark_on_two_body_reports_every_model() -> None:
    torch.set_num_threads(1)
    train = hamiltonian_dataset("two_body", "train", TINY_HNN, seed=0)
    test = hamiltonian_dataset("two_body", "test", TINY_HNN, seed=0)
    table = hnn_benchmark(train, test, TINY_HNN, seed=0)
    last = final_drift(table)
    assert set(zip(last["model"], last["integrator"], strict=True)) == {
        ("hnn", "rk4"), ("mlp", "rk4"), ("transformer", "rk4"), ("hnn", "leapfrog")
    }
    assert np.allclose(last["periods"], 2.0)
    first = table.groupby(["model", "integrator"]).head(1)
    assert (first["energy_drift"] == 0).all() and (first["trajectory_error"] == 0).all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p["pinn"].update(pdes=["darcy"]),
         "physics.pinn.pdes: 'darcy' is not a 1D periodic PDE with a PINN residual"),
        (lambda p: p["pinn"].update(operator="mlpx"), "physics.pinn.operator: 'mlpx' is not run on heat"),
        (lambda p: p["diffusion"].update(pde="heat"), "physics.diffusion.pde: 'heat' is not a 2D PDE"),
        (lambda p: p["diffusion"].update(res=48), "physics.diffusion.res: 48 is not on the ladder"),
        (lambda p: p["hnn"].update(systems=["kepler"]), "physics.hnn.systems"),
    ],
)
def test_bad_physics_config_is_one_clear_line(change, message) -> None:
    import copy
    from pathlib import Path

    import yaml

    from opbench.config import ConfigError, load_schema, validate_config

    root = Path(__file__).resolve().parents[1]
    cfg = copy.deepcopy(yaml.safe_load((root / "config.yaml").read_text()))
    change(cfg["physics"])
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as err:
        validate_config(cfg, load_schema(root / "workflow" / "schemas" / "config.schema.yaml"))
    assert "\n" not in str(err.value)
