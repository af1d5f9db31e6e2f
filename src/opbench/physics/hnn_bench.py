"""Hamiltonian data to NetCDF, and HNN vs MLP vs Transformer on long rollouts (energy drift, trajectory error).

Data: trajectories of a system from the energy-checked symplectic integrator, one random stream per
trajectory, saved ``points_per_period`` times per period (``substeps`` integrator steps between saves).
Training pairs are (state, exact time derivative) from the short ``train`` trajectories; the ``test``
trajectories are long, and every model is rolled out from their initial states with the same step.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import xarray as xr
from tqdm.auto import tqdm

from opbench.data.netcdf import coordinate, write_netcdf
from opbench.physics.hnn import HNN, DerivativeMLP, DerivativeTransformer, rollout, train_vector_field
from opbench.seeding import stream
from opbench.solvers.hamiltonian import generate, get_system

MODELS = ("hnn", "mlp", "transformer")


def hamiltonian_dataset(system_name: str, split: str, settings: Mapping[str, Any], seed: int) -> xr.Dataset:
    """Trajectories of one split as a Dataset: q, p, dqdt, dpdt (t, trajectory, coord), energy (t, trajectory)."""
    system = get_system(system_name)
    count = int(settings["trajectories"][split])
    periods = float(settings["train_periods" if split == "train" else "rollout_periods"])
    ppp, sub = int(settings["points_per_period"]), int(settings["substeps"])
    rngs = [stream(seed, "hamiltonian", system_name, split, i) for i in range(count)]
    out = generate(system, rngs, system.period / (ppp * sub), int(round(periods * ppp)) * sub,
                   save_every=sub, method="yoshida4", energy_tol=float(settings.get("energy_tol", 1e-4)))
    dims = ("t", "trajectory", "coord")
    ds = xr.Dataset(
        {name: xr.DataArray(out[name], dims=dims) for name in ("q", "p", "dqdt", "dpdt")}
        | {"energy": xr.DataArray(out["energy"], dims=dims[:2], attrs={"long_name": "Hamiltonian H(q, p)"})},
        coords={"t": coordinate("t", out["t"], "time"), "trajectory": np.arange(count), "coord": np.arange(system.dim)},
    )
    ds.attrs.update(system=system_name, split=split, period=system.period, integrator="yoshida4",
                    substeps=sub, points_per_period=ppp, seed=seed)
    return ds


def write_hamiltonian(path: str | Path, system_name: str, split: str, settings: Mapping[str, Any], seed: int) -> None:
    write_netcdf(hamiltonian_dataset(system_name, split, settings, seed), path)


def _states(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """(z, dz/dt) of every saved point, (N, 2 dim)."""
    z = np.concatenate([ds["q"].values, ds["p"].values], -1)
    dz = np.concatenate([ds["dqdt"].values, ds["dpdt"].values], -1)
    return z.reshape(-1, z.shape[-1]), dz.reshape(-1, dz.shape[-1])


def build_model(name: str, dim: int, settings: Mapping[str, Any], seed: int, system_name: str) -> torch.nn.Module:
    torch.manual_seed(int(stream(seed, "hnn_init", system_name, name).integers(2**31)))
    hidden, layers = int(settings["hidden"]), int(settings["layers"])
    if name == "hnn":
        return HNN(dim, hidden, layers, separable=True)
    if name == "mlp":
        return DerivativeMLP(dim, hidden, layers)
    if name == "transformer":
        return DerivativeTransformer(dim, int(settings.get("d_model", 32)), 2, layers)
    raise ValueError(f"model must be one of {list(MODELS)}, got {name!r}")


def hnn_benchmark(train: xr.Dataset, test: xr.Dataset, settings: Mapping[str, Any], seed: int) -> pd.DataFrame:
    """Tidy rows per (model, integrator, time): mean relative energy drift and trajectory error over test orbits."""
    system_name = str(train.attrs["system"])
    system = get_system(system_name)
    z, dz = _states(train)
    dim = z.shape[1] // 2
    tq, tp = test["q"].values, test["p"].values
    truth = np.concatenate([tq, tp], -1)
    z0 = truth[0]
    steps = truth.shape[0] - 1
    dt = float(test["t"].values[1] - test["t"].values[0])
    h_true = system.energy(tq, tp)
    periods = test["t"].values / system.period
    runs = [(m, "rk4") for m in settings["models"]]
    if "hnn" in settings["models"]:
        runs.append(("hnn", "leapfrog"))
    trained: dict[str, tuple[torch.nn.Module, dict]] = {}
    frames = []
    for name, integrator in tqdm(runs, desc=f"hnn {system_name}"):
        if name not in trained:
            model = build_model(name, dim, settings, seed, system_name)
            info = train_vector_field(model, z, dz, int(settings["train_steps"]), lr=float(settings["lr"]),
                                      batch=int(settings["batch"]), seed=seed, key=f"{system_name}/{name}")
            trained[name] = (model, info)
        model, info = trained[name]
        traj = rollout(model, z0, dt, steps, method=integrator)
        h = system.energy(traj[..., :dim], traj[..., dim:])
        drift = np.abs(h - h_true[:1]) / np.abs(h_true[:1])
        err = np.linalg.norm(traj - truth, axis=-1) / np.linalg.norm(truth, axis=-1)
        with np.errstate(invalid="ignore"):
            frames.append(pd.DataFrame({
                "system": system_name, "model": name, "integrator": integrator,
                "t": test["t"].values, "periods": periods,
                "energy_drift": np.nanmean(np.where(np.isfinite(drift), drift, np.inf), axis=1),
                "trajectory_error": np.nanmean(np.where(np.isfinite(err), err, np.inf), axis=1),
                "train_seconds": float(info["seconds"]), "final_loss": float(np.mean(info["loss"][-20:])),
                "n_params": sum(p.numel() for p in model.parameters()),
            }))
    return pd.concat(frames, ignore_index=True)


def final_drift(table: pd.DataFrame) -> pd.DataFrame:
    """Energy drift and trajectory error at the end of the rollout per (system, model, integrator)."""
    last = table.loc[table.groupby(["system", "model", "integrator"], sort=False)["t"].idxmax()]
    return last.reset_index(drop=True)
