"""A PDE defined in this test alone runs through the data, train, infer and claims rules.

The toy is damped linear advection on periodic [0, 1): u_t + c u_x = d u_xx, map u(., 0) -> u(., T),
exact in Fourier space (mode k is multiplied by exp(-(2 pi i k c + d (2 pi k)^2) T)). Its module is
written to a temporary folder and registered as a real third-party PDE would be: an ``opbench.pdes``
entry point of an installed distribution (a ``.dist-info`` folder on PYTHONPATH), which every
Snakemake job process sees. Nothing else in the project names it, and the config schema does not
list it: the type and its params are checked by the registry and the toy's parameter dataclass.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

TOY_MODULE = '''
"""Damped linear advection u_t + c u_x = d u_xx on periodic [0, 1), exact in Fourier space."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opbench.solvers.base import PDE, Grid
from opbench.solvers.grf import periodic_grf


@dataclass(frozen=True)
class ToyParams:
    c: float
    d: float
    T: float


def solve(a, p):
    n = a.shape[-1]
    k = np.fft.rfftfreq(n, 1.0 / n)
    factor = np.exp(-(2j * np.pi * k * p.c + p.d * (2 * np.pi * k) ** 2) * p.T)
    return np.fft.irfft(np.fft.rfft(a, axis=-1) * factor, n, axis=-1)


def generate(rngs, n, cfg):
    a = periodic_grf(rngs, n, **cfg["grf"])
    return {"a": a, "u": solve(a, PDE_SPEC.parameters(cfg))}


def verify(rngs, n, cfg):
    p = PDE_SPEC.parameters(cfg)
    x = np.arange(n) / n
    shift = np.sin(2 * np.pi * (x - p.c * p.T)) * np.exp(-p.d * (2 * np.pi) ** 2 * p.T)
    err = float(np.abs(solve(np.sin(2 * np.pi * x)[None], p)[0] - shift).max())
    return {"check_method": "exact shift of sin(2 pi x)", "check_max_error": err}


PDE_SPEC = PDE(name="toy_advection", ndim=1, grid=Grid("periodic"), generate=generate, verify=verify,
               description="damped linear advection (test toy)", params_type=ToyParams, solve_fn=solve,
               linear=True)
'''

CONFIG = {
    "title": "toy PDE",
    "seed": 5,
    "data": {"chunk_size": 4, "dtype": "float32", "check_samples": 1, "scheduler": "threads"},
    "pdes": {"toy": {"type": "toy_advection", "params": {"c": 0.25, "d": 0.002, "T": 1.0},
                     "grf": {"alpha": 2.0, "tau": 5.0, "sigma": 25.0}, "fine_res": 32, "ladder": [16, 32],
                     "train_res": 16, "samples": {"train": 8, "val": 4, "test": 4}}},
    "models": {"fno": {"type": "fno", "modes": 4, "width": 8, "layers": 1},
               "mlp": {"type": "mlp", "hidden": 8, "layers": 1}},
    "training": {"epochs": 2, "batch_size": 4, "lr": 1.0e-3, "step_size": 1, "gamma": 0.5, "seeds": [0]},
    "report": {"examples": 1},
    "experiments": {
        "pde": "toy", "train_res": 16, "n_train": 8, "n_val": 4, "n_test": 4, "seeds": [0, 1, 2],
        "training": {"epochs": 1, "batch_size": 4, "lr": 1.0e-3, "step_size": 1, "gamma": 0.5},
        "models": {"fno": {"type": "fno", "modes": 4, "width": 8, "layers": 1},
                   "mlp": {"type": "mlp", "hidden": 8, "layers": 1}},
        "claims": {"discretization": {"enabled": True, "models": ["fno", "mlp"], "contender": "mlp",
                                      "reference": "fno"}},
    },
}


def _plugin(folder: Path) -> Path:
    """The toy module and the metadata that registers it, as an installed distribution would be."""
    folder.mkdir()
    (folder / "toy_advection.py").write_text(TOY_MODULE)
    meta = folder / "toy_advection-0.1.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-advection\nVersion: 0.1\n")
    (meta / "entry_points.txt").write_text("[opbench.pdes]\ntoy_advection = toy_advection\n")
    return folder


def test_a_pde_defined_in_the_test_runs_data_train_infer_and_claims(tmp_path: Path) -> None:
    plugin = _plugin(tmp_path / "plugin")
    workdir = tmp_path / "run"
    workdir.mkdir()
    configfile = workdir / "toy.yaml"
    configfile.write_text(yaml.safe_dump(CONFIG))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    targets = ["results/runs/toy/fno/seed0/metrics.csv", "results/runs/toy/mlp/seed0/metrics.csv",
               "results/report/claims.csv"]
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(configfile), "--cores", "1", *targets]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1500, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    check_outputs(workdir)


def check_outputs(workdir: Path) -> None:
    """What the toy run must have written: exact data, metrics of both models, a claim verdict."""
    # data: the toy's exact solution at every rung (the coarse rung restricts the fine one)
    for split in ("train", "test"):
        with xr.open_dataset(workdir / f"results/data/toy/{split}_s32.nc") as fine, \
                xr.open_dataset(workdir / f"results/data/toy/{split}_s16.nc") as coarse:
            a, u = fine["a"].values.astype(np.float64), fine["u"].values
            assert fine.attrs["pde_type"] == "toy_advection"
            np.testing.assert_array_equal(coarse["u"].values, u[:, ::2])
        k = np.fft.rfftfreq(32, 1.0 / 32)
        factor = np.exp(-(2j * np.pi * k * 0.25 + 0.002 * (2 * np.pi * k) ** 2))
        exact = np.fft.irfft(np.fft.rfft(a, axis=-1) * factor, 32, axis=-1)
        assert np.abs(u - exact).max() <= 1e-5 * np.abs(exact).max()
    # train and infer: each model's metrics at both rungs, finite errors
    for model in ("fno", "mlp"):
        m = pd.read_csv(workdir / f"results/runs/toy/{model}/seed0/metrics.csv")
        assert sorted(m["eval_res"]) == [16, 32] and np.isfinite(m["rel_l2_mean"]).all()
    # claims: the discretization claim ran on the toy (its own evaluation sets) with a verdict
    claims = pd.read_csv(workdir / "results/report/claims.csv")
    row = claims[claims["claim"] == 1].iloc[0]  # claim 1: discretization
    assert row["n_seeds"] == 3 and row["verdict"] in {"holds", "does not hold", "equivalent", "inconclusive"}
    assert np.isfinite(row[["mean", "low", "high"]].to_numpy(dtype=float)).all()
    with xr.open_dataset(workdir / "results/experiments/data/toy/fresh_s16.nc") as fresh:
        assert fresh.attrs["pde"] == "toy" and fresh.sizes["x"] == 16
    assert "toy_advection" not in (ROOT / "workflow/schemas/config.schema.yaml").read_text()
